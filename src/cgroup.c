/*
 * cgroup.c: per-connection cgroups for spawned servers (memory_max,
 * pids_max, cpu_max). The parent finds what the host offers, makes the
 * connection's cgroup and writes its limits before the fork; the spawn
 * child only writes "0" into cgroup.procs files whose paths are ready.
 * When the server exits, whatever is left in its cgroup is killed and the
 * directory removed, from a timer when the kernel is not done yet.
 *
 * A connection's cgroup is <porterd's cgroup>/porter/<service>/<n>: the
 * service's directory is the parent of all its servers' cgroups and holds
 * the service-wide limits (service_memory_max, service_pids_max). It is
 * made with the first connection, given its limits then, rewritten in
 * place by each load, and removed with the last connection's cgroup.
 *
 * cgroup v1 (a hierarchy per controller) is what the test machines run.
 * The v2 code follows the kernel's documented interface (cgroup-v2.rst) but
 * is untested here; it is kept to the functions marked "v2".
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "porterd.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG2_MAGIC 0x63677270 /* CGROUP2_SUPER_MAGIC */
#define CG_V2_LEAF "porterd" /* v2: porterd's own process leaves its cgroup for this */
#define CG_KILL_ROUNDS 16    /* reads of cgroup.procs per attempt to empty it */
#define CG_RETRY_MS 200
#define CG_RETRIES 150 /* 30 s of retries, then the directory is left */

static const char *const ctl_names[CG_NCTL] = { "memory", "pids", "cpu" };
static const enum attr_id ctl_attr[CG_NCTL] = { A_MEMORY_MAX, A_PIDS_MAX, A_CPU_MAX };
static const int ctl_service_attr[CG_NCTL] = { A_SERVICE_MEMORY_MAX, A_SERVICE_PIDS_MAX, -1 };

const char *
cgroup_ctl_name(enum cgroup_ctl c)
{
	return ctl_names[c];
}

enum attr_id
cgroup_ctl_attr(enum cgroup_ctl c)
{
	return ctl_attr[c];
}

int
cgroup_attr_ctl(enum attr_id a)
{
	for (int c = 0; c < CG_NCTL; c++)
		if (ctl_attr[c] == a || ctl_service_attr[c] == (int)a)
			return c;
	return -1;
}

/* ------------------------------------------------------------ files */

/* Reads a small file into buf, NUL-terminated; -1 on failure. */
static ssize_t
cg_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static int
cg_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), e;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, v, strlen(v));
	e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(v) ? 0 : -1;
}

/* The number after "key " on a line of a flat-keyed file (memory.events,
 * pids.events, memory.oom_control); false when there is no such line. */
static bool
cg_read_key(const char *path, const char *key, unsigned long long *out)
{
	char buf[1024];
	size_t k = strlen(key);

	if (cg_read(path, buf, sizeof(buf)) < 0)
		return false;
	for (char *l = buf; l != NULL && *l != '\0'; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (strncmp(l, key, k) == 0 && l[k] == ' ') {
			*out = strtoull(l + k + 1, NULL, 10);
			return true;
		}
	return false;
}

static bool
cg_has_word(const char *list, const char *w)
{
	size_t k = strlen(w);

	for (const char *p = list; (p = strstr(p, w)) != NULL; p += k)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (p[k] == '\0' || p[k] == ' ' || p[k] == ',' || p[k] == '\n'))
			return true;
	return false;
}

/* ------------------------------------------------------------ probe */

static void
cg_usable(struct cgroup_host *h, enum cgroup_ctl c)
{
	char dir[CG_PATH];

	if (access(h->dir[c], W_OK) != 0) {
		const char *e = strerror(errno);

		memcpy(dir, h->dir[c], sizeof(dir));
		snprintf(h->why[c], sizeof(h->why[c]), "cannot write %s: %s", dir, e);
		return;
	}
	h->usable[c] = true;
}

/* v1: each controller's mount point from mountinfo, and porterd's path
 * in that hierarchy from /proc/self/cgroup. */
