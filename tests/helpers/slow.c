/*
 * slow.c: a slow server for the integration tests: sleeps argv[1]
 * milliseconds, then writes "done\n" to its connection and exits.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 1000;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
	return write(1, "done\n", 5) == 5 ? 0 : 1;
}
