/*
 * acl.c: a service's only_from and no_access compiled together, at load
 * time, into hash tables that decide a client with one probe per distinct
 * prefix length, the more specific rule winning. The lists themselves, as
 * parsed and printed, are access.c's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

static const uint8_t acl_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/*
 * The compiled lists. Networks are kept per family in one hash table per
 * distinct prefix length, longest first, keyed by the masked address, so the
 * first table that holds the client's masked address gives its most
 * specific network whatever the number of rules. Each entry carries which
 * lists hold it, so a rule given in both lists is one entry with both bits:
 * that is the exact tie. Host and domain names are sorted arrays searched by
 * bisection. Everything is allocated here and never after, so a check
 * cannot fail.
 *
 * The reasons written to why are stable, because they are logged and shown
 * to operators; RULE is the canonical text of access_format:
 *   "only_from RULE"      allowed: the most specific match is in only_from
 *   "no_access RULE"      denied: the most specific match is in no_access
 *   "only_from and no_access both match RULE"
 *                         denied: the same rule is in both lists
 *   "only_from and no_access both match RULE1 and RULE2"
 *                         denied: two rules of the same rank, only_from's
 *                         first (an exact address and a host name)
 *   "not in only_from"    denied: nothing matched and only_from is set
 *   "no rule"             allowed: nothing matched and only_from is not set
 *   "host name needed"    ACL_NEED_NAME: a host or domain rule could change
 *                         the decision
 */
#define ACL_ONLY 0x1u /* the rule is in only_from */
#define ACL_NO 0x2u   /* the rule is in no_access */

/* Ranks of a match: the higher one wins. A network that is not an exact
 * address ranks as its prefix length (0-127), below every domain. */
#define ACL_RANK_DOMAIN 200 /* plus the number of labels of the domain */
#define ACL_RANK_EXACT 1000 /* an exact address or a host name */

/* One network: the masked address as two big-endian words (IPv4 in the top
 * half of the first), and its lists; bits 0 marks an empty slot. */
struct acl_slot {
	uint64_t key[2];
	unsigned bits;
};

struct acl_table {
	struct acl_slot *slot;
	size_t mask; /* number of slots - 1, a power of two - 1 */
	unsigned prefix;
};

struct acl_family {
	struct acl_table *tab; /* longest prefix first */
	size_t ntab;
};

struct acl_name {
	char *name; /* lower case; a domain starts with a dot */
	unsigned bits;
	int rank;
};

struct acl {
	struct acl_family fam[2]; /* IPv4, IPv6 */
	struct acl_name *host;    /* sorted, distinct */
	size_t nhost;
	struct acl_name *domain; /* sorted, distinct */
	size_t ndomain;
	bool only_from_set;
	/* What a name rule could do to a numeric decision, so that acl_check
	 * asks for the name only when it can matter. */
	bool host_deny;  /* a host rule is in no_access */
	bool name_deny;  /* a host or domain rule is in no_access */
	bool name_allow; /* a host or domain rule is in only_from alone */
};

/* The best match found so far, and the rule of each list at that rank. */
struct acl_best {
	int rank; /* -1: nothing matched */
	unsigned bits;
	struct addr_rule only;
	struct addr_rule no;
};