static void
cg_probe_v1(struct cgroup_host *h)
{
	char mnt[CG_NCTL][CG_PATH] = { { 0 } }, root[CG_NCTL][CG_PATH] = { { 0 } };
	char line[2048];
	FILE *fp;

	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char r[CG_PATH], m[CG_PATH], fstype[32], super[512];
		const char *dash = strstr(line, " - ");

		if (dash == NULL || sscanf(line, "%*s %*s %*s %511s %511s", r, m) != 2 ||
		    sscanf(dash, " - %31s %*s %511s", fstype, super) != 2 ||
		    strcmp(fstype, "cgroup") != 0)
			continue;
		for (int c = 0; c < CG_NCTL; c++)
			if (mnt[c][0] == '\0' && cg_has_word(super, ctl_names[c])) {
				snprintf(mnt[c], sizeof(mnt[c]), "%s", m);
				snprintf(root[c], sizeof(root[c]), "%s", r);
			}
	}
	fclose(fp);
	if ((fp = fopen("/proc/self/cgroup", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *ctls = strchr(line, ':'), *path;
		size_t k;

		if (ctls == NULL || (path = strchr(++ctls, ':')) == NULL)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		for (int c = 0; c < CG_NCTL; c++) {
			if (mnt[c][0] == '\0' || !cg_has_word(ctls, ctl_names[c]))
				continue;
			const char *below = path;
			size_t m = strlen(mnt[c]);

			/* A mount of a subtree shows paths below its root. */
			k = strlen(root[c]);
			if (strcmp(root[c], "/") != 0 && strncmp(below, root[c], k) == 0)
				below += k;
			if (strcmp(below, "/") == 0)
				below = "";
			h->version = 1;
			if (m + strlen(below) >= sizeof(h->dir[c]))
				continue; /* too deep: "no hierarchy" below */
			memcpy(h->dir[c], mnt[c], m);
			memcpy(h->dir[c] + m, below, strlen(below) + 1);
		}
	}
	fclose(fp);
	for (int c = 0; c < CG_NCTL; c++) {
		if (h->dir[c][0] == '\0')
			snprintf(h->why[c], sizeof(h->why[c]), "no %s cgroup hierarchy is mounted",
			    ctl_names[c]);
		else
			cg_usable(h, (enum cgroup_ctl)c);
	}
}

/* v2: one hierarchy; porterd's cgroup must offer the controllers
 * (cgroup.controllers), which under systemd takes Delegate=yes. Untested
 * here. */
static void
cg_probe_v2(struct cgroup_host *h)
{
	char line[2048], avail[512], path[CG_PATH] = "";
	size_t k, leaf = strlen("/" CG_V2_LEAF);
	FILE *fp;

	h->version = 2;
	if ((fp = fopen("/proc/self/cgroup", "re")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL)
			if (strncmp(line, "0::", 3) == 0) {
				line[strcspn(line, "\n")] = '\0';
				if (strlen(line + 3) < sizeof(path))
					memcpy(path, line + 3, strlen(line + 3) + 1);
			}
		fclose(fp);
	}
	/* Once porterd has moved into its leaf, its cgroup is the parent. */
	k = strlen(path);
	if (k > leaf && strcmp(path + k - leaf, "/" CG_V2_LEAF) == 0)
		path[k - leaf] = '\0';
	if (strcmp(path, "/") == 0)
		path[0] = '\0';
	snprintf(h->dir[0], sizeof(h->dir[0]), CG_ROOT "%s", path);
	snprintf(line, sizeof(line), "%s/cgroup.controllers", h->dir[0]);
	if (cg_read(line, avail, sizeof(avail)) < 0)
		avail[0] = '\0';
	for (int c = 0; c < CG_NCTL; c++) {
		if (c > 0)
			memcpy(h->dir[c], h->dir[0], sizeof(h->dir[c]));
		if (!cg_has_word(avail, ctl_names[c]))
			snprintf(h->why[c], sizeof(h->why[c]),
			    "%s is not in %s/cgroup.controllers (under systemd: Delegate=yes)",
			    ctl_names[c], h->dir[0]);
		else
			cg_usable(h, (enum cgroup_ctl)c);
	}
}

void
cgroup_probe(struct cgroup_host *h)
{
	struct statfs sf;
	char ctls[64];

	memset(h, 0, sizeof(*h));
	if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == CG2_MAGIC &&
	    cg_read(CG_ROOT "/cgroup.controllers", ctls, sizeof(ctls)) >= 0)
		cg_probe_v2(h);
	else
		cg_probe_v1(h);
	if (h->version == 0)
		for (int c = 0; c < CG_NCTL; c++)
			snprintf(h->why[c], sizeof(h->why[c]), "this host has no %s cgroup",
			    ctl_names[c]);
}

size_t
cgroup_describe(const struct cgroup_host *h, char *buf, size_t len)
{
	size_t n;

	if (h->version == 0)
		return (size_t)snprintf(buf, len, "none");
	n = (size_t)snprintf(buf, len, "v%d (", h->version);
	for (int c = 0; c < CG_NCTL && n < len; c++)
		if (h->usable[c])
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			    buf[n - 1] == '(' ? "" : " ", ctl_names[c]);
	if (n < len && buf[n - 1] == '(')
		n += (size_t)snprintf(buf + n, len - n, "none usable");
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, ")");
	return n;
}

