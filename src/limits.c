/*
 * limits.c: the per-source counters, rate buckets and the SENSOR deny list
 * behind the limit checks, as pure functions: the caller passes the clock
 * and the address. Every table is sized once when it is made and never
 * grows, so a flood of distinct sources costs time, not memory.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

/* The most entries a table takes; a larger request is cut to this. */
#define LIMITS_MAX_ENTRIES (1u << 24)

/* One token in the rate buckets' fixed-point unit. */
#define LIMITS_TOKEN 1000u

/* per_source_cps takes at most this rate, which keeps now * rate inside 64
 * bits for 584 years of uptime. conf_parse.c allows no more. */
#define SRCRATE_RATE_MAX 1000000u

/* The first twelve bytes of an IPv4-mapped IPv6 address, ::ffff:a.b.c.d. */
static const uint8_t limits_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/*
 * One entry of a table. val is the count (srccount), the virtual time at
 * which the bucket is full again (srcrate) or the expiry (sensor); the two
 * timed tables keep a min-heap on it so the entry to drop is always at the
 * top.
 */
struct limits_ent {
	struct srckey key;
	uint32_t hpos; /* place in the heap; timed tables only */
	uint64_t val;
};

/*
 * The table all three share: the entries sit densely in ent[0..n), and an
 * open-addressing index with linear probing maps a key to its entry. The
 * index has at least twice as many slots as entries, so a probe always
 * ends at an empty slot, and deletion shifts the rest of the run back
 * instead of leaving tombstones, so probes stay short however many keys
 * come and go.
 */
struct limits_tab {
	uint32_t *slot; /* entry number + 1; 0 = empty */
	size_t mask;    /* slots - 1 */
	uint64_t seed;
	struct limits_ent *ent;
	size_t n;
	size_t max;
	uint32_t *heap; /* entry numbers, smallest val first; NULL if untimed */
};

struct srccount {
	struct limits_tab tab;
};

struct srcrate {
	struct limits_tab tab;
	uint64_t rate; /* tokens per second = millitokens per millisecond */
	uint64_t cap;  /* burst in millitokens */
};

struct sensor {
	struct limits_tab tab;
};

/* ------------------------------------------------------------- keys */

void
limits_srckey(struct srckey *key, int family, const uint8_t *addr, int prefix4, int prefix6)
{
	size_t len = 0;
	int prefix = 0;

	memset(key, 0, sizeof(*key));
	if (family == AF_INET6 && memcmp(addr, limits_mapped, sizeof(limits_mapped)) == 0) {
		family = AF_INET;
		addr += sizeof(limits_mapped);
	}
	key->family = (uint8_t)family;
	if (family == AF_INET) {
		len = 4;
		prefix = prefix4;
	} else if (family == AF_INET6) {
		len = 16;
		prefix = prefix6;
	} else if (family == AF_UNIX) {
		/* A Unix client's uid: per_source counts per user. */
		memcpy(key->addr, addr, sizeof(uint32_t));
		return;
	} else {
		return;
	}
	if (prefix < 0)
		prefix = 0;
	if ((size_t)prefix > len * 8)
		prefix = (int)(len * 8);
	memcpy(key->addr, addr, (size_t)prefix / 8);
	if (prefix % 8 != 0)
		key->addr[prefix / 8] = addr[prefix / 8] & (uint8_t)(0xff << (8 - prefix % 8));
}