static int
acl_family_index(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

static unsigned
acl_family_bits(int fi)
{
	return fi == 0 ? 32 : 128;
}

static uint64_t
acl_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Turns an address and prefix into the family index and the key of the
 * tables. A v4-mapped IPv6 address (or network of at least /96) is
 * de-mapped to IPv4 here, for rules and clients alike, so that no caller
 * can match a dual-stack client against the wrong family. Returns -1 for a
 * family the lists cannot hold.
 */
static int
acl_key(int family, const uint8_t *addr, unsigned *prefix, uint64_t key[2])
{
	int fi = acl_family_index(family);

	if (fi < 0)
		return -1;
	if (*prefix > acl_family_bits(fi))
		*prefix = acl_family_bits(fi);
	if (fi == 1 && *prefix >= 96 && memcmp(addr, acl_mapped, sizeof(acl_mapped)) == 0) {
		fi = 0;
		addr += 12;
		*prefix -= 96;
	}
	if (fi == 0) {
		key[0] = (uint64_t)addr[0] << 56 | (uint64_t)addr[1] << 48 |
		    (uint64_t)addr[2] << 40 | (uint64_t)addr[3] << 32;
		key[1] = 0;
	} else {
		key[0] = acl_be64(addr);
		key[1] = acl_be64(addr + 8);
	}
	return fi;
}

static void
acl_mask(const uint64_t in[2], unsigned prefix, uint64_t out[2])
{
	out[0] = prefix == 0 ? 0 : prefix >= 64 ? in[0] : in[0] & ~UINT64_C(0) << (64 - prefix);
	out[1] = prefix <= 64 ? 0 : in[1] & ~UINT64_C(0) << (128 - prefix);
}

/* A rule for access_format from a table entry. */
static void
acl_net_rule(int fi, const uint64_t key[2], unsigned prefix, struct addr_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = AR_NET;
	r->family = fi == 0 ? AF_INET : AF_INET6;
	r->prefix = (uint8_t)prefix;
	for (int i = 0; i < 16; i++)
		r->addr[i] = (uint8_t)(key[i / 8] >> (56 - 8 * (i % 8)));
}

/* The finalizer of MurmurHash3: every input bit affects every output bit. */
static uint64_t
acl_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static size_t
acl_hash(const uint64_t key[2])
{
	return (size_t)acl_mix(key[0] ^ acl_mix(key[1] + UINT64_C(0x9e3779b97f4a7c15)));
}

/* The slot holding key, or the empty slot where it belongs. Linear probing
 * ends because a table is never more than half full. */
static struct acl_slot *
acl_probe(const struct acl_table *t, const uint64_t key[2])
{
	for (size_t i = acl_hash(key) & t->mask;; i = (i + 1) & t->mask) {
		struct acl_slot *s = &t->slot[i];

		if (s->bits == 0 || (s->key[0] == key[0] && s->key[1] == key[1]))
			return s;
	}
}

static int
acl_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct acl_name *)a)->name, ((const struct acl_name *)b)->name);
}

/* Sorts names and merges the bits of equal ones. Returns the new count. */
static size_t
acl_names_sort(struct acl_name *v, size_t n)
{
	size_t j = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), acl_name_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[j].name) == 0) {
			v[j].bits |= v[i].bits;
			free(v[i].name);
		} else
			v[++j] = v[i];
	}
	return j + 1;
}

