/*
 * listenfds.c: a listen_fds = yes server for the integration tests. It looks
 * at what socket activation promises (fd 3 a listening socket, LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES, fds 0-2 on /dev/null, nothing else open),
 * accepts one connection on fd 3 and writes what it saw there, one
 * "key=value" per line, ending with "end".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void
describe(FILE *fp, int fd, const struct stat *null)
{
	struct stat st;
	int acc = 0;
	socklen_t len = sizeof(acc);

	if (fstat(fd, &st) != 0)
		fprintf(fp, "fd%d=closed\n", fd);
	else if (S_ISCHR(st.st_mode))
		fprintf(fp, "fd%d=chr%s\n", fd, st.st_rdev == null->st_rdev ? " null" : "");
	else if (S_ISSOCK(st.st_mode)) {
		getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
		fprintf(fp, "fd%d=socket%s\n", fd, acc ? " listening" : "");
	} else
		fprintf(fp, "fd%d=other\n", fd);
}

int
main(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	const char *names = getenv("LISTEN_FDNAMES");
	struct stat null;
	int conn;
	FILE *fp;
	DIR *d;
	struct dirent *de;
	char open_fds[256] = "";

	/* Before anything else opens a descriptor. */
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
				continue;
			if (open_fds[0] != '\0')
				strncat(open_fds, ",", sizeof(open_fds) - strlen(open_fds) - 1);
			strncat(open_fds, de->d_name, sizeof(open_fds) - strlen(open_fds) - 1);
		}
		closedir(d);
	}
	if (stat("/dev/null", &null) != 0)
		return 1;
	if ((conn = accept(3, NULL, NULL)) < 0)
		return 1;
	if ((fp = fdopen(conn, "w")) == NULL)
		return 1;
	fprintf(fp, "pid=%d\n", (int)getpid());
	fprintf(fp, "LISTEN_FDS=%s\n", fds != NULL ? fds : "(unset)");
	fprintf(fp, "LISTEN_PID=%s\n", pid != NULL ? pid : "(unset)");
	fprintf(fp, "LISTEN_FDNAMES=%s\n", names != NULL ? names : "(unset)");
	for (int fd = 0; fd < 4; fd++)
		describe(fp, fd, &null);
	fprintf(fp, "fds=%s\n", open_fds);
	fprintf(fp, "end\n");
	fclose(fp);
	return 0;
}