/* ------------------------------------------------------------ the host in force */

static struct cgroup_host host;
static bool host_known;

/* v2: a cgroup with processes in it cannot hand controllers to children
 * (the no-internal-process rule), so porterd moves itself into a leaf
 * first. Untested here. */
static void
cg_v2_leaf(void)
{
	char path[CG_PATH + 32], num[24];

	snprintf(path, sizeof(path), "%s/" CG_V2_LEAF, host.dir[0]);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		log_warn("cgroups: %s", path);
		return;
	}
	snprintf(path, sizeof(path), "%s/" CG_V2_LEAF "/cgroup.procs", host.dir[0]);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	if (cg_write(path, num) != 0)
		log_warn("cgroups: %s", path);
}

void
cgroup_init(void)
{
	struct cgroup_host h;
	char desc[128];

	cgroup_probe(&h);
	if (host_known && h.version == host.version &&
	    memcmp(h.usable, host.usable, sizeof(h.usable)) == 0) {
		host = h;
		return;
	}
	host = h;
	host_known = true;
	cgroup_describe(&host, desc, sizeof(desc));
	log_info("cgroups: %s", desc);
	if (host.version == 2 && strcmp(host.dir[0], CG_ROOT) != 0)
		cg_v2_leaf();
}

/* ------------------------------------------------------------ a connection's cgroup */

struct cgroup_conn {
	int version;
	unsigned used;              /* 1 << enum cgroup_ctl: v1 hierarchies joined */
	unsigned own;               /* those with a per-connection limit */
	unsigned svc;               /* those with a service-wide limit */
	unsigned pids_max;          /* the per-connection one, to tell the two apart */
	unsigned gone;              /* those whose directory is removed */
	char dir[CG_NCTL][CG_PATH]; /* v2: dir[0] only */
	char procs[CG_NCTL][CG_PATH + 16];
	char svcdir[CG_NCTL][CG_PATH];
	unsigned retries;
	/* Kept for reuse (v1): whose it is and the limits it has, and the
	 * counts it had when it was kept, which the EXIT words start from. */
	char key[128];
	unsigned long long limits[5];
	unsigned long long base_oom_kill;
	unsigned long long base_pids_max;
	LIST_ENTRY(cgroup_conn) chain; /* waiting to be removed, or kept */
};

static LIST_HEAD(, cgroup_conn) pending = LIST_HEAD_INITIALIZER(pending);
static LIST_HEAD(, cgroup_conn) kept = LIST_HEAD_INITIALIZER(kept);
static unsigned nkept;
static struct timer retry_timer;
static unsigned long seq;

bool
cgroup_wanted(const struct service_config *s)
{
	return s->memory_max > 0 || s->pids_max > 0 || s->cpu_quota_us > 0 ||
	    s->service_memory_max > 0 || s->service_pids_max > 0;
}

/* The controllers s limits per connection (own) and service-wide (svc). */
static void
cg_wants(const struct service_config *s, unsigned *own, unsigned *svc)
{
	*own = (s->memory_max > 0 ? 1u << CG_MEMORY : 0) | (s->pids_max > 0 ? 1u << CG_PIDS : 0) |
	    (s->cpu_quota_us > 0 ? 1u << CG_CPU : 0);
	*svc = (s->service_memory_max > 0 ? 1u << CG_MEMORY : 0) |
	    (s->service_pids_max > 0 ? 1u << CG_PIDS : 0);
}

/* A service id as a directory name: no '/', no leading '.'. */
static void
cg_name(const char *id, char *out, size_t len)
{
	size_t i = 0;

	if (id[0] == '.' && len > 1)
		out[i++] = '_';
	for (; *id != '\0' && i + 1 < len; id++)
		out[i++] = isalnum((unsigned char)*id) || strchr("._-", *id) ? *id : '_';
	out[i] = '\0';
}

static int
cg_set(const struct cgroup_conn *g, int d, const char *file, const char *v)
{
	char path[CG_PATH + 32];

	snprintf(path, sizeof(path), "%s/%s", g->dir[d], file);
	if (cg_write(path, v) != 0) {
		log_warn("cgroups: %s = %s", path, v);
		return -1;
	}
	return 0;
}

/* memory.memsw.limit_in_bytes (v1) and memory.swap.max (v2) exist only
 * with swap accounting; without it there is nothing to close. */
static int
cg_set_if(const struct cgroup_conn *g, int d, const char *file, const char *v)
{
	char path[CG_PATH + 32];

	snprintf(path, sizeof(path), "%s/%s", g->dir[d], file);
	if (access(path, F_OK) != 0)
		return 0;
	return cg_set(g, d, file, v);
}

