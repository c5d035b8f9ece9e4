/*
 * proxy_header.c: the PROXY protocol header a load balancer puts before a
 * client's bytes, version 1 (one text line) and version 2 (binary, with
 * TLVs), read and written as haproxy's proxy-protocol.txt says. Pure
 * functions on buffers, apart from the socket code in client.c and
 * redirect.c, so that the fuzzer can drive the parser alone. Everything in
 * a header comes from the network: lengths are checked before each read,
 * and the text a TLV carries is kept only as printable ASCII.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "porterd.h"

static const uint8_t proxy_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
	0x54, 0x0a };

#define V2_HEAD 16 /* signature, version and command, family, length */

enum {
	PP2_TYPE_ALPN = 0x01,
	PP2_TYPE_AUTHORITY = 0x02,
	PP2_TYPE_UNIQUE_ID = 0x05,
	PP2_TYPE_SSL = 0x20,
	PP2_SUBTYPE_SSL_VERSION = 0x21,
	PP2_SUBTYPE_SSL_CN = 0x22,
	PP2_SUBTYPE_SSL_CIPHER = 0x23,
};

/* ------------------------------------------------------------ version 1 */

/* A port as version 1 writes it: decimal, 0 to 65535, no leading zero. */
static bool
v1_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static bool
v1_addr(const char *s, int family, uint16_t port, struct peer *p)
{
	memset(p, 0, sizeof(*p));
	if (family == AF_INET) {
		p->sa.sin.sin_family = AF_INET;
		p->sa.sin.sin_port = htons(port);
		p->len = sizeof(p->sa.sin);
		return inet_pton(AF_INET, s, &p->sa.sin.sin_addr) == 1;
	}
	p->sa.sin6.sin6_family = AF_INET6;
	p->sa.sin6.sin6_port = htons(port);
	p->len = sizeof(p->sa.sin6);
	return strchr(s, ':') != NULL && inet_pton(AF_INET6, s, &p->sa.sin6.sin6_addr) == 1;
}

