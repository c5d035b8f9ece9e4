/*
 * acceptone.c: a wait = yes stream server for the integration tests. fd 0
 * must be the listening socket; it waits argv[1] ms (0 if not given),
 * accepts one connection, writes "pid=N listening=0|1 nonblock=0|1" to it
 * and exits.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int acc = 0, conn, len;
	socklen_t alen = sizeof(acc);
	int nonblock = (fcntl(0, F_GETFL) & O_NONBLOCK) != 0;
	char out[128];

	getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen);
	/* Meanwhile the listener stays readable: porterd must not start
	 * another server for it. */
	nanosleep(&ts, NULL);
	if ((conn = accept(0, NULL, NULL)) < 0)
		return 1;
	len = snprintf(out, sizeof(out), "pid=%d listening=%d nonblock=%d\n", (int)getpid(), acc,
	    nonblock);
	if (write(conn, out, (size_t)len) != len)
		return 1;
	close(conn);
	return 0;
}
