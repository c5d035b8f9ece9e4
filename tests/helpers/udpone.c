/*
 * udpone.c: a wait = yes dgram server for the integration tests. It reads
 * one datagram from the socket on fd 0, answers the sender at once with
 * "pid=N lock=ok|busy data=PAYLOAD", then holds on for argv[2] ms before
 * exiting. While it runs it holds an exclusive lock on the file argv[1]:
 * a second server started meanwhile (the service was not paused) answers
 * "lock=busy".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	char buf[512], out[700];
	const char *lock = "busy";
	long ms = argc > 2 ? atol(argv[2]) : 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	ssize_t n;
	int fd, len;

	if (argc > 1 && (fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0 &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0)
		lock = "ok";
	n = recvfrom(0, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fromlen);
	if (n < 0)
		return 1;
	buf[n] = '\0';
	len = snprintf(out, sizeof(out), "pid=%d lock=%s data=%s", (int)getpid(), lock, buf);
	if (sendto(0, out, (size_t)len, 0, (struct sockaddr *)&from, fromlen) < 0)
		return 1;
	nanosleep(&ts, NULL);
	return 0;
}
