/*
 * access.c: the address lists of only_from and no_access, and the daily
 * intervals of access_times. Every form xinetd accepts is turned at load
 * time into a flat list of networks and names, which prints back to text
 * that reads as the same list; acl.c compiles the lists for the daemon.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

/* What one of the form parsers below made of a token. */
enum access_res {
	ACC_NO,  /* not this form: try the next one */
	ACC_OK,  /* rules appended */
	ACC_ERR, /* this form, but wrong: err is set */
};

static const char access_expected[] =
    "expected an IPv4 or IPv6 address, a CIDR network, a factorized list such as 10.1.{2,3}, a host name or a .domain";
static const char access_before[] =
    "expected 1 to 3 octets and a dot before the braces, such as 10.1.{2,3}";

static const uint8_t access_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static enum access_res
access_fail(const char *tok, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "bad address \"%s\": %s", tok, why);
	return ACC_ERR;
}

static enum access_res
access_bad(const char *tok, char *err, size_t errlen)
{
	return access_fail(tok, access_expected, err, errlen);
}

static void
access_push(struct addrlist *list, const struct addr_rule *r)
{
	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 8;
		list->v = mem_realloc(list->v, list->cap * sizeof(*list->v));
	}
	list->v[list->n++] = *r;
}

/*
 * Appends a network. A v4-mapped IPv6 network becomes the IPv4 network it
 * stands for, because clients are matched after their address is de-mapped
 * and the IPv6 rule would never match anything.
 */
static void
access_push_net(struct addrlist *list, int family, const uint8_t *addr, unsigned prefix)
{
	struct addr_rule r;

	memset(&r, 0, sizeof(r));
	r.kind = AR_NET;
	if (family == AF_INET6 && prefix >= 96 &&
	    memcmp(addr, access_mapped, sizeof(access_mapped)) == 0) {
		r.family = AF_INET;
		r.prefix = (uint8_t)(prefix - 96);
		memcpy(r.addr, addr + 12, 4);
	} else {
		r.family = (uint8_t)family;
		r.prefix = (uint8_t)prefix;
		memcpy(r.addr, addr, family == AF_INET ? 4 : 16);
	}
	access_push(list, &r);
}

static void
access_push_name(struct addrlist *list, enum addr_kind kind, const char *name)
{
	struct addr_rule r;

	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)kind;
	r.name = mem_strdup(name);
	for (char *p = r.name; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	access_push(list, &r);
}

/* Whether bit i (0 = the most significant bit of a[0]) is set. */
static bool
access_bit(const uint8_t *a, unsigned i)
{
	return (a[i / 8] & (0x80u >> (i % 8))) != 0;
}

/*
 * xinetd's wildcard rule for a plain dotted quad: trailing zero octets match
 * anything, so 10.0.0.0 is 10.0.0.0/8 and 0.0.0.0 matches every address.
 */
static unsigned
access_zero_prefix(const uint8_t *a)
{
	unsigned p = 32;

	while (p > 0 && a[p / 8 - 1] == 0)
		p -= 8;
	return p;
}

