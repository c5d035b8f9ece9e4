/*
 * hostile.c: servers that misbehave, for the cgroup and sandbox tests,
 * the misdeed chosen by argv[1].
 *
 * Against the cgroup limits:
 *   hostile hog MB     touches MB megabytes, 1M at a time; "survived" if it can
 *   hostile forkbomb   forks children that wait, until fork fails;
 *                      "forked N" (how many it made)
 *   hostile escape     setsid and double fork: the grandchild writes its pid
 *                      and sleeps 60 s holding the connection; the server
 *                      exits as soon as the pid is written
 *
 * Against the service-wide limits, two connections at once; each holds
 * what it has until the client closes the connection (end of input):
 *   hostile forkhold N  forks up to N children that wait; "forked K"
 *   hostile hoghold MB  touches MB megabytes; "holding" once it has them
 *
 * Against the sandbox, each printing what happened: "ok", or the errno's
 * name, then "end". None of them can harm the machine when nothing stops
 * them: the mount point does not exist and the reboot magic is wrong.
 *   hostile ptrace | mount | keyctl | reboot | socket-inet
 *   hostile caps | nnp   lines of /proc/self/status
 *
 * Against the namespaces, each printing what happened, then "end":
 *   hostile write PATH     creates PATH and writes to it: "ok" or the errno
 *   hostile read PATH      "ok N" (the bytes it read) or the errno
 *   hostile list PATH      "ok N" (the entries of the directory) or the errno
 *   hostile fill PATH      writes PATH until it fails: "full KB errno"
 *   hostile connect PORT   TCP to 127.0.0.1:PORT: "ok" or the errno
 *   hostile pids           "pid N" (its own) and "procs N" (in /proc)
 *   hostile ns             "name inode" of each of its namespaces
 *   hostile uname          the host name it sees
 *   hostile euid           its effective user id
 *   hostile exec PATH ARG  execs PATH with ARG
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int
hog(long mb)
{
	printf("start\n");
	fflush(stdout);
	for (long i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);

		if (p == NULL)
			break;
		memset(p, (int)i, 1 << 20);
	}
	printf("survived\n");
	return 0;
}

/* Forks children that wait, until fork fails or there are want of them;
 * says how many. */
static void
forks(long want)
{
	long n = 0;

	for (; n < want; n++) {
		pid_t pid = fork();

		if (pid < 0)
			break;
		if (pid == 0) {
			pause();
			_exit(0);
		}
	}
	printf("forked %ld\n", n);
	fflush(stdout);
}

/* Until the client closes: what the server holds stays counted. */
static void
hold(void)
{
	char buf[256];

	while (read(0, buf, sizeof(buf)) > 0)
		;
}

static int
forkhold(long want)
{
	forks(want);
	hold();
	return 0;
}

static int
hoghold(long mb)
{
	for (long i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);

		if (p == NULL)
			return 1;
		memset(p, (int)i + 1, 1 << 20);
	}
	printf("holding\n");
	fflush(stdout);
	hold();
	return 0;
}

static int
escape(void)
{
	int ready[2];
	char c;
	pid_t pid;

	/* The server waits for the grandchild's pid to be written, so that
	 * it is not killed before it could say who it is. */
	if (pipe(ready) != 0 || (pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		setsid();
		if (fork() == 0) {
			printf("%d\n", (int)getpid());
			fflush(stdout);
			close(ready[1]);
			sleep(60);
			_exit(0);
		}
		_exit(0);
	}
	close(ready[1]);
	waitpid(pid, NULL, 0);
	return read(ready[0], &c, 1) == 0 ? 0 : 1;
}

static const char *
errname(int e)
{
	switch (e) {
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ENOENT:
		return "ENOENT";
	case EINVAL:
		return "EINVAL";
	case ENOSYS:
		return "ENOSYS";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case ENODEV:
		return "ENODEV";
	case EROFS:
		return "EROFS";
	case ENOSPC:
		return "ENOSPC";
	case ENETUNREACH:
		return "ENETUNREACH";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	default:
		return strerror(e);
	}
}

static void
said(long rc)
{
	printf("%s\n", rc >= 0 ? "ok" : errname(errno));
}

static void
status_lines(const char *const *keys)
{
	char line[256];
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL) {
		printf("%s\n", errname(errno));
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL)
		for (const char *const *k = keys; *k != NULL; k++)
			if (strncmp(line, *k, strlen(*k)) == 0)
				fputs(line, stdout);
	fclose(fp);
}

