/*
 * tiny.c: the server of workload A, built -static -O2 so that exec costs as
 * little as the kernel allows. It writes one line and exits. With an
 * argument it first sleeps that many milliseconds (workload E's slow
 * service).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	static const char line[] = "tiny: hello\r\n";

	if (argc > 1) {
		long ms = strtol(argv[1], NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		while (ms > 0 && nanosleep(&ts, &ts) != 0)
			;
	}
	if (write(1, line, sizeof(line) - 1) < 0)
		return 1;
	return 0;
}