static void
acl_name_add(struct acl_name *v, size_t *n, const char *name, unsigned bits, int rank)
{
	struct acl_name *e = &v[(*n)++];

	e->name = mem_strdup(name);
	for (char *p = e->name; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	e->bits = bits;
	e->rank = rank;
}

static int
acl_domain_rank(const char *name)
{
	int labels = 0;

	for (const char *p = name; *p != '\0'; p++)
		if (*p == '.')
			labels++;
	return ACL_RANK_DOMAIN + labels;
}

struct acl *
acl_compile(const struct addrlist *only_from, bool only_from_set, const struct addrlist *no_access)
{
	const struct addrlist *lists[2] = { only_from, no_access };
	static const unsigned listbit[2] = { ACL_ONLY, ACL_NO };
	size_t count[2][129], nhost = 0, ndomain = 0;
	int tabidx[2][129];
	struct acl *acl = mem_calloc(1, sizeof(*acl));

	acl->only_from_set = only_from_set;
	memset(count, 0, sizeof(count));

	/* Count first so that every table is sized once. */
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; lists[l] != NULL && i < lists[l]->n; i++) {
			const struct addr_rule *r = &lists[l]->v[i];
			unsigned prefix = r->prefix;
			uint64_t key[2];
			int fi;

			if (r->kind == AR_HOST && r->name != NULL)
				nhost++;
			else if (r->kind == AR_DOMAIN && r->name != NULL)
				ndomain++;
			else if (r->kind == AR_NET &&
			    (fi = acl_key(r->family, r->addr, &prefix, key)) >= 0)
				count[fi][prefix]++;
		}
	}
	for (int fi = 0; fi < 2; fi++) {
		struct acl_family *f = &acl->fam[fi];

		for (int p = 0; p <= 128; p++)
			f->ntab += count[fi][p] > 0;
		if (f->ntab > 0)
			f->tab = mem_calloc(f->ntab, sizeof(*f->tab));
		f->ntab = 0;
		for (int p = (int)acl_family_bits(fi); p >= 0; p--) {
			struct acl_table *t;
			size_t size = 4;

			tabidx[fi][p] = -1;
			if (count[fi][p] == 0)
				continue;
			while (size < 2 * count[fi][p])
				size *= 2;
			tabidx[fi][p] = (int)f->ntab;
			t = &f->tab[f->ntab++];
			t->slot = mem_calloc(size, sizeof(*t->slot));
			t->mask = size - 1;
			t->prefix = (unsigned)p;
		}
	}

	if (nhost > 0)
		acl->host = mem_calloc(nhost, sizeof(*acl->host));
	if (ndomain > 0)
		acl->domain = mem_calloc(ndomain, sizeof(*acl->domain));
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; lists[l] != NULL && i < lists[l]->n; i++) {
			const struct addr_rule *r = &lists[l]->v[i];
			unsigned prefix = r->prefix;
			uint64_t key[2], masked[2];
			struct acl_slot *s;
			int fi;

			if (r->kind == AR_HOST && r->name != NULL) {
				acl_name_add(acl->host, &acl->nhost, r->name, listbit[l],
				    ACL_RANK_EXACT);
			} else if (r->kind == AR_DOMAIN && r->name != NULL) {
				acl_name_add(acl->domain, &acl->ndomain, r->name, listbit[l],
				    acl_domain_rank(r->name));
			} else if (r->kind == AR_NET &&
			    (fi = acl_key(r->family, r->addr, &prefix, key)) >= 0) {
				acl_mask(key, prefix, masked);
				s = acl_probe(&acl->fam[fi].tab[tabidx[fi][prefix]], masked);
				s->key[0] = masked[0];
				s->key[1] = masked[1];
				s->bits |= listbit[l];
			}
		}
	}
	acl->nhost = acl_names_sort(acl->host, acl->nhost);
	acl->ndomain = acl_names_sort(acl->domain, acl->ndomain);
	for (size_t i = 0; i < acl->nhost; i++) {
		acl->host_deny |= (acl->host[i].bits & ACL_NO) != 0;
		acl->name_allow |= acl->host[i].bits == ACL_ONLY;
	}
	acl->name_deny = acl->host_deny;
	for (size_t i = 0; i < acl->ndomain; i++) {
		acl->name_deny |= (acl->domain[i].bits & ACL_NO) != 0;
		acl->name_allow |= acl->domain[i].bits == ACL_ONLY;
	}
	return acl;
}

void
acl_free(struct acl *acl)
{
	if (acl == NULL)
		return;
	for (int fi = 0; fi < 2; fi++) {
		for (size_t i = 0; i < acl->fam[fi].ntab; i++)
			free(acl->fam[fi].tab[i].slot);
		free(acl->fam[fi].tab);
	}
	for (size_t i = 0; i < acl->nhost; i++)
		free(acl->host[i].name);
	for (size_t i = 0; i < acl->ndomain; i++)
		free(acl->domain[i].name);
	free(acl->host);
	free(acl->domain);
	free(acl);
}

bool
acl_has_names(const struct acl *acl)
{
	return acl->nhost > 0 || acl->ndomain > 0;
}

/* Records a match; at an equal rank the lists add up, which makes a tie. */
static void
acl_offer(struct acl_best *b, int rank, unsigned bits, const struct addr_rule *r)
{
	if (rank < b->rank)
		return;
	if (rank > b->rank) {
		b->rank = rank;
		b->bits = 0;
	}
	if ((bits & ACL_ONLY) != 0 && (b->bits & ACL_ONLY) == 0)
		b->only = *r;
	if ((bits & ACL_NO) != 0 && (b->bits & ACL_NO) == 0)
		b->no = *r;
	b->bits |= bits;
}

/* The most specific network holding the address. */
static void
acl_match_net(const struct acl *acl, int family, const uint8_t *addr, struct acl_best *b)
{
	unsigned full = 128;
	uint64_t key[2], masked[2];
	const struct acl_family *f;
	int fi;

	b->rank = -1;
	b->bits = 0;
	if ((fi = acl_key(family, addr, &full, key)) < 0)
		return;
	f = &acl->fam[fi];
	for (size_t i = 0; i < f->ntab; i++) {
		const struct acl_table *t = &f->tab[i];
		const struct acl_slot *s;
		struct addr_rule r;

		acl_mask(key, t->prefix, masked);
		s = acl_probe(t, masked);
		if (s->bits == 0)
			continue;
		acl_net_rule(fi, masked, t->prefix, &r);
		acl_offer(b, t->prefix == full ? ACL_RANK_EXACT : (int)t->prefix, s->bits, &r);
		return;
	}
}