static int
cg_write_at(const char *dir, const char *file, const char *v)
{
	char path[CG_PATH + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return cg_write(path, v);
}

/* The service-wide limit of controller c in the service's directory, or
 * no limit when s sets none: a load that drops the attribute lifts it. */
static int
cg_service_limit(int version, enum cgroup_ctl c, const char *dir, const struct service_config *s)
{
	char v[24], swap[CG_PATH + 32];
	int rc = 0;

	if (c == CG_MEMORY && version == 2) {
		if (s->service_memory_max > 0)
			snprintf(v, sizeof(v), "%llu", (unsigned long long)s->service_memory_max);
		else
			snprintf(v, sizeof(v), "max");
		rc = cg_write_at(dir, "memory.max", v);
		snprintf(swap, sizeof(swap), "%s/memory.swap.max", dir);
		if (rc == 0 && access(swap, F_OK) == 0)
			rc = cg_write(swap, s->service_memory_max > 0 ? "0" : "max");
	} else if (c == CG_MEMORY) {
		snprintf(v, sizeof(v), "%lld",
		    s->service_memory_max > 0 ? (long long)s->service_memory_max : -1ll);
		snprintf(swap, sizeof(swap), "%s/memory.memsw.limit_in_bytes", dir);
		/* memsw may never be below the memory limit: raising one,
		 * memsw goes first, lowering, last. */
		rc = cg_write_at(dir, "memory.limit_in_bytes", v);
		if (rc != 0 && errno == EINVAL && access(swap, F_OK) == 0 && cg_write(swap, v) == 0)
			rc = cg_write_at(dir, "memory.limit_in_bytes", v);
		if (rc == 0 && access(swap, F_OK) == 0)
			rc = cg_write(swap, v);
	} else if (c == CG_PIDS) {
		if (s->service_pids_max > 0)
			snprintf(v, sizeof(v), "%u", s->service_pids_max);
		else
			snprintf(v, sizeof(v), "max");
		rc = cg_write_at(dir, "pids.max", v);
	}
	if (rc != 0)
		log_warn("%s: cgroups: %s: %s", s->id, dir,
		    conf_attr_name((enum attr_id)ctl_service_attr[c]));
	return rc;
}

/* A new service directory, before it has children: v1 memory counts
 * children in their parent only with use_hierarchy (always so since
 * Linux 5.x, where the file stays for compatibility). */
static int
cg_service_new(int version, enum cgroup_ctl c, const char *dir, const struct service_config *s)
{
	char path[CG_PATH + 32], v[8];

	if (version == 1 && c == CG_MEMORY) {
		snprintf(path, sizeof(path), "%s/memory.use_hierarchy", dir);
		if (cg_read(path, v, sizeof(v)) > 0 && v[0] == '0' && cg_write(path, "1") != 0) {
			log_warn("cgroups: %s = 1", path);
			return -1;
		}
	}
	if (ctl_service_attr[c] < 0)
		return 0;
	/* Nothing to lift in a new directory. */
	if (c == CG_MEMORY ? s->service_memory_max == 0 : s->service_pids_max == 0)
		return 0;
	return cg_service_limit(version, c, dir, s);
}

/* Makes the directory chain base/porter/<id>/<n>; v2 hands the
 * controllers down each level. A service directory made here gets the
 * service's limits before its first child. */
static int
cg_mkdirs(struct cgroup_conn *g, int d, const char *base, const char *id, const char *n,
    const struct service_config *s)
{
	char path[CG_PATH];
	const char *parts[3] = { "porter", id, n };
	size_t len;
	bool made;

	snprintf(path, sizeof(path), "%s", base);
	for (int i = 0; i < 3; i++) {
		if (g->version == 2) {
			char ctl[CG_PATH + 32], on[32] = "";

			for (int c = 0; c < CG_NCTL; c++)
				if (g->used & (1u << c))
					snprintf(on + strlen(on), sizeof(on) - strlen(on), "%s+%s",
					    on[0] != '\0' ? " " : "", ctl_names[c]);
			snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", path);
			if (cg_write(ctl, on) != 0) {
				log_warn("cgroups: %s = %s", ctl, on);
				return -1;
			}
		}
		len = strlen(path);
		if ((size_t)snprintf(path + len, sizeof(path) - len, "/%s", parts[i]) >=
		    sizeof(path) - len) {
			errno = ENAMETOOLONG;
			log_warn("cgroups: %s", base);
			return -1;
		}
		made = mkdir(path, 0755) == 0;
		if (!made && (errno != EEXIST || i == 2)) {
			if (errno != EEXIST)
				log_warn("cgroups: %s", path);
			return -1;
		}
		if (i == 1) {
			memcpy(g->svcdir[d], path, sizeof(g->svcdir[d]));
			if (!made)
				continue; /* it has its limits since it was made */
			for (int c = 0; c < CG_NCTL; c++)
				if ((g->version == 2 || c == d) && (g->used & (1u << c)) &&
				    cg_service_new(g->version, (enum cgroup_ctl)c, path, s) != 0) {
					rmdir(path);
					return -1;
				}
		}
	}
	memcpy(g->dir[d], path, sizeof(g->dir[d]));
	snprintf(g->procs[d], sizeof(g->procs[d]), "%s/cgroup.procs", path);
	return 0;
}

static int
cg_limits_v1(struct cgroup_conn *g, const struct service_config *s)
{
	char v[24];
	int rc = 0;

	if (g->own & (1u << CG_MEMORY)) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)s->memory_max);
		rc |= cg_set(g, CG_MEMORY, "memory.limit_in_bytes", v);
		/* Memory and swap together: swap does not dodge the limit. */
		rc |= cg_set_if(g, CG_MEMORY, "memory.memsw.limit_in_bytes", v);
	}
	if (g->own & (1u << CG_PIDS)) {
		snprintf(v, sizeof(v), "%u", s->pids_max);
		rc |= cg_set(g, CG_PIDS, "pids.max", v);
	}
	if (g->own & (1u << CG_CPU)) {
		snprintf(v, sizeof(v), "%u", s->cpu_period_us);
		rc |= cg_set(g, CG_CPU, "cpu.cfs_period_us", v);
		snprintf(v, sizeof(v), "%u", s->cpu_quota_us);
		rc |= cg_set(g, CG_CPU, "cpu.cfs_quota_us", v);
	}
	return rc;
}