/* Form 1 and 2: "a.b.c.d/N", "x::/N" and "[x::]/N". */
static enum access_res
access_cidr(const char *tok, struct addrlist *list, char *err, size_t errlen)
{
	const char *slash = strchr(tok, '/');
	const char *a = tok;
	char buf[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
	uint8_t addr[16] = { 0 };
	unsigned long long n;
	unsigned bits;
	size_t alen;
	int family;

	if (slash == NULL)
		return ACC_NO;
	alen = (size_t)(slash - tok);
	if (tok[0] == '[') {
		if (alen < 2 || tok[alen - 1] != ']')
			return access_bad(tok, err, errlen);
		a = tok + 1;
		alen -= 2;
	}
	if (alen >= sizeof(buf))
		return access_bad(tok, err, errlen);
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	if (a == tok && inet_pton(AF_INET, buf, addr) == 1) {
		family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		family = AF_INET6;
		bits = 128;
	} else
		return access_bad(tok, err, errlen);

	if (!util_parse_uint(slash + 1, bits, &n)) {
		snprintf(err, errlen,
		    "bad address \"%s\": the prefix length of an %s network is 0-%u", tok,
		    family == AF_INET ? "IPv4" : "IPv6", bits);
		return ACC_ERR;
	}
	for (unsigned i = (unsigned)n; i < bits; i++) {
		if (!access_bit(addr, i))
			continue;
		for (unsigned j = (unsigned)n; j < bits; j++)
			addr[j / 8] &= (uint8_t) ~(0x80u >> (j % 8));
		inet_ntop(family, addr, net, sizeof(net));
		snprintf(err, errlen,
		    "%s: address has bits set beyond the /%llu prefix (use %s/%llu)", tok, n, net,
		    n);
		return ACC_ERR;
	}
	access_push_net(list, family, addr, (unsigned)n);
	return ACC_OK;
}

/* Form 3 and 4: a dotted quad with the trailing-zero rule, or one IPv6
 * address, bare or in brackets. */
static enum access_res
access_numeric(const char *tok, struct addrlist *list, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t addr[16] = { 0 };
	size_t len = strlen(tok);

	if (tok[0] == '[') {
		if (len < 2 || tok[len - 1] != ']' || len - 2 >= sizeof(buf))
			return access_bad(tok, err, errlen);
		memcpy(buf, tok + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return access_bad(tok, err, errlen);
		access_push_net(list, AF_INET6, addr, 128);
		return ACC_OK;
	}
	if (inet_pton(AF_INET, tok, addr) == 1) {
		access_push_net(list, AF_INET, addr, access_zero_prefix(addr));
		return ACC_OK;
	}
	if (inet_pton(AF_INET6, tok, addr) == 1) {
		access_push_net(list, AF_INET6, addr, 128);
		return ACC_OK;
	}
	return ACC_NO;
}

/* Reads a decimal octet written the way inet_pton wants it: 0-255, no
 * leading zero. Advances *pp past it. */
static bool
access_octet(const char **pp, uint8_t *out)
{
	const char *p = *pp;
	unsigned v = 0;
	int nd = 0;

	while (*p >= '0' && *p <= '9' && nd < 4) {
		v = v * 10 + (unsigned)(*p - '0');
		p++;
		nd++;
	}
	if (nd == 0 || nd > 3 || v > 255 || (nd > 1 && **pp == '0'))
		return false;
	*out = (uint8_t)v;
	*pp = p;
	return true;
}

/*
 * Form 5: "128.138.{10,11}". Each element is the octet after the given
 * ones and the prefix covers the octets written, as in xinetd: an element 0
 * is an octet like any other, not a wildcard, so 10.0.{0,1} is
 * 10.0.0.0/24 and 10.0.1.0/24. Zero octets may follow the braces
 * ("10.{1,2}.0.0"); they change nothing.
 */
static enum access_res
access_factorized(const char *tok, struct addrlist *list, char *err, size_t errlen)
{
	const char *open = strchr(tok, '{');
	const char *close, *p;
	uint8_t base[4] = { 0 }, v;
	unsigned noct = 0, total;

	if (open == NULL) {
		if (strchr(tok, '}') == NULL)
			return ACC_NO;
		return access_fail(tok, "\"}\" without \"{\"", err, errlen);
	}
	for (p = tok; p < open; p++) {
		if (noct == 3 || !access_octet(&p, &base[noct]) || *p != '.')
			return access_fail(tok, access_before, err, errlen);
		noct++;
	}
	if (noct == 0)
		return access_fail(tok, access_before, err, errlen);
	close = strchr(open, '}');
	if (close == NULL || memchr(open + 1, '{', (size_t)(close - open - 1)) != NULL)
		return access_fail(tok, "expected one \"{...}\" list", err, errlen);
	total = noct + 1;
	for (p = close + 1; *p != '\0'; p += 2, total++) {
		if (total == 4 || p[0] != '.' || p[1] != '0' || (p[2] != '.' && p[2] != '\0'))
			return access_fail(tok, "the braces of a factorized list must come last",
			    err, errlen);
	}

	/* Check every element before appending any, so that a bad token leaves
	 * the list as it was. */
	for (int pass = 0; pass < 2; pass++) {
		for (p = open + 1;; p++) {
			const char *start = p;

			if (*p == ',' || *p == '}')
				return access_fail(tok, "empty element in the braces", err, errlen);
			if (!access_octet(&p, &v) || (*p != ',' && *p != '}')) {
				p = start + strcspn(start, ",}");
				snprintf(err, errlen,
				    "bad address \"%s\": \"%.*s\" in the braces is not an octet (0-255)",
				    tok, (int)(p - start), start);
				return ACC_ERR;
			}
			if (pass == 1) {
				base[noct] = v;
				access_push_net(list, AF_INET, base, 8 * (noct + 1));
			}
			if (*p == '}')
				break;
		}
	}
	return ACC_OK;
}

/*
 * Checks a DNS name as it can appear in a reverse-DNS answer: labels of 1
 * to 63 letters, digits, hyphens and underscores, not starting or ending
 * with a hyphen, 253 characters at most, and a last label that is not all
 * digits (no top-level domain is, and it catches mistyped addresses).
 * Returns NULL when it is good, otherwise what is wrong.
 */
static const char *
access_dns_name(const char *s)
{
	const char *label = s;
	bool digits = true;

	if (strlen(s) > 253)
		return "a name has at most 253 characters";
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label)
				return "a label is empty";
			if (p - label > 63)
				return "a label has more than 63 characters";
			if (*label == '-' || p[-1] == '-')
				return "a label starts or ends with a hyphen";
			if (*p == '\0')
				break;
			label = p + 1;
			digits = true;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' ||
		    *p == '_') {
			digits = false;
		} else if (*p < '0' || *p > '9') {
			return "only letters, digits, hyphens, underscores and dots are allowed";
		}
	}
	if (digits)
		return "the last label is all digits";
	return NULL;
}