static bool
limits_key_eq(const struct srckey *a, const struct srckey *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* The finalizer of MurmurHash3: every input bit reaches every output bit. */
static uint64_t
limits_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static size_t
limits_home(const struct limits_tab *t, const struct srckey *key)
{
	uint64_t a, b;

	memcpy(&a, key->addr, sizeof(a));
	memcpy(&b, key->addr + 8, sizeof(b));
	return (size_t)limits_mix(limits_mix(t->seed ^ key->family ^ a) ^ b) & t->mask;
}

/* --------------------------------------------------------- the table */

/*
 * The hash seed comes from where the index was allocated: address space
 * randomisation makes it differ from run to run, so a client who picks its
 * addresses (an IPv6 /64 gives plenty) cannot aim them all at one run of
 * slots, and it costs no system call. Results never depend on it, only the
 * probe lengths do.
 */
static void
limits_tab_init(struct limits_tab *t, size_t max, bool timed)
{
	size_t slots = 2;

	if (max > LIMITS_MAX_ENTRIES)
		max = LIMITS_MAX_ENTRIES;
	while (slots < 2 * max)
		slots *= 2;
	t->slot = mem_calloc(slots, sizeof(*t->slot));
	t->mask = slots - 1;
	t->seed = limits_mix((uint64_t)(uintptr_t)t->slot ^ 0x9e3779b97f4a7c15ULL);
	t->ent = mem_calloc(max, sizeof(*t->ent));
	t->n = 0;
	t->max = max;
	t->heap = timed ? mem_calloc(max, sizeof(*t->heap)) : NULL;
}

static void
limits_tab_clear(struct limits_tab *t)
{
	free(t->slot);
	free(t->ent);
	free(t->heap);
}

/* The slot that holds key, or SIZE_MAX. */
static size_t
limits_find(const struct limits_tab *t, const struct srckey *key)
{
	for (size_t i = limits_home(t, key);; i = (i + 1) & t->mask) {
		if (t->slot[i] == 0)
			return SIZE_MAX;
		if (limits_key_eq(&t->ent[t->slot[i] - 1].key, key))
			return i;
	}
}

static void
limits_heap_set(struct limits_tab *t, size_t pos, uint32_t e)
{
	t->heap[pos] = e;
	t->ent[e].hpos = (uint32_t)pos;
}

/* Restores the heap order around pos after the entry there changed val;
 * the heap holds the first n entries' numbers. */
static void
limits_heap_fix(struct limits_tab *t, size_t pos)
{
	uint32_t e = t->heap[pos];
	uint64_t v = t->ent[e].val;

	while (pos > 0 && t->ent[t->heap[(pos - 1) / 2]].val > v) {
		limits_heap_set(t, pos, t->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	for (;;) {
		size_t c = 2 * pos + 1;

		if (c >= t->n)
			break;
		if (c + 1 < t->n && t->ent[t->heap[c + 1]].val < t->ent[t->heap[c]].val)
			c++;
		if (t->ent[t->heap[c]].val >= v)
			break;
		limits_heap_set(t, pos, t->heap[c]);
		pos = c;
	}
	limits_heap_set(t, pos, e);
}

/* Adds key, which must be absent, with val; the table must have room. */
static void
limits_insert(struct limits_tab *t, const struct srckey *key, uint64_t val)
{
	uint32_t e = (uint32_t)t->n;
	size_t i = limits_home(t, key);

	while (t->slot[i] != 0)
		i = (i + 1) & t->mask;
	t->slot[i] = e + 1;
	t->ent[e].key = *key;
	t->ent[e].val = val;
	t->n++;
	if (t->heap != NULL) {
		limits_heap_set(t, e, e);
		limits_heap_fix(t, e);
	}
}

/*
 * Empties slot i and moves back the entries after it in the same run that
 * may live closer to home, so no lookup ever crosses a hole it should not.
 * An entry at j whose home h lies cyclically in (i, j] must stay.
 */
static void
limits_unslot(struct limits_tab *t, size_t i)
{
	size_t j = i;

	t->slot[i] = 0;
	for (;;) {
		size_t h;

		j = (j + 1) & t->mask;
		if (t->slot[j] == 0)
			return;
		h = limits_home(t, &t->ent[t->slot[j] - 1].key);
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		t->slot[i] = t->slot[j];
		t->slot[j] = 0;
		i = j;
	}
}

/* Removes the entry in slot i; the last entry moves into its place. */
static void
limits_remove(struct limits_tab *t, size_t i)
{
	uint32_t e = t->slot[i] - 1;
	uint32_t last;

	limits_unslot(t, i);
	last = (uint32_t)--t->n;
	if (t->heap != NULL && t->ent[e].hpos < t->n) {
		size_t pos = t->ent[e].hpos;

		limits_heap_set(t, pos, t->heap[t->n]);
		limits_heap_fix(t, pos);
	}
	if (e != last) {
		size_t j = limits_find(t, &t->ent[last].key);

		t->ent[e] = t->ent[last];
		t->slot[j] = e + 1;
		if (t->heap != NULL)
			t->heap[t->ent[e].hpos] = e;
	}
}

/* Removes the entry at the top of the heap (the smallest val). */
static void
limits_remove_top(struct limits_tab *t)
{
	limits_remove(t, limits_find(t, &t->ent[t->heap[0]].key));
}

/* ---------------------------------------------------------- srccount */

struct srccount *
limits_count_new(size_t max_sources)
{
	struct srccount *sc = mem_calloc(1, sizeof(*sc));

	limits_tab_init(&sc->tab, max_sources, false);
	return sc;
}

struct srccount *
limits_count_grow(struct srccount *sc, size_t max_sources)
{
	struct srccount *bigger;

	if (sc == NULL)
		return limits_count_new(max_sources);
	if (max_sources > LIMITS_MAX_ENTRIES)
		max_sources = LIMITS_MAX_ENTRIES;
	if (max_sources <= sc->tab.max)
		return sc;
	bigger = limits_count_new(max_sources);
	for (size_t i = 0; i < sc->tab.n; i++)
		limits_insert(&bigger->tab, &sc->tab.ent[i].key, sc->tab.ent[i].val);
	limits_count_free(sc);
	return bigger;
}

void
limits_count_free(struct srccount *sc)
{
	if (sc == NULL)
		return;
	limits_tab_clear(&sc->tab);
	free(sc);
}

unsigned
limits_count_get(const struct srccount *sc, const struct srckey *key)
{
	size_t i = limits_find(&sc->tab, key);

	return i == SIZE_MAX ? 0 : (unsigned)sc->tab.ent[sc->tab.slot[i] - 1].val;
}

bool
limits_count_inc(struct srccount *sc, const struct srckey *key)
{
	size_t i = limits_find(&sc->tab, key);
	struct limits_ent *e;

	if (i == SIZE_MAX) {
		if (sc->tab.n == sc->tab.max)
			return false;
		limits_insert(&sc->tab, key, 1);
		return true;
	}
	e = &sc->tab.ent[sc->tab.slot[i] - 1];
	if (e->val == UINT_MAX)
		return false;
	e->val++;
	return true;
}

void
limits_count_dec(struct srccount *sc, const struct srckey *key)
{
	size_t i = limits_find(&sc->tab, key);

	if (i == SIZE_MAX)
		return;
	if (--sc->tab.ent[sc->tab.slot[i] - 1].val == 0)
		limits_remove(&sc->tab, i);
}

/* ------------------------------------------------------------------ cps */

/*
 * xinetd averaged the count over a window `rate` seconds long (section 6.3
 * of the notes), so with cps = 50 10 a client quiet for 40 s after the
 * window opened could then put 2000 connections through in one second.
 * porter counts in windows of one second, which is what "connections per
 * second" says. A clock that went back starts a new window, not a wrap.
 */
unsigned
limits_cps_count(const struct cps_state *st, uint64_t now)
{
	if (now < st->window || now - st->window >= 1000)
		return 0;
	return st->count;
}

bool
limits_cps(struct cps_state *st, unsigned rate, uint64_t now)
{
	if (now < st->window || now - st->window >= 1000) {
		st->window = now;
		st->count = 0;
	}
	if (st->count < UINT_MAX)
		st->count++;
	return st->count > rate;
}

/* ----------------------------------------------------------- srcrate */

/*
 * The buckets are kept in the form of the generic cell rate algorithm.
 * Time is counted in millitokens of refill, vt = now (ms) * rate
 * (tokens/s), and an entry stores the vt at which its bucket will be full
 * again; its level at now is cap - (full - vt), or cap once vt has passed
 * full. All arithmetic is in integers, so nothing drifts. Because every
 * bucket refills at the same rate, the order of two entries by level never
 * changes as time passes: the fullest bucket is the one with the smallest
 * full time, and a min-heap on it finds it in O(1) and keeps it in
 * O(log n) per take. That is the entry evicted when a new source finds the
 * table full: an exact choice, not a sampled or LRU approximation (a
 * source idle for long but drained hard before is less full than one used
 * lightly a moment ago), and never a scan. An entry whose bucket is full
 * is the same as an absent one, so the heap drops those first and loses
 * nothing.
 */
struct srcrate *
limits_rate_new(size_t max_sources, unsigned rate, unsigned burst)
{
	struct srcrate *sr = mem_calloc(1, sizeof(*sr));

	limits_tab_init(&sr->tab, max_sources, true);
	sr->rate = rate < SRCRATE_RATE_MAX ? rate : SRCRATE_RATE_MAX;
	sr->cap = (uint64_t)burst * LIMITS_TOKEN;
	return sr;
}

void
limits_rate_free(struct srcrate *sr)
{
	if (sr == NULL)
		return;
	limits_tab_clear(&sr->tab);
	free(sr);
}

/* Now in the virtual time of the buckets, bounded so it cannot wrap. */
static uint64_t
rate_vt(const struct srcrate *sr, uint64_t now)
{
	uint64_t limit = UINT64_MAX - sr->cap - LIMITS_TOKEN;

	return sr->rate != 0 && now > limit / sr->rate ? limit : now * sr->rate;
}

bool
limits_rate_peek(const struct srcrate *sr, const struct srckey *key, uint64_t now)
{
	uint64_t vt, full;
	size_t i;

	if (sr->cap < LIMITS_TOKEN)
		return false;
	vt = rate_vt(sr, now);
	if ((i = limits_find(&sr->tab, key)) == SIZE_MAX)
		return true;
	full = sr->tab.ent[sr->tab.slot[i] - 1].val;
	full = (full > vt ? full : vt) + LIMITS_TOKEN;
	return full <= vt + sr->cap;
}

bool
limits_rate_take(struct srcrate *sr, const struct srckey *key, uint64_t now)
{
	uint64_t vt;
	struct limits_ent *e;
	size_t i;

	if (!limits_rate_peek(sr, key, now))
		return false;
	vt = rate_vt(sr, now);
	i = limits_find(&sr->tab, key);
	if (i == SIZE_MAX) {
		if (sr->tab.max == 0)
			return true; /* no room to remember: every source is new */
		if (sr->tab.n == sr->tab.max)
			limits_remove_top(&sr->tab);
		limits_insert(&sr->tab, key, vt + LIMITS_TOKEN);
		return true;
	}
	e = &sr->tab.ent[sr->tab.slot[i] - 1];
	e->val = (e->val > vt ? e->val : vt) + LIMITS_TOKEN;
	limits_heap_fix(&sr->tab, e->hpos);
	return true;
}

/* ------------------------------------------------------------ sensor */

/* The deny list keys a client by its whole address. */
static void
sensor_key(struct srckey *key, int family, const uint8_t *addr)
{
	limits_srckey(key, family, addr, 32, 128);
}

struct sensor *
limits_sensor_new(size_t max)
{
	struct sensor *s = mem_calloc(1, sizeof(*s));

	limits_tab_init(&s->tab, max, true);
	return s;
}

void
limits_sensor_free(struct sensor *s)
{
	if (s == NULL)
		return;
	limits_tab_clear(&s->tab);
	free(s);
}

/*
 * A full list gives up the entry that expires first, so the list always
 * holds the latest expiries; a new entry that would expire before all of
 * them is dropped instead.
 */
void
limits_sensor_add(struct sensor *s, int family, const uint8_t *addr, uint64_t until)
{
	struct limits_tab *t = &s->tab;
	struct srckey key;
	struct limits_ent *e;
	size_t i;

	sensor_key(&key, family, addr);
	i = limits_find(t, &key);
	if (i != SIZE_MAX) {
		e = &t->ent[t->slot[i] - 1];
		if (until > e->val) {
			e->val = until;
			limits_heap_fix(t, e->hpos);
		}
		return;
	}
	if (t->max == 0)
		return;
	if (t->n == t->max) {
		if (until < t->ent[t->heap[0]].val)
			return;
		limits_remove_top(t);
	}
	limits_insert(t, &key, until);
}

bool
limits_sensor_denied(const struct sensor *s, int family, const uint8_t *addr, uint64_t now)
{
	struct srckey key;
	size_t i;

	/* An expired entry is left for limits_sensor_add or _expire to drop,
	 * so that asking changes nothing. */
	sensor_key(&key, family, addr);
	i = limits_find(&s->tab, &key);
	return i != SIZE_MAX && s->tab.ent[s->tab.slot[i] - 1].val > now;
}

size_t
limits_sensor_expire(struct sensor *s, uint64_t now)
{
	while (s->tab.n > 0 && s->tab.ent[s->tab.heap[0]].val <= now)
		limits_remove_top(&s->tab);
	return s->tab.n;
}

/* ------------------------------------------------------------- loadavg */

/*
 * Reads the first field of /proc/loadavg by hand rather than with strtod,
 * which follows the locale's decimal point and takes "nan", "inf", hex and
 * exponents. Both halves stay below 2^53, so the one division rounds
 * correctly, as strtod would.
 */
double
limits_parse_loadavg(const char *text)
{
	uint64_t whole = 0, scale = 1;
	int digits = 0;
	const char *p = text;

	if (p == NULL)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		whole = whole * 10 + (uint64_t)(*p - '0');
	if (p == text)
		return -1;
	if (*p == '.') {
		const char *frac = ++p;

		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			whole = whole * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
		if (p == frac)
			return -1;
	}
	if (digits > 15 || (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n'))
		return -1;
	return (double)whole / (double)scale;
}