/* v2, untested here. */
static int
cg_limits_v2(struct cgroup_conn *g, const struct service_config *s)
{
	char v[48];
	int rc = 0;

	if (g->own & (1u << CG_MEMORY)) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)s->memory_max);
		rc |= cg_set(g, 0, "memory.max", v);
		rc |= cg_set_if(g, 0, "memory.swap.max", "0");
	}
	if (g->own & (1u << CG_PIDS)) {
		snprintf(v, sizeof(v), "%u", s->pids_max);
		rc |= cg_set(g, 0, "pids.max", v);
	}
	if (g->own & (1u << CG_CPU)) {
		snprintf(v, sizeof(v), "%u %u", s->cpu_quota_us, s->cpu_period_us);
		rc |= cg_set(g, 0, "cpu.max", v);
	}
	return rc;
}

static bool cg_remove(struct cgroup_conn *);
static void cg_end_now(struct cgroup_conn *);
static unsigned long long cg_value(const struct cgroup_conn *, int d, const char *file,
    const char *key);

/* ------------------------------------------------------------ reuse */

/*
 * A connection's cgroup that is empty when the connection ends is kept
 * for the next connection of its service with the same limits: its
 * directories and limits stay, so that connection costs no mkdir, no limit
 * written and no rmdir in porterd's loop. The counts the EXIT words read
 * go on from where the last connection left them: failcnt is reset, the
 * others are remembered. Cgroup v1 only (v2 is untested here), and not
 * where both pids limits are set, which pids.peak tells apart and nothing
 * resets. A load drops what is kept.
 */
#define CG_KEPT_MAX 64     /* in all */
#define CG_KEPT_PER_SVC 16 /* for one service */

static void
cg_limits_of(const struct service_config *s, unsigned long long *l)
{
	l[0] = s->memory_max;
	l[1] = s->pids_max;
	l[2] = ((unsigned long long)s->cpu_quota_us << 32) | s->cpu_period_us;
	l[3] = s->service_memory_max;
	l[4] = s->service_pids_max;
}

/* A kept cgroup for s, ready; -1 when there is none. */
static int
cg_take_kept(struct cgroup_conn **out, const struct service_config *s, const char *id)
{
	unsigned long long l[5];
	struct cgroup_conn *k;

	cg_limits_of(s, l);
	LIST_FOREACH(k, &kept, chain)
	if (strcmp(k->key, id) == 0 && memcmp(k->limits, l, sizeof(l)) == 0) {
		LIST_REMOVE(k, chain);
		nkept--;
		free(*out);
		*out = k;
		return 0;
	}
	return -1;
}

/* Whether nothing is left in the connection's cgroups. */
static bool
cg_empty(const struct cgroup_conn *g)
{
	char buf[16];

	for (int d = 0; d < CG_NCTL; d++)
		if (g->procs[d][0] != '\0' && cg_read(g->procs[d], buf, sizeof(buf)) != 0)
			return false;
	return true;
}