static const struct acl_name *
acl_name_find(const struct acl_name *v, size_t n, const char *name)
{
	struct acl_name key = { .name = (char *)name };

	if (n == 0)
		return NULL;
	return bsearch(&key, v, n, sizeof(*v), acl_name_cmp);
}

/*
 * Adds the host and domain rules that match name. The name is compared in
 * lower case without a trailing dot; a domain ".example.com" matches names
 * below it ("www.example.com"), not "example.com" itself, and the domain
 * with the most labels is the one that counts.
 */
static void
acl_match_name(const struct acl *acl, const char *name, struct acl_best *b)
{
	char low[256];
	const struct acl_name *e;
	struct addr_rule r;
	size_t len;

	if (name == NULL || (len = strlen(name)) == 0 || len >= sizeof(low))
		return;
	for (size_t i = 0; i < len; i++)
		low[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	if (low[len - 1] == '.')
		len--;
	low[len] = '\0';
	if (len == 0)
		return;

	memset(&r, 0, sizeof(r));
	if ((e = acl_name_find(acl->host, acl->nhost, low)) != NULL) {
		r.kind = AR_HOST;
		r.name = e->name;
		acl_offer(b, e->rank, e->bits, &r);
	}
	for (const char *p = strchr(low + 1, '.'); p != NULL; p = strchr(p + 1, '.')) {
		if ((e = acl_name_find(acl->domain, acl->ndomain, p)) != NULL) {
			r.kind = AR_DOMAIN;
			r.name = e->name;
			acl_offer(b, e->rank, e->bits, &r);
			break;
		}
	}
}

static void acl_why(char *why, size_t whylen, const char *fmt, ...) PRINTF(3, 4);

static void
acl_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static bool
acl_allows(const struct acl *acl, const struct acl_best *b)
{
	return b->rank < 0 ? !acl->only_from_set : b->bits == ACL_ONLY;
}

static enum acl_verdict
acl_decide(const struct acl *acl, const struct acl_best *b, char *why, size_t whylen)
{
	char one[300], two[300];

	if (b->rank < 0) {
		acl_why(why, whylen, "%s", acl->only_from_set ? "not in only_from" : "no rule");
		return acl->only_from_set ? ACL_DENY : ACL_ALLOW;
	}
	if (b->bits == ACL_ONLY) {
		access_format(&b->only, one, sizeof(one));
		acl_why(why, whylen, "only_from %s", one);
		return ACL_ALLOW;
	}
	if (b->bits == ACL_NO) {
		access_format(&b->no, one, sizeof(one));
		acl_why(why, whylen, "no_access %s", one);
		return ACL_DENY;
	}
	access_format(&b->only, one, sizeof(one));
	access_format(&b->no, two, sizeof(two));
	if (b->only.kind == b->no.kind && strcmp(one, two) == 0)
		acl_why(why, whylen, "only_from and no_access both match %s", one);
	else
		acl_why(why, whylen, "only_from and no_access both match %s and %s", one, two);
	return ACL_DENY;
}

/*
 * A name rule always outranks a network that is not an exact address, so
 * the name is needed when some name rule would turn the numeric decision
 * around. An exact address is outranked by nothing, but ties with a host
 * name: the name is needed only when that tie could deny an allowed client.
 */
enum acl_verdict
acl_check(const struct acl *acl, int family, const uint8_t *addr, char *why, size_t whylen)
{
	struct acl_best b;
	bool allow, need;

	acl_match_net(acl, family, addr, &b);
	allow = acl_allows(acl, &b);
	if (b.rank == ACL_RANK_EXACT)
		need = allow && acl->host_deny;
	else
		need = allow ? acl->name_deny : acl->name_allow;
	if (need) {
		acl_why(why, whylen, "host name needed");
		return ACL_NEED_NAME;
	}
	return acl_decide(acl, &b, why, whylen);
}

enum acl_verdict
acl_check_name(const struct acl *acl, int family, const uint8_t *addr, const char *name, char *why,
    size_t whylen)
{
	struct acl_best b;

	acl_match_net(acl, family, addr, &b);
	acl_match_name(acl, name, &b);
	return acl_decide(acl, &b, why, whylen);
}
