/*
 * report.c: a server for the integration tests that describes the world it
 * was started in: credentials, session, limits, signals, the open file
 * descriptors and what fds 0-2 are, the environment and argv. It writes
 * "key=value" lines to stdout (the connection) and exits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void
fdkind(int fd)
{
	struct stat st;
	int type;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) != 0) {
		printf("fd%d=closed\n", fd);
		return;
	}
	if (S_ISSOCK(st.st_mode) && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
		int acc = 0;

		len = sizeof(acc);
		getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
		printf("fd%d=socket %s%s ino=%lu\n", fd, type == SOCK_STREAM ? "stream" : "dgram",
		    acc ? " listening" : "", (unsigned long)st.st_ino);
	} else if (S_ISCHR(st.st_mode))
		printf("fd%d=chr\n", fd);
	else
		printf("fd%d=other\n", fd);
}

int
main(int argc, char **argv)
{
	gid_t groups[64];
	int ng = getgroups(64, groups);
	struct rlimit rl;
	sigset_t mask;
	struct sigaction sa;
	mode_t um = umask(0);
	DIR *d;
	struct dirent *de;

	printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	    (int)getegid());
	printf("groups=");
	for (int i = 0; i < ng; i++)
		printf("%s%d", i ? "," : "", (int)groups[i]);
	printf("\n");
	printf("pid=%d pgid=%d sid=%d ppid=%d\n", (int)getpid(), (int)getpgrp(), (int)getsid(0),
	    (int)getppid());
	printf("umask=%03o\n", (unsigned)um);
	errno = 0;
	printf("nice=%d\n", getpriority(PRIO_PROCESS, 0));
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("nofile=%llu/%llu\n", (unsigned long long)rl.rlim_cur,
	    (unsigned long long)rl.rlim_max);
	getrlimit(RLIMIT_CPU, &rl);
	printf("cpu=%lld/%lld\n", (long long)rl.rlim_cur, (long long)rl.rlim_max);
	getrlimit(RLIMIT_AS, &rl);
	printf("as=%lld/%lld\n", (long long)rl.rlim_cur, (long long)rl.rlim_max);
	sigprocmask(SIG_BLOCK, NULL, &mask);
	printf("sigmask_empty=%d\n", sigisemptyset(&mask));
	sigaction(SIGPIPE, NULL, &sa);
	printf("sigpipe=%s\n", sa.sa_handler == SIG_DFL ? "default" : "changed");
	for (int fd = 0; fd < 3; fd++)
		fdkind(fd);
	/* Blocking, as a server expects its connection to be. */
	printf("fd0_nonblock=%d\n", (fcntl(0, F_GETFL) & O_NONBLOCK) != 0);
	printf("fds=");
	if ((d = opendir("/proc/self/fd")) != NULL) {
		int self = dirfd(d), first = 1;

		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || atoi(de->d_name) == self)
				continue;
			printf("%s%s", first ? "" : ",", de->d_name);
			first = 0;
		}
		closedir(d);
	}
	printf("\n");
	for (int i = 0; i < argc; i++)
		printf("argv%d=%s\n", i, argv[i]);
	for (char **e = environ; *e != NULL; e++)
		printf("env %s\n", *e);
	printf("end\n");
	fflush(stdout);
	return 0;
}