/* Whether tok is made of name characters and has a letter, so that an
 * error about it should talk about names rather than addresses. */
static bool
access_namelike(const char *tok)
{
	bool letter = false;

	for (const char *p = tok; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			letter = true;
		else if ((*p < '0' || *p > '9') && *p != '.' && *p != '-' && *p != '_')
			return false;
	}
	return letter;
}

/* Form 6: ".example.com", a suffix of the client's reverse-DNS name. */
static enum access_res
access_domain(const char *tok, struct addrlist *list, char *err, size_t errlen)
{
	const char *why;

	if (tok[0] != '.')
		return ACC_NO;
	if ((why = access_dns_name(tok + 1)) != NULL) {
		snprintf(err, errlen, "bad domain \"%s\": %s", tok, why);
		return ACC_ERR;
	}
	access_push_name(list, AR_DOMAIN, tok);
	return ACC_OK;
}

/*
 * Form 7: a network name from /etc/networks. glibc gives the number
 * written there as inet_network() reads it: "127.0.0.0" is 0x7f000000 and
 * the classic "127" is 0x7f. A number of 1 to 3 octets is right-aligned and
 * covers the octets written (xinetd's table); a full dotted quad gets the
 * trailing-zero rule like one written in the configuration. Network 0
 * (Debian's "default") is not taken, as in xinetd, so it cannot silently
 * stand for every address.
 */
static enum access_res
access_netname(const char *tok, struct addrlist *list)
{
	struct netent *ne;
	uint32_t net;
	uint8_t addr[4];
	unsigned prefix, noct;

	if (!access_namelike(tok) || (ne = getnetbyname(tok)) == NULL ||
	    ne->n_addrtype != AF_INET || ne->n_net == 0)
		return ACC_NO;
	net = (uint32_t)ne->n_net;
	noct = 4;
	if (net <= 0xffffff) {
		for (noct = 1; noct < 3 && (net >> (8 * noct)) != 0; noct++)
			continue;
		net <<= 8 * (4 - noct);
	}
	addr[0] = (uint8_t)(net >> 24);
	addr[1] = (uint8_t)(net >> 16);
	addr[2] = (uint8_t)(net >> 8);
	addr[3] = (uint8_t)net;
	prefix = noct == 4 ? access_zero_prefix(addr) : 8 * noct;
	access_push_net(list, AF_INET, addr, prefix);
	return ACC_OK;
}

/* Form 8: a host name, compared with the client's reverse-DNS name. */
static enum access_res
access_hostname(const char *tok, struct addrlist *list, char *err, size_t errlen)
{
	const char *why;

	if (!access_namelike(tok))
		return ACC_NO;
	if ((why = access_dns_name(tok)) != NULL) {
		snprintf(err, errlen, "bad host name \"%s\": %s", tok, why);
		return ACC_ERR;
	}
	access_push_name(list, AR_HOST, tok);
	return ACC_OK;
}

bool
access_parse(const char *tok, struct addrlist *list, char *err, size_t errlen)
{
	enum access_res r;

	if (tok[0] == '\0') {
		snprintf(err, errlen, "empty address");
		return false;
	}
	if ((r = access_cidr(tok, list, err, errlen)) != ACC_NO)
		return r == ACC_OK;
	if ((r = access_numeric(tok, list, err, errlen)) != ACC_NO)
		return r == ACC_OK;
	if ((r = access_factorized(tok, list, err, errlen)) != ACC_NO)
		return r == ACC_OK;
	if (strchr(tok, ',') != NULL) {
		access_fail(tok,
		    "a comma is only allowed in the braces of a factorized list; separate addresses with blanks",
		    err, errlen);
		return false;
	}
	if ((r = access_domain(tok, list, err, errlen)) != ACC_NO)
		return r == ACC_OK;
	if ((r = access_netname(tok, list)) != ACC_NO)
		return r == ACC_OK;
	if ((r = access_hostname(tok, list, err, errlen)) != ACC_NO)
		return r == ACC_OK;
	access_bad(tok, err, errlen);
	return false;
}