/* Keeps g for reuse when it can be; false: it goes as before. */
static bool
cg_keep(struct cgroup_conn *g)
{
	const struct cgroup_conn *k;
	unsigned same = 0;
	char path[CG_PATH + 32];

	if (g->version != 1 || nkept >= CG_KEPT_MAX || g->gone != 0 ||
	    ((g->own & g->svc) & (1u << CG_PIDS)) || !cg_empty(g))
		return false;
	LIST_FOREACH(k, &kept, chain)
	same += strcmp(k->key, g->key) == 0;
	if (same >= CG_KEPT_PER_SVC)
		return false;
	if (g->used & (1u << CG_MEMORY)) {
		static const char *const reset[] = { "memory.failcnt", "memory.memsw.failcnt",
			"memory.max_usage_in_bytes" };

		for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", g->dir[CG_MEMORY], reset[i]);
			if (access(path, F_OK) == 0 && cg_write(path, "0") != 0)
				return false;
		}
		snprintf(path, sizeof(path), "%s/memory.oom_control", g->dir[CG_MEMORY]);
		if (!cg_read_key(path, "oom_kill", &g->base_oom_kill))
			g->base_oom_kill = 0;
	}
	if (g->used & (1u << CG_PIDS))
		g->base_pids_max = cg_value(g, CG_PIDS, "pids.events", "max");
	g->retries = 0;
	LIST_INSERT_HEAD(&kept, g, chain);
	nkept++;
	return true;
}

/* Removes what is kept: at a load, whose limits may have changed, and at
 * exit. */
static void
cg_drop_kept(void)
{
	while (!LIST_EMPTY(&kept)) {
		struct cgroup_conn *g = LIST_FIRST(&kept);

		LIST_REMOVE(g, chain);
		nkept--;
		cg_end_now(g);
	}
}

struct cgroup_conn *
cgroup_conn_new(const struct service_config *s)
{
	struct cgroup_conn *g;
	char id[128], n[32];
	int rc = 0;

	if (!host_known)
		cgroup_init();
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warn("%s: cgroup", s->id);
		return NULL;
	}
	g->version = host.version;
	cg_wants(s, &g->own, &g->svc);
	g->pids_max = s->pids_max;
	for (int c = 0; c < CG_NCTL; c++)
		if (((g->own | g->svc) & (1u << c)) && host.usable[c])
			g->used |= 1u << c;
	/* A controller only the service limits has a connection cgroup
	 * without limits of its own there: the server is counted in the
	 * service's and killed with the rest at the end. */
	g->own &= g->used;
	g->svc &= g->used;
	if (g->used == 0) {
		/* The check let it through, so the host changed since. */
		log_warnx("%s: cgroups: no controller for its limits is usable now", s->id);
		free(g);
		return NULL;
	}
	cg_name(s->id, id, sizeof(id));
	if ((rc = cg_take_kept(&g, s, id)) == 0)
		return g;
	/* A directory left by an earlier porterd is skipped, not reused. */
	for (int tries = 0; tries < 8; tries++) {
		snprintf(n, sizeof(n), "%lu", ++seq);
		memset(g->dir, 0, sizeof(g->dir));
		memset(g->procs, 0, sizeof(g->procs));
		g->gone = 0;
		rc = 0;
		for (int c = 0; c < CG_NCTL && rc == 0; c++) {
			if (!(g->used & (1u << c)))
				continue;
			if (g->version == 2) {
				rc = cg_mkdirs(g, 0, host.dir[0], id, n, s);
				break;
			}
			rc = cg_mkdirs(g, c, host.dir[c], id, n, s);
		}
		if (rc == 0 || errno != EEXIST)
			break;
		/* Whatever this attempt made goes. */
		cg_remove(g);
	}
	if (rc == 0)
		rc = g->version == 2 ? cg_limits_v2(g, s) : cg_limits_v1(g, s);
	if (rc != 0) {
		cg_remove(g);
		free(g);
		return NULL;
	}
	snprintf(g->key, sizeof(g->key), "%s", id);
	cg_limits_of(s, g->limits);
	return g;
}

/* The spawn child, before exec: only open, write, close. */
int
cgroup_conn_join(const struct cgroup_conn *g)
{
	for (int d = 0; d < CG_NCTL; d++) {
		int fd;

		if (g->procs[d][0] == '\0')
			continue;
		if ((fd = open(g->procs[d], O_WRONLY | O_CLOEXEC)) < 0)
			return -1;
		if (write(fd, "0", 1) != 1) {
			close(fd);
			return -1;
		}
		close(fd);
		if (g->version == 2)
			break;
	}
	return 0;
}

