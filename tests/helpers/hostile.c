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
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

static int
forkbomb(void)
{
	int n = 0;

	for (;;) {
		pid_t pid = fork();

		if (pid < 0)
			break;
		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (++n >= 10000)
			break;
	}
	printf("forked %d\n", n);
	return 0;
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

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (argc > 2 && strcmp(mode, "hog") == 0)
		return hog(atol(argv[2]));
	if (strcmp(mode, "forkbomb") == 0)
		return forkbomb();
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
	else if (strcmp(mode, "nnp") == 0)
		status_lines((const char *const[]){ "NoNewPrivs:", "Seccomp:", NULL });
	else {
		printf("unknown mode\n");
		return 2;
	}
	printf("end\n");
	return 0;
}