void
access_format(const struct addr_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (len == 0)
		return;
	if (r->kind != AR_NET) {
		snprintf(buf, len, "%s", r->name != NULL ? r->name : "");
		return;
	}
	if (inet_ntop(r->family, r->addr, a, sizeof(a)) == NULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s/%u", a, r->prefix);
}

static bool
access_rule_eq(const struct addr_rule *a, const struct addr_rule *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind != AR_NET)
		return a->name != NULL && b->name != NULL && strcmp(a->name, b->name) == 0;
	return a->family == b->family && a->prefix == b->prefix &&
	    memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

void
access_remove(struct addrlist *list, const struct addrlist *del)
{
	size_t j = 0;

	if (list == del) {
		access_clear(list);
		return;
	}
	for (size_t i = 0; i < list->n; i++) {
		bool found = false;

		for (size_t k = 0; k < del->n && !found; k++)
			found = access_rule_eq(&list->v[i], &del->v[k]);
		if (found)
			free(list->v[i].name);
		else
			list->v[j++] = list->v[i];
	}
	list->n = j;
}

void
access_copy(struct addrlist *dst, const struct addrlist *src)
{
	if (dst == src)
		return;
	access_clear(dst);
	if (src->n == 0)
		return;
	dst->v = mem_calloc(src->n, sizeof(*dst->v));
	dst->cap = src->n;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		if (src->v[i].name != NULL)
			dst->v[i].name = mem_strdup(src->v[i].name);
	}
	dst->n = src->n;
}

void
access_clear(struct addrlist *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->v[i].name);
	free(list->v);
	memset(list, 0, sizeof(*list));
}

/*
 * Reads "H:MM" (hours in one or two digits, minutes in exactly two) and
 * advances *pp. Ranges are checked by the caller so it can say which part
 * is wrong.
 */
static bool
access_clock(const char **pp, unsigned *h, unsigned *m)
{
	const char *p = *pp;

	if (p[0] < '0' || p[0] > '9')
		return false;
	*h = (unsigned)(*p++ - '0');
	if (*p >= '0' && *p <= '9')
		*h = *h * 10 + (unsigned)(*p++ - '0');
	if (p[0] != ':' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9')
		return false;
	*m = (unsigned)(p[1] - '0') * 10 + (unsigned)(p[2] - '0');
	*pp = p + 3;
	return true;
}

/*
 * Both ends are inclusive minutes. "24:00" is accepted as an end only and
 * stored as 1439 (23:59), which covers the day's last minute: that is what
 * "until midnight" means with inclusive ends, and a dumped "23:59" reads
 * back as the same interval. A start after the end runs past midnight,
 * which xinetd refused.
 */
static bool
access_times_fail(const char *tok, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "bad access_times interval \"%s\": %s", tok, why);
	return false;
}

bool
access_times_parse(const char *tok, struct timerange *tr, char *err, size_t errlen)
{
	const char *p = tok;
	unsigned sh, sm, eh, em;

	if (!access_clock(&p, &sh, &sm) || *p++ != '-' || !access_clock(&p, &eh, &em) || *p != '\0')
		return access_times_fail(tok, "expected H:MM-H:MM", err, errlen);
	if (sh > 23 || eh > 24 || (eh == 24 && em != 0))
		return access_times_fail(tok, "hours are 0-23 (24:00 only as an end)", err, errlen);
	if (sm > 59 || em > 59)
		return access_times_fail(tok, "minutes are 00-59", err, errlen);
	tr->start = (uint16_t)(sh * 60 + sm);
	tr->end = eh == 24 ? 1439 : (uint16_t)(eh * 60 + em);
	return true;
}

bool
access_times_allow(const struct timerange *tr, size_t n, int minute)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		int start = tr[i].start, end = tr[i].end;
		bool in;

		/* A range whose start is after its end runs past midnight. */
		if (start <= end)
			in = minute >= start && minute <= end;
		else
			in = minute >= start || minute <= end;
		if (in)
			return true;
	}
	return false;
}