/* SIGKILL to every pid in a cgroup.procs file; how many were there. */
static int
cg_kill_procs(const char *path)
{
	char buf[4096];
	int n = 0;

	if (cg_read(path, buf, sizeof(buf)) <= 0)
		return 0;
	for (char *p = buf; *p != '\0';) {
		long pid = strtol(p, &p, 10);

		if (pid > 0) {
			kill((pid_t)pid, SIGKILL);
			n++;
		}
		while (*p == '\n')
			p++;
		if (*p != '\0' && !isdigit((unsigned char)*p))
			break;
	}
	return n;
}

void
cgroup_conn_kill(struct cgroup_conn *g)
{
	if (g == NULL)
		return;
	if (g->version == 2) {
		/* v2 (untested here): one write kills the whole subtree. */
		char path[CG_PATH + 16];

		snprintf(path, sizeof(path), "%s/cgroup.kill", g->dir[0]);
		if (cg_write(path, "1") == 0)
			return;
	}
	/* New processes can appear while the list is read (a fork bomb):
	 * read again until it is empty, a bounded number of times; the
	 * retry timer comes back for what is left. */
	for (int round = 0; round < CG_KILL_ROUNDS; round++) {
		int found = 0;

		for (int d = 0; d < CG_NCTL; d++)
			if (g->procs[d][0] != '\0' && !(g->gone & (1u << d)))
				found += cg_kill_procs(g->procs[d]);
		if (found == 0)
			return;
	}
}

/* A count in the connection's own directory; 0 when it cannot be read. */
static unsigned long long
cg_value(const struct cgroup_conn *g, int d, const char *file, const char *key)
{
	char path[CG_PATH + 32], buf[32];
	unsigned long long v;

	snprintf(path, sizeof(path), "%s/%s", g->dir[d], file);
	if (key != NULL)
		return cg_read_key(path, key, &v) ? v : 0;
	return cg_read(path, buf, sizeof(buf)) > 0 ? strtoull(buf, NULL, 10) : 0;
}

/* Whether a count in the connection's own directory is above zero. */
static bool
cg_count(const struct cgroup_conn *g, int d, const char *file, const char *key)
{
	return cg_value(g, d, file, key) > 0;
}

/* Whether the memory cgroup killed in the server's cgroup at all. */
static bool
cg_oom_killed(const struct cgroup_conn *g, int status)
{
	char path[CG_PATH + 32];
	unsigned long long v;

	if (g->version == 2)
		return cg_count(g, 0, "memory.events", "oom_kill");
	snprintf(path, sizeof(path), "%s/memory.oom_control", g->dir[CG_MEMORY]);
	if (cg_read_key(path, "oom_kill", &v))
		return v > g->base_oom_kill;
	/* Kernels before 4.13 have no oom_kill count. */
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	    (cg_count(g, CG_MEMORY, "memory.failcnt", NULL) ||
	        cg_count(g, CG_MEMORY, "memory.memsw.failcnt", NULL) ||
	        (g->svc & (1u << CG_MEMORY)));
}

/* Which limit the kill was for. The kernel counts an OOM kill in the
 * victim's cgroup whichever level ran out; what tells the levels apart is
 * whether the connection's own limit was reached: v2 counts "oom" in
 * memory.events of the cgroup whose limit it was (and its parents), v1
 * counts failcnt in the level whose charge failed. */
static unsigned
cg_fired_memory(const struct cgroup_conn *g, int status)
{
	bool own;

	if (!cg_oom_killed(g, status))
		return 0;
	if (!(g->svc & (1u << CG_MEMORY)))
		return CG_FIRED_OOM;
	if (!(g->own & (1u << CG_MEMORY)))
		return CG_FIRED_SERVICE_OOM;
	if (g->version == 2)
		own = cg_count(g, 0, "memory.events", "oom");
	else
		own = cg_count(g, CG_MEMORY, "memory.failcnt", NULL) ||
		    cg_count(g, CG_MEMORY, "memory.memsw.failcnt", NULL);
	return own ? CG_FIRED_OOM : CG_FIRED_SERVICE_OOM;
}

/* pids.events "max" of the server's cgroup counts its failed forks (v1,
 * and older v2 kernels) or the times its own limit was hit (newer v2
 * kernels, where the service's failures show only in the service's file:
 * there the service word is not given). With both limits set, whether the
 * server's cgroup reached its own limit at its peak (pids.peak) says
 * which; a kernel without pids.peak gets pids_max. */
