/*
 * addr.c: peer and local addresses as the rest of porterd sees them. An
 * IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d and is turned
 * into plain IPv4 here, once, so logs, environment and access rules all see
 * the address the client really has.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "porterd.h"

void
peer_normalize(struct peer *p)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&p->sa;
	struct sockaddr_in s4;

	if (peer_family(p) != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memset(&p->sa, 0, sizeof(p->sa));
	memcpy(&p->sa, &s4, sizeof(s4));
	p->len = sizeof(s4);
}

void
peer_addr(const struct peer *p, char *buf, size_t len)
{
	const void *a;

	if (peer_family(p) == AF_INET)
		a = &((const struct sockaddr_in *)&p->sa)->sin_addr;
	else if (peer_family(p) == AF_INET6)
		a = &((const struct sockaddr_in6 *)&p->sa)->sin6_addr;
	else {
		snprintf(buf, len, "<no address>");
		return;
	}
	if (inet_ntop(peer_family(p), a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

const uint8_t *
peer_bytes(const struct peer *p, int *family)
{
	*family = peer_family(p);
	if (peer_family(p) == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)&p->sa)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)&p->sa)->sin6_addr;
}

int
peer_port(const struct peer *p)
{
	if (peer_family(p) == AF_INET)
		return ntohs(((const struct sockaddr_in *)&p->sa)->sin_port);
	if (peer_family(p) == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&p->sa)->sin6_port);
	return 0;
}