static ssize_t
v1_parse(const uint8_t *buf, size_t len, struct proxy_info *info, const char **why)
{
	char line[PROXY_V1_MAX + 1], *w[7], *save = NULL;
	const uint8_t *cr = NULL;
	size_t n = 0, nw = 0;
	uint16_t sport, dport;
	int family;

	for (size_t i = 0; i + 1 < len && i + 2 <= PROXY_V1_MAX; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n') {
			cr = buf + i;
			break;
		}
	if (cr == NULL) {
		if (len >= PROXY_V1_MAX) {
			*why = "version 1 line longer than 107 bytes";
			return -1;
		}
		for (size_t i = 0; i < len; i++)
			if (buf[i] == '\n' || buf[i] == '\0') {
				*why = "version 1 line without CRLF";
				return -1;
			}
		return 0;
	}
	n = (size_t)(cr - buf);
	memcpy(line, buf, n);
	line[n] = '\0';
	if (memchr(line, '\0', n) != NULL || memchr(line, '\n', n) != NULL) {
		*why = "version 1 line with a control byte";
		return -1;
	}
	info->version = 1;
	/* Single spaces between the words, as the specification writes it. */
	for (char *p = strtok_r(line, " ", &save); p != NULL && nw < 7;
	     p = strtok_r(NULL, " ", &save))
		w[nw++] = p;
	if (nw < 2 || strcmp(w[0], "PROXY") != 0) {
		*why = "version 1 line that does not start with PROXY";
		return -1;
	}
	if (strcmp(w[1], "UNKNOWN") == 0) {
		/* The balancer could not tell: the connection's own ends. */
		info->local = true;
		return (ssize_t)n + 2;
	}
	if (strcmp(w[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(w[1], "TCP6") == 0)
		family = AF_INET6;
	else {
		*why = "version 1 protocol other than TCP4, TCP6 or UNKNOWN";
		return -1;
	}
	if (nw != 6 || !v1_port(w[4], &sport) || !v1_port(w[5], &dport) ||
	    !v1_addr(w[2], family, sport, &info->src) ||
	    !v1_addr(w[3], family, dport, &info->dst)) {
		*why = "version 1 addresses or ports malformed";
		return -1;
	}
	return (ssize_t)n + 2;
}

/* ------------------------------------------------------------ version 2 */

/* Keeps a TLV's text as printable ASCII, cut to fit: it goes into the
 * server's environment and the log. */
static void
v2_text(char *dst, size_t cap, const uint8_t *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < cap; i++)
		dst[k++] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
	dst[k] = '\0';
}

/* The sub-TLVs of PP2_TYPE_SSL, after its client and verify fields. */
static bool
v2_ssl(const uint8_t *p, size_t n, struct proxy_info *info)
{
	if (n < 5)
		return false;
	info->ssl = (p[0] & 0x01) != 0;
	for (size_t off = 5; off < n;) {
		size_t vlen;

		if (n - off < 3)
			return false;
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (n - off - 3 < vlen)
			return false;
		if (p[off] == PP2_SUBTYPE_SSL_CN)
			v2_text(info->ssl_cn, sizeof(info->ssl_cn), p + off + 3, vlen);
		off += 3 + vlen;
	}
	return true;
}

static bool
v2_tlvs(const uint8_t *p, size_t n, struct proxy_info *info)
{
	for (size_t off = 0; off < n;) {
		size_t vlen;
		const uint8_t *v;

		if (n - off < 3)
			return false;
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (n - off - 3 < vlen)
			return false;
		v = p + off + 3;
		switch (p[off]) {
		case PP2_TYPE_ALPN:
			v2_text(info->alpn, sizeof(info->alpn), v, vlen);
			break;
		case PP2_TYPE_AUTHORITY:
			v2_text(info->authority, sizeof(info->authority), v, vlen);
			break;
		case PP2_TYPE_UNIQUE_ID:
			if (vlen > 128)
				return false;
			v2_text(info->unique_id, sizeof(info->unique_id), v, vlen);
			break;
		case PP2_TYPE_SSL:
			if (!v2_ssl(v, vlen, info))
				return false;
			break;
		default:
			break; /* CRC32C, NOOP, NETNS and the rest: skipped by length */
		}
		off += 3 + vlen;
	}
	return true;
}

static ssize_t
v2_parse(const uint8_t *buf, size_t len, struct proxy_info *info, const char **why)
{
	size_t body, need;
	const uint8_t *p = buf + V2_HEAD;
	size_t alen;

	if (len < V2_HEAD)
		return 0;
	info->version = 2;
	if ((buf[12] >> 4) != 2) {
		*why = "version 2 signature with another version";
		return -1;
	}
	body = (size_t)buf[14] << 8 | buf[15];
	need = V2_HEAD + body;
	if (need > PROXY_MAX) {
		*why = "version 2 header longer than porterd reads";
		return -1;
	}
	if (len < need)
		return 0;
	switch (buf[12] & 0x0f) {
	case 0x0: /* LOCAL: the balancer's own check; the connection's ends */
		info->local = true;
		return (ssize_t)need;
	case 0x1:
		break;
	default:
		*why = "version 2 command other than LOCAL or PROXY";
		return -1;
	}
	switch (buf[13] >> 4) {
	case 0x0: /* UNSPEC: nothing to say about the client */
		info->local = true;
		return (ssize_t)need;
	case 0x1:
		alen = 12;
		break;
	case 0x2:
		alen = 36;
		break;
	case 0x3:
		*why = "version 2 UNIX addresses, which porterd cannot check";
		return -1;
	default:
		*why = "version 2 unknown address family";
		return -1;
	}
	if ((buf[13] & 0x0f) == 0x2) {
		*why = "version 2 UDP addresses on a stream connection";
		return -1;
	}
	if ((buf[13] & 0x0f) != 0x1) {
		*why = "version 2 transport other than STREAM";
		return -1;
	}
	if (body < alen) {
		*why = "version 2 address block shorter than its family";
		return -1;
	}
	memset(&info->src, 0, sizeof(info->src));
	memset(&info->dst, 0, sizeof(info->dst));
	if (alen == 12) {
		info->src.sa.sin.sin_family = info->dst.sa.sin.sin_family = AF_INET;
		memcpy(&info->src.sa.sin.sin_addr, p, 4);
		memcpy(&info->dst.sa.sin.sin_addr, p + 4, 4);
		memcpy(&info->src.sa.sin.sin_port, p + 8, 2);
		memcpy(&info->dst.sa.sin.sin_port, p + 10, 2);
		info->src.len = info->dst.len = sizeof(struct sockaddr_in);
	} else {
		info->src.sa.sin6.sin6_family = info->dst.sa.sin6.sin6_family = AF_INET6;
		memcpy(&info->src.sa.sin6.sin6_addr, p, 16);
		memcpy(&info->dst.sa.sin6.sin6_addr, p + 16, 16);
		memcpy(&info->src.sa.sin6.sin6_port, p + 32, 2);
		memcpy(&info->dst.sa.sin6.sin6_port, p + 34, 2);
		info->src.len = info->dst.len = sizeof(struct sockaddr_in6);
	}
	if (!v2_tlvs(p + alen, body - alen, info)) {
		*why = "version 2 TLV longer than the header";
		return -1;
	}
	return (ssize_t)need;
}

/* ------------------------------------------------------------ reading */

ssize_t
proxy_parse(const uint8_t *buf, size_t len, unsigned accept, struct proxy_info *info,
    const char **why)
{
	static const char v1_start[] = "PROXY ";
	size_t k;

	memset(info, 0, sizeof(*info));
	*why = NULL;
	/* Which version this is, as soon as the first bytes tell. */
	k = len < sizeof(proxy_sig) ? len : sizeof(proxy_sig);
	if (k > 0 && memcmp(buf, proxy_sig, k) == 0) {
		if (!(accept & PROXY_V2)) {
			*why = "version 2 header where version 1 is expected";
			return -1;
		}
		return k < sizeof(proxy_sig) ? 0 : v2_parse(buf, len, info, why);
	}
	k = len < sizeof(v1_start) - 1 ? len : sizeof(v1_start) - 1;
	if (k > 0 && memcmp(buf, v1_start, k) == 0) {
		if (!(accept & PROXY_V1)) {
			*why = "version 1 header where version 2 is expected";
			return -1;
		}
		return k < sizeof(v1_start) - 1 ? 0 : v1_parse(buf, len, info, why);
	}
	if (len == 0)
		return 0;
	*why = "no PROXY header";
	return -1;
}

/* ------------------------------------------------------------ writing */

/* The address as the other end's family: an IPv4 address written as
 * IPv6 is its mapped form. */
static void
build_in6(const struct peer *p, struct in6_addr *a, uint16_t *port)
{
	if (peer_family(p) == AF_INET6) {
		*a = p->sa.sin6.sin6_addr;
		*port = p->sa.sin6.sin6_port;
		return;
	}
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], &p->sa.sin.sin_addr, 4);
	*port = p->sa.sin.sin_port;
}