static unsigned
cg_fired_pids(const struct cgroup_conn *g)
{
	int d = g->version == 2 ? 0 : CG_PIDS;
	char path[CG_PATH + 32], buf[32];

	if (cg_value(g, d, "pids.events", "max") <= g->base_pids_max)
		return 0;
	if (!(g->svc & (1u << CG_PIDS)))
		return CG_FIRED_PIDS;
	if (!(g->own & (1u << CG_PIDS)))
		return CG_FIRED_SERVICE_PIDS;
	snprintf(path, sizeof(path), "%s/pids.peak", g->dir[d]);
	if (cg_read(path, buf, sizeof(buf)) > 0 && strtoull(buf, NULL, 10) < g->pids_max)
		return CG_FIRED_SERVICE_PIDS;
	return CG_FIRED_PIDS;
}

unsigned
cgroup_conn_fired(const struct cgroup_conn *g, int status)
{
	unsigned fired = 0;

	if (g->used & (1u << CG_MEMORY))
		fired |= cg_fired_memory(g, status);
	if (g->used & (1u << CG_PIDS))
		fired |= cg_fired_pids(g);
	return fired;
}

/* rmdir of each directory still there; true when all are gone. The
 * service's directory goes too when it was the last connection's. */
static bool
cg_remove(struct cgroup_conn *g)
{
	for (int d = 0; d < CG_NCTL; d++) {
		if (g->dir[d][0] == '\0' || (g->gone & (1u << d)))
			continue;
		if (rmdir(g->dir[d]) == 0 || errno == ENOENT) {
			g->gone |= 1u << d;
			rmdir(g->svcdir[d]);
		}
	}
	for (int d = 0; d < CG_NCTL; d++)
		if (g->dir[d][0] != '\0' && !(g->gone & (1u << d)))
			return false;
	return true;
}

static void
cg_retry(void *arg)
{
	struct cgroup_conn *g, *next;

	(void)arg;
	for (g = LIST_FIRST(&pending); g != NULL; g = next) {
		next = LIST_NEXT(g, chain);
		cgroup_conn_kill(g);
		if (!cg_remove(g) && ++g->retries < CG_RETRIES)
			continue;
		if (g->retries >= CG_RETRIES)
			for (int d = 0; d < CG_NCTL; d++)
				if (g->dir[d][0] != '\0' && !(g->gone & (1u << d)))
					log_warnx("cgroups: %s is still busy; leaving it",
					    g->dir[d]);
		LIST_REMOVE(g, chain);
		free(g);
	}
	if (!LIST_EMPTY(&pending))
		loop_timer_set(&retry_timer, CG_RETRY_MS);
}

void
cgroup_conn_end(struct cgroup_conn *g)
{
	if (g == NULL)
		return;
	cgroup_conn_kill(g);
	if (cg_keep(g))
		return;
	cg_end_now(g);
}

static void
cg_end_now(struct cgroup_conn *g)
{
	if (cg_remove(g)) {
		free(g);
		return;
	}
	/* The killed are still on their way out: never wait for them here. */
	LIST_INSERT_HEAD(&pending, g, chain);
	retry_timer.fn = cg_retry;
	if (!retry_timer.pending)
		loop_timer_set(&retry_timer, CG_RETRY_MS);
}

void
cgroup_end(void)
{
	cg_drop_kept();
	while (!LIST_EMPTY(&pending)) {
		struct cgroup_conn *g = LIST_FIRST(&pending);

		cgroup_conn_kill(g);
		cg_remove(g);
		LIST_REMOVE(g, chain);
		free(g);
	}
	loop_timer_cancel(&retry_timer);
}

/* Each load: the service directories that exist get the limits of the
 * configuration now in force, in place; the servers in them keep running.
 * A directory of a service that is gone keeps its limits until its last
 * connection's cgroup, and then it, is removed. */
void
cgroup_apply(const struct config *cf)
{
	char id[128], dir[CG_PATH + 160];

	if (!host_known || host.version == 0)
		return;
	cg_drop_kept();
	for (size_t i = 0; i < cf->nsvc; i++) {
		const struct service_config *s = cf->svc[i];

		cg_name(s->id, id, sizeof(id));
		for (int c = 0; c < CG_NCTL; c++) {
			const char *base = host.dir[host.version == 2 ? 0 : c];

			if (!host.usable[c] || ctl_service_attr[c] < 0)
				continue;
			snprintf(dir, sizeof(dir), "%s/porter/%s", base, id);
			if (host.version == 2) {
				/* The file is there only when its controller is
				 * handed down to the directory. */
				char f[CG_PATH + 180];

				snprintf(f, sizeof(f), "%s/%s", dir,
				    c == CG_MEMORY ? "memory.max" : "pids.max");
				if (access(f, F_OK) != 0)
					continue;
			} else if (access(dir, F_OK) != 0)
				continue;
			cg_service_limit(host.version, (enum cgroup_ctl)c, dir, s);
		}
	}
}