static void
file_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, "x\n", 2) != 2)
		said(-1);
	else
		said(0);
	if (fd >= 0)
		close(fd);
}

static void
file_read(const char *path)
{
	char buf[4096];
	long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		said(-1);
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	if (n < 0)
		said(-1);
	else
		printf("ok %ld\n", total);
}

static void
dir_list(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	long n = 0;

	if (d == NULL) {
		said(-1);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			printf("entry %s\n", e->d_name);
			n++;
		}
	closedir(d);
	printf("ok %ld\n", n);
}

static void
fill(const char *path)
{
	static char block[1024];
	long kb = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		said(-1);
		return;
	}
	while (write(fd, block, sizeof(block)) == (ssize_t)sizeof(block) && kb < 1024 * 1024)
		kb++;
	printf("full %ld %s\n", kb, errname(errno));
	close(fd);
}

static void
tcp_connect(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		said(-1);
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	said(connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	close(fd);
}

static void
pids(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long n = 0;

	printf("pid %d\n", (int)getpid());
	if (d == NULL) {
		said(-1);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (isdigit((unsigned char)e->d_name[0]))
			n++;
	closedir(d);
	printf("procs %ld\n", n);
}

static void
namespaces(void)
{
	static const char *const names[] = { "ipc", "mnt", "net", "pid", "uts" };
	char path[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		if (stat(path, &st) == 0)
			printf("%s %lu\n", names[i], (unsigned long)st.st_ino);
		else
			printf("%s %s\n", names[i], errname(errno));
	}
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (argc > 2 && strcmp(mode, "hog") == 0)
		return hog(atol(argv[2]));
	if (strcmp(mode, "forkbomb") == 0) {
		forks(10000);
		return 0;
	}
	if (argc > 2 && strcmp(mode, "forkhold") == 0)
		return forkhold(atol(argv[2]));
	if (argc > 2 && strcmp(mode, "hoghold") == 0)
		return hoghold(atol(argv[2]));
	if (strcmp(mode, "escape") == 0)
		return escape();
	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(mode, "ptrace") == 0)
		said(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	else if (strcmp(mode, "mount") == 0)
		said(syscall(SYS_mount, "none", "/nonexistent/porter-hostile", "tmpfs", 0L, NULL));
	else if (strcmp(mode, "keyctl") == 0)
		/* KEYCTL_GET_KEYRING_ID of the session keyring, not created. */
		said(syscall(SYS_keyctl, 0L, -3L, 0L));
	else if (strcmp(mode, "reboot") == 0)
		/* No valid magic: the kernel refuses it whatever the caller. */
		said(syscall(SYS_reboot, 0L, 0L, 0L, NULL));
	else if (strcmp(mode, "socket-inet") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		said(fd);
		if (fd >= 0)
			close(fd);
	} else if (strcmp(mode, "caps") == 0)
		status_lines((const char *const[]){ "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
		    "CapAmb:", NULL });
	else if (argc > 2 && strcmp(mode, "write") == 0)
		file_write(argv[2]);
	else if (argc > 2 && strcmp(mode, "read") == 0)
		file_read(argv[2]);
	else if (argc > 2 && strcmp(mode, "list") == 0)
		dir_list(argv[2]);
	else if (argc > 2 && strcmp(mode, "fill") == 0)
		fill(argv[2]);
	else if (argc > 2 && strcmp(mode, "connect") == 0)
		tcp_connect(atoi(argv[2]));
	else if (strcmp(mode, "pids") == 0)
		pids();
	else if (strcmp(mode, "ns") == 0)
		namespaces();
	else if (strcmp(mode, "uname") == 0) {
		struct utsname u;

		uname(&u);
		printf("%s\n", u.nodename);
	} else if (strcmp(mode, "euid") == 0)
		printf("euid %d\n", (int)geteuid());
	else if (argc > 3 && strcmp(mode, "exec") == 0) {
		execv(argv[2], argv + 2);
		said(-1);
	} else if (strcmp(mode, "nnp") == 0)
		status_lines((const char *const[]){ "NoNewPrivs:", "Seccomp:", NULL });
	else {
		printf("unknown mode\n");
		return 2;
	}
	printf("end\n");
	return 0;
}
