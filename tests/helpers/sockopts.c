/*
 * sockopts.c: writes the TCP_NODELAY and SO_KEEPALIVE settings of the
 * connection on fd 0 as "nodelay=N keepalive=N" and exits.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>

int
main(void)
{
	int nodelay = -1, keepalive = -1;
	socklen_t len = sizeof(int);

	getsockopt(0, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
	len = sizeof(int);
	getsockopt(0, SOL_SOCKET, SO_KEEPALIVE, &keepalive, &len);
	printf("nodelay=%d keepalive=%d\n", nodelay != 0, keepalive != 0);
	return 0;
}
