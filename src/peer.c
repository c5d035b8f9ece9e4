/*
 * peer.c: peer and local addresses as the rest of porterd sees them. An
 * IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d and is turned
 * into plain IPv4 here, once, so logs, environment and access rules all see
 * the address the client really has. A client of a Unix socket has no
 * address that says who it is but its credentials: the logs write it
 * uid:N(pid P), and the per-source counts key it by its uid.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "porterd.h"

void
peer_normalize(struct peer *p)
{
	const struct sockaddr_in6 s6 = p->sa.sin6;

	if (peer_family(p) != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return;
	memset(&p->sa, 0, sizeof(p->sa));
	p->sa.sin.sin_family = AF_INET;
	p->sa.sin.sin_port = s6.sin6_port;
	memcpy(&p->sa.sin.sin_addr, &s6.sin6_addr.s6_addr[12], 4);
	p->len = sizeof(p->sa.sin);
}

void
peer_unix(struct peer *p, int fd)
{
	struct ucred uc;
	socklen_t n = sizeof(uc);

	memset(&p->sa, 0, sizeof(p->sa));
	p->sa.sa.sa_family = AF_UNIX;
	p->len = sizeof(sa_family_t);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &n) == 0) {
		p->uid = uc.uid;
		p->gid = uc.gid;
		p->pid = uc.pid;
	} else {
		/* Nobody's: rules on users and groups refuse it. */
		p->uid = p->gid = (uint32_t)-1;
		p->pid = 0;
	}
}

void
peer_addr(const struct peer *p, char *buf, size_t len)
{
	const void *a;

	if (peer_family(p) == AF_UNIX) {
		if (p->pid > 0)
			snprintf(buf, len, "uid:%lu(pid %ld)", (unsigned long)p->uid, (long)p->pid);
		else
			snprintf(buf, len, "uid:%lu", (unsigned long)p->uid);
		return;
	}
	if (peer_family(p) == AF_INET)
		a = &p->sa.sin.sin_addr;
	else if (peer_family(p) == AF_INET6)
		a = &p->sa.sin6.sin6_addr;
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
	if (peer_family(p) == AF_UNIX)
		return (const uint8_t *)&p->uid;
	if (peer_family(p) == AF_INET)
		return (const uint8_t *)&p->sa.sin.sin_addr;
	return (const uint8_t *)&p->sa.sin6.sin6_addr;
}

int
peer_port(const struct peer *p)
{
	if (peer_family(p) == AF_INET)
		return ntohs(p->sa.sin.sin_port);
	if (peer_family(p) == AF_INET6)
		return ntohs(p->sa.sin6.sin6_port);
	return 0;
}
