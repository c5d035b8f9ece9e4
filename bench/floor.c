/*
 * floor.c: the floor of workload A. The same tiny program the servers start
 * per connection is started here in a bare loop, with no networking:
 * create the process, exec tiny with its output on /dev/null, wait for it.
 * The process is created with fork() (the floor the issue names), vfork()
 * or posix_spawn() (glibc's is a CLONE_VM|CLONE_VFORK clone), so that the
 * cost of copying the parent's page tables can be told from the rest.
 * -m touches that many KiB of heap first, to stand for a daemon of a given
 * size. One JSON object on stdout.
 *
 *   floor [-M fork|vfork|spawn] [-d seconds] [-n count] [-m KiB] [-L label] TINY
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* fork() or vfork() then exec, in a function of its own so that the
 * vfork child shares no live variables of main's. */
static __attribute__((noinline)) pid_t
start(bool use_vfork, char *const *args, int devnull)
{
	pid_t pid = use_vfork ? vfork() : fork();

	if (pid == 0) {
		dup2(devnull, 1);
		execve(args[0], args, environ);
		_exit(127);
	}
	return pid;
}

static void
usage(void)
{
	fputs("usage: floor [-M fork|vfork|spawn] [-d seconds] [-n count] [-m KiB] "
	      "[-L label] TINY\n", stderr);
	exit(64);
}

int
main(int argc, char **argv)
{
	const char *method = "fork", *label = "";
	double seconds = 2;
	long count = 100000, ballast_kib = 0;
	uint32_t *lat;
	long n = 0, failed = 0;
	int opt, devnull;
	char *ballast = NULL;
	uint64_t t0, end;

	while ((opt = getopt(argc, argv, "M:d:n:m:L:")) != -1) {
		switch (opt) {
		case 'M': method = optarg; break;
		case 'd': seconds = atof(optarg); break;
		case 'n': count = atol(optarg); break;
		case 'm': ballast_kib = atol(optarg); break;
		case 'L': label = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || seconds <= 0 || seconds > 600 || count < 1 ||
	    count > 10000000 || ballast_kib < 0 || ballast_kib > 4 * 1024 * 1024)
		usage();
	if (strcmp(method, "fork") != 0 && strcmp(method, "vfork") != 0 &&
	    strcmp(method, "spawn") != 0)
		usage();
	char *const args[] = { argv[optind], NULL };

	if (ballast_kib > 0) {
		/* Touched, so the pages (and their page tables) exist. */
		ballast = malloc((size_t)ballast_kib * 1024);
		if (ballast == NULL)
			return 1;
		for (long i = 0; i < ballast_kib * 1024; i += 4096)
			ballast[i] = (char)i;
	}
	if ((lat = malloc(sizeof(*lat) * (size_t)count)) == NULL)
		return 1;
	if ((devnull = open("/dev/null", O_WRONLY)) < 0)
		return 1;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, devnull, 1);

	t0 = now_us();
	end = t0 + (uint64_t)(seconds * 1e6);
	while (n < count && now_us() < end) {
		uint64_t s = now_us();
		pid_t pid;
		int st;

		if (method[0] == 'f' || method[0] == 'v') {
			pid = start(method[0] == 'v', args, devnull);
		} else if ((errno = posix_spawn(&pid, args[0], &fa, NULL, args, environ)) != 0)
			pid = -1;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			if (++failed > 10) {
				fprintf(stderr, "floor: %s %s: %s\n", method, args[0],
				    strerror(errno));
				return 1;
			}
			continue;
		}
		lat[n++] = (uint32_t)(now_us() - s);
	}
	double el = (double)(now_us() - t0) / 1e6;

	qsort(lat, (size_t)n, sizeof(*lat), cmp_u32);
	printf("{\"mode\":\"floor\",\"label\":\"%s\",\"method\":\"%s\",\"ballast_kib\":%ld,"
	       "\"ok\":%ld,\"errors\":%ld,\"elapsed_s\":%.3f,\"rate\":%.1f,"
	       "\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
	    label, method, ballast_kib, n, failed, el, n / el,
	    n ? lat[n / 2] / 1000.0 : 0, n ? lat[(size_t)((n - 1) * 0.99)] / 1000.0 : 0);
	(void)ballast;
	return 0;
}