static size_t
build_tlv(uint8_t *buf, size_t at, size_t cap, uint8_t type, const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || at + 3 + n > cap)
		return at;
	buf[at] = type;
	buf[at + 1] = (uint8_t)(n >> 8);
	buf[at + 2] = (uint8_t)n;
	memcpy(buf + at + 3, text, n);
	return at + 3 + n;
}

/* PP2_TYPE_SSL: the client came over TLS; whether it sent a certificate
 * and whether it was verified, then the version, the client's CN and the
 * cipher as sub-TLVs. */
static size_t
build_ssl(uint8_t *buf, size_t at, size_t cap, const struct proxy_info *info)
{
	size_t start = at, n;

	if (at + 8 > cap)
		return start;
	buf[at] = PP2_TYPE_SSL;
	buf[at + 3] = (uint8_t)(0x01 | (info->ssl_cert ? 0x02 | 0x04 : 0));
	/* verify: 0 when the certificate was verified (or none was sent). */
	memset(buf + at + 4, 0, 4);
	if (info->ssl_cert && !info->ssl_verified)
		buf[at + 7] = 1;
	at += 8;
	at = build_tlv(buf, at, cap, PP2_SUBTYPE_SSL_VERSION, info->ssl_version);
	at = build_tlv(buf, at, cap, PP2_SUBTYPE_SSL_CN, info->ssl_cn);
	at = build_tlv(buf, at, cap, PP2_SUBTYPE_SSL_CIPHER, info->ssl_cipher);
	n = at - start - 3;
	buf[start + 1] = (uint8_t)(n >> 8);
	buf[start + 2] = (uint8_t)n;
	return at;
}

