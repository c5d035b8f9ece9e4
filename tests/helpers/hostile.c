/*
 * hostile.c: servers that misbehave, for the cgroup tests.
 *   hostile hog MB     touches MB megabytes, 1M at a time; "survived" if it can
 *   hostile forkbomb   forks children that wait, until fork fails;
 *                      "forked N" (how many it made)
 *   hostile escape     setsid and double fork: the grandchild writes its pid
 *                      and sleeps 60 s holding the connection; the server
 *                      exits as soon as the pid is written
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "hog") == 0)
		return hog(atol(argv[2]));
	if (argc > 1 && strcmp(argv[1], "forkbomb") == 0)
		return forkbomb();
	if (argc > 1 && strcmp(argv[1], "escape") == 0)
		return escape();
	fprintf(stderr, "usage: hostile hog MB | forkbomb | escape\n");
	return 64;
}