size_t
proxy_build(unsigned version, const struct peer *src, const struct peer *dst,
    const struct proxy_info *tlvs, uint8_t *buf, size_t cap)
{
	bool v4 = peer_family(src) == AF_INET && peer_family(dst) == AF_INET;
	size_t at;

	if (version == PROXY_V1) {
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
		struct in6_addr a;
		uint16_t sp, dp;
		int n;

		if (v4) {
			inet_ntop(AF_INET, &src->sa.sin.sin_addr, s, sizeof(s));
			inet_ntop(AF_INET, &dst->sa.sin.sin_addr, d, sizeof(d));
			sp = src->sa.sin.sin_port;
			dp = dst->sa.sin.sin_port;
		} else {
			build_in6(src, &a, &sp);
			inet_ntop(AF_INET6, &a, s, sizeof(s));
			build_in6(dst, &a, &dp);
			inet_ntop(AF_INET6, &a, d, sizeof(d));
		}
		n = snprintf((char *)buf, cap, "PROXY %s %s %s %u %u\r\n", v4 ? "TCP4" : "TCP6", s,
		    d, ntohs(sp), ntohs(dp));
		return n > 0 && (size_t)n < cap ? (size_t)n : 0;
	}
	if (cap < V2_HEAD + 36)
		return 0;
	memcpy(buf, proxy_sig, sizeof(proxy_sig));
	buf[12] = 0x21; /* version 2, PROXY */
	at = V2_HEAD;
	if (v4) {
		buf[13] = 0x11; /* INET, STREAM */
		memcpy(buf + at, &src->sa.sin.sin_addr, 4);
		memcpy(buf + at + 4, &dst->sa.sin.sin_addr, 4);
		memcpy(buf + at + 8, &src->sa.sin.sin_port, 2);
		memcpy(buf + at + 10, &dst->sa.sin.sin_port, 2);
		at += 12;
	} else {
		struct in6_addr a;
		uint16_t port;

		buf[13] = 0x21; /* INET6, STREAM */
		build_in6(src, &a, &port);
		memcpy(buf + at, &a, 16);
		memcpy(buf + at + 32, &port, 2);
		build_in6(dst, &a, &port);
		memcpy(buf + at + 16, &a, 16);
		memcpy(buf + at + 34, &port, 2);
		at += 36;
	}
	if (tlvs != NULL) {
		at = build_tlv(buf, at, cap, PP2_TYPE_ALPN, tlvs->alpn);
		at = build_tlv(buf, at, cap, PP2_TYPE_AUTHORITY, tlvs->authority);
		at = build_tlv(buf, at, cap, PP2_TYPE_UNIQUE_ID, tlvs->unique_id);
		if (tlvs->ssl)
			at = build_ssl(buf, at, cap, tlvs);
	}
	buf[14] = (uint8_t)((at - V2_HEAD) >> 8);
	buf[15] = (uint8_t)(at - V2_HEAD);
	return at;
}
