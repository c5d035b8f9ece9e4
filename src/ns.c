/*
 * ns.c: the namespaces a spawned server gets, and its view of the file
 * system. The plan is made when the configuration is checked: every mount
 * as a step with its paths written out in full, ordered so that a deeper
 * path comes after the one that contains it (a read-only / before a
 * writable /var/lib/app). The clone child runs the steps with system calls
 * alone, as the rest of spawn.c's child does, before it drops privileges.
 *
 * The network namespace is the one exception to "new per connection":
 * creating and destroying one takes a global kernel lock, so every
 * private_network server joins one empty namespace, made once.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "porterd.h"

#define NS_HIDDEN_DIR "/run/porter"
#define NS_HIDDEN_FILE NS_HIDDEN_DIR "/inaccessible" /* empty, mode 0000 */

/* mount_setattr(2), which glibc 2.36 has no wrapper for in every header. */
struct ns_mount_attr {
	unsigned long long attr_set;
	unsigned long long attr_clr;
	unsigned long long propagation;
	unsigned long long userns_fd;
};
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define NS_ATTR_RDONLY 0x1ull  /* MOUNT_ATTR_RDONLY */
#define NS_AT_RECURSIVE 0x8000 /* AT_RECURSIVE */

enum step_kind {
	ST_BIND,  /* src onto dst with what is mounted below it; then set or clear read-only */
	ST_TMPFS, /* a fresh tmpfs on dst, with data as its options */
	ST_HIDE,  /* dst made empty and inaccessible (a directory or a file) */
	ST_PROC,  /* a fresh proc on dst */
	ST_DEV,   /* a minimal /dev on dst */
};

struct step {
	enum step_kind kind;
	char *src; /* ST_BIND */
	char *dst;
	const char *attr; /* the attribute that asked for it: the stage of a failure */
	int ro;           /* ST_BIND: 1 read-only, -1 writable, 0 as it is */
	bool must;        /* a missing dst is an error, not a step to skip */
	unsigned depth;   /* components of the path below the server's root */
};

struct ns_plan {
	int flags;       /* CLONE_NEW* */
	bool slave;      /* a mount namespace: nothing mounted in it goes back */
	bool net;        /* joins the shared empty network namespace */
	bool hide_files; /* needs NS_HIDDEN_FILE */
	char *root;      /* root_directory, or NULL */
	char *hostname;  /* or NULL */
	char tmp_data[48];
	struct step *steps;
	size_t nsteps;
};

static int net_fd = -1; /* the shared network namespace */

/* ------------------------------------------------------------ the plan */

static unsigned
ns_depth(const char *p)
{
	unsigned n = 0;

	for (; *p != '\0'; p++)
		if (*p == '/' && p[1] != '/' && p[1] != '\0')
			n++;
	return n;
}

/* Adds a step for path p (as the server sees it); src is a host path. */
static struct step *
ns_add(struct ns_plan *p, enum step_kind kind, const char *attr, const char *src, const char *path)
{
	struct step *st;
	size_t n;

	p->steps = mem_realloc(p->steps, (p->nsteps + 1) * sizeof(*p->steps));
	st = &p->steps[p->nsteps++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->attr = attr;
	st->depth = ns_depth(path);
	if (src != NULL)
		st->src = mem_strdup(src);
	if (p->root == NULL) {
		st->dst = mem_strdup(path);
	} else {
		n = strlen(p->root) + strlen(path) + 1;
		st->dst = mem_alloc(n);
		snprintf(st->dst, n, "%s%s", p->root, strcmp(path, "/") == 0 ? "" : path);
	}
	return st;
}

static void
ns_add_bind(struct ns_plan *p, const char *attr, const char *src, const char *path, int ro,
    bool must)
{
	struct step *st = ns_add(p, ST_BIND, attr, src != NULL ? src : path, path);

	if (src == NULL && p->root != NULL) { /* onto itself: inside the root */
		free(st->src);
		st->src = mem_strdup(st->dst);
	}
	st->ro = ro;
	st->must = must;
}

/* Paths of a list as the server sees them; a missing one is a warning now
 * and a step skipped when a server starts. */
static void
ns_add_paths(struct ns_plan *p, const struct service_config *s, enum attr_id a,
    const struct strv *v, enum step_kind kind, int ro, struct diag *d)
{
	struct stat st;

	for (size_t i = 0; i < v->n; i++) {
		struct step *step;

		if (kind == ST_BIND) {
			ns_add_bind(p, conf_attr_name(a), NULL, v->v[i], ro, false);
			step = &p->steps[p->nsteps - 1];
		} else {
			step = ns_add(p, kind, conf_attr_name(a), NULL, v->v[i]);
		}
		if (stat(step->dst, &st) != 0)
			diag_warn(d, conf_service_at(s, a),
			    "%s: %s: %s: %s; servers start without it", s->id, conf_attr_name(a),
			    step->dst, strerror(errno));
		else if (kind == ST_HIDE && !S_ISDIR(st.st_mode))
			p->hide_files = true;
	}
}

/* bind_paths and bind_read_only_paths: SRC[:DST], SRC on the host. */
static bool
ns_add_binds(struct ns_plan *p, const struct service_config *s, enum attr_id a,
    const struct strv *v, struct diag *d)
{
	bool ok = true;

	for (size_t i = 0; i < v->n; i++) {
		char *src = mem_strdup(v->v[i]), *colon = strchr(src, ':');
		const char *dst = colon != NULL ? colon + 1 : src;
		struct stat st;

		if (colon != NULL)
			*colon = '\0';
		ns_add_bind(p, conf_attr_name(a), src, dst, a == A_BIND_PATHS ? 0 : 1, true);
		if (stat(src, &st) != 0) {
			diag_error(d, conf_service_at(s, a), "%s: %s: %s: %s", s->id,
			    conf_attr_name(a), src, strerror(errno));
			ok = false;
		} else if (stat(p->steps[p->nsteps - 1].dst, &st) != 0) {
			diag_error(d, conf_service_at(s, a),
			    "%s: %s: %s: %s (the mount point must exist)", s->id, conf_attr_name(a),
			    p->steps[p->nsteps - 1].dst, strerror(errno));
			ok = false;
		}
		free(src);
	}
	return ok;
}

/* Shallower paths first, in the order they were added otherwise. */
static void
ns_sort(struct ns_plan *p, size_t from)
{
	for (size_t i = from + 1; i < p->nsteps; i++) {
		struct step t = p->steps[i];
		size_t j = i;

		for (; j > from && p->steps[j - 1].depth > t.depth; j--)
			p->steps[j] = p->steps[j - 1];
		p->steps[j] = t;
	}
}

static bool
ns_wanted(const struct service_config *s)
{
	return s->private_tmp || s->protect_system != PROTECT_NO ||
	    s->protect_home != PROTECT_HOME_NO || s->read_write_paths.n > 0 ||
	    s->read_only_paths.n > 0 || s->inaccessible_paths.n > 0 || s->root_directory != NULL ||
	    s->bind_paths.n > 0 || s->bind_read_only_paths.n > 0 || s->private_network ||
	    s->private_pid || s->private_ipc || s->private_uts || s->hostname != NULL;
}

/* The root directory: the directory itself, read-only, is the first step. */
static bool
ns_root(struct ns_plan *p, const struct service_config *s, struct diag *d)
{
	struct stat st;
	struct step *dev;

	const char *why = stat(s->root_directory, &st) != 0 ? strerror(errno) :
	    !S_ISDIR(st.st_mode)                            ? "not a directory" :
	                                                      NULL;

	if (why != NULL) {
		diag_error(d, conf_service_at(s, A_ROOT_DIRECTORY), "%s: root_directory %s: %s",
		    s->id, s->root_directory, why);
		return false;
	}
	p->root = mem_strdup(s->root_directory);
	ns_add_bind(p, "root_directory", NULL, "/", 1, true);
	dev = ns_add(p, ST_DEV, "root_directory", NULL, "/dev");
	if (stat(dev->dst, &st) != 0)
		diag_warn(d, conf_service_at(s, A_ROOT_DIRECTORY),
		    "%s: root_directory has no /dev: servers start without one", s->id);
	dev = ns_add(p, ST_PROC, "root_directory", NULL, "/proc");
	if (stat(dev->dst, &st) != 0)
		diag_warn(d, conf_service_at(s, A_ROOT_DIRECTORY),
		    "%s: root_directory has no /proc: servers start without one", s->id);
	return true;
}

struct ns_plan *
ns_plan_new(const struct service_config *s, struct diag *d)
{
	static const char *const sys_yes[] = { "/usr", "/boot", "/efi", NULL };
	static const char *const home[] = { "/home", "/root", "/run/user", NULL };
	struct ns_plan *p;
	bool ok = true;

	if (!ns_wanted(s))
		return NULL;
	if (!sandbox_have_cap(CAP_SYS_ADMIN)) {
		diag_error(d, s->loc,
		    "%s: namespaces (private_*, protect_*, *_paths, root_directory, hostname) need porterd to have CAP_SYS_ADMIN (to run as root)",
		    s->id);
		return NULL;
	}
	p = mem_calloc(1, sizeof(*p));
	p->net = s->private_network;
	if (s->private_pid)
		p->flags |= CLONE_NEWPID;
	if (s->private_ipc)
		p->flags |= CLONE_NEWIPC;
	if (s->private_uts || s->hostname != NULL)
		p->flags |= CLONE_NEWUTS;
	if (s->hostname != NULL)
		p->hostname = mem_strdup(s->hostname);

	if (s->root_directory != NULL)
		ok = ns_root(p, s, d);
	else if (s->protect_system != PROTECT_NO) {
		/* Inside a root directory, all of it is read-only already. */
		if (s->protect_system == PROTECT_STRICT) {
			ns_add_bind(p, "protect_system", NULL, "/", 1, true);
			ns_add_bind(p, "protect_system", NULL, "/dev", -1, false);
		} else {
			for (int i = 0; sys_yes[i] != NULL; i++)
				ns_add_bind(p, "protect_system", NULL, sys_yes[i], 1, false);
			if (s->protect_system == PROTECT_FULL)
				ns_add_bind(p, "protect_system", NULL, "/etc", 1, false);
		}
	}
	for (int i = 0; home[i] != NULL; i++) {
		if (s->protect_home == PROTECT_HOME_YES)
			ns_add(p, ST_HIDE, "protect_home", NULL, home[i]);
		else if (s->protect_home == PROTECT_HOME_READ_ONLY)
			ns_add_bind(p, "protect_home", NULL, home[i], 1, false);
		else if (s->protect_home == PROTECT_HOME_TMPFS)
			ns_add(p, ST_TMPFS, "protect_home", NULL, home[i])->src =
			    mem_strdup("mode=755");
	}
	ns_add_paths(p, s, A_READ_WRITE_PATHS, &s->read_write_paths, ST_BIND, -1, d);
	ns_add_paths(p, s, A_READ_ONLY_PATHS, &s->read_only_paths, ST_BIND, 1, d);
	ns_add_paths(p, s, A_INACCESSIBLE_PATHS, &s->inaccessible_paths, ST_HIDE, 0, d);
	ok &= ns_add_binds(p, s, A_BIND_PATHS, &s->bind_paths, d);
	ok &= ns_add_binds(p, s, A_BIND_READ_ONLY_PATHS, &s->bind_read_only_paths, d);
	if (s->private_tmp) {
		snprintf(p->tmp_data, sizeof(p->tmp_data), "mode=1777,size=%llu",
		    (unsigned long long)s->tmp_size);
		ns_add(p, ST_TMPFS, "private_tmp", NULL, "/tmp");
		ns_add(p, ST_TMPFS, "private_tmp", NULL, "/var/tmp");
	}
	/* Its own PID namespace shows in a proc of its own. */
	if (s->private_pid && s->root_directory == NULL)
		ns_add(p, ST_PROC, "private_pid", NULL, "/proc");
	/* The root directory's own step stays first. */
	ns_sort(p, s->root_directory != NULL ? 1 : 0);
	if (p->nsteps > 0) {
		p->flags |= CLONE_NEWNS;
		p->slave = true;
	}
	if (!ok) {
		ns_plan_free(p);
		return NULL;
	}
	return p;
}

void
ns_plan_free(struct ns_plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nsteps; i++) {
		free(p->steps[i].src);
		free(p->steps[i].dst);
	}
	free(p->steps);
	free(p->root);
	free(p->hostname);
	free(p);
}

int
ns_clone_flags(const struct ns_plan *p)
{
	if (p == NULL)
		return 0;
	return p->flags;
}

/* ------------------------------------------------------------ the parent */

static void *
ns_net_thread(void *arg)
{
	int *fd = arg;

	/* A thread's network namespace is its own: porterd's loop stays
	 * where it is. */
	if (unshare(CLONE_NEWNET) == 0)
		*fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	else
		*fd = -errno - 1;
	return NULL;
}

static int
ns_net_make(void)
{
	pthread_t t;
	int fd = -1, rc;

	if ((rc = pthread_create(&t, NULL, ns_net_thread, &fd)) != 0) {
		errno = rc;
		return -1;
	}
	pthread_join(t, NULL);
	if (fd < -1) {
		errno = -fd - 1;
		return -1;
	}
	if (fd < 0)
		return -1;
	net_fd = fd;
	log_info("private_network: servers share an empty network namespace");
	return 0;
}

static int
ns_hidden_file(void)
{
	int fd;

	if (mkdir(NS_HIDDEN_DIR, 0755) != 0 && errno != EEXIST)
		return -1;
	fd = open(NS_HIDDEN_FILE, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
ns_prepare(struct ns_plan *p)
{
	if (p->net && net_fd < 0 && ns_net_make() != 0)
		return -1;
	if (p->hide_files) {
		if (ns_hidden_file() != 0)
			return -1;
		p->hide_files = false; /* made */
	}
	return 0;
}

/* ------------------------------------------------------------ the child */

static int
ns_setattr(const char *path, unsigned long long set, unsigned long long clr)
{
	struct ns_mount_attr ma = { set, clr, 0, 0 };

	return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, NS_AT_RECURSIVE, &ma, sizeof(ma));
}

static int
ns_step_bind(const struct step *st)
{
	if (mount(st->src, st->dst, NULL, MS_BIND | MS_REC, NULL) != 0)
		return -1;
	if (st->ro > 0)
		return ns_setattr(st->dst, NS_ATTR_RDONLY, 0);
	if (st->ro < 0)
		return ns_setattr(st->dst, 0, NS_ATTR_RDONLY);
	return 0;
}

/* A directory: an empty tmpfs nobody may enter; a file: the empty one. */
static int
ns_step_hide(const struct step *st)
{
	struct stat sb;

	if (stat(st->dst, &sb) != 0)
		return -1;
	if (S_ISDIR(sb.st_mode))
		return mount("tmpfs", st->dst, "tmpfs",
		    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=000,size=4k");
	if (mount(NS_HIDDEN_FILE, st->dst, NULL, MS_BIND, NULL) != 0)
		return -1;
	return ns_setattr(st->dst, NS_ATTR_RDONLY, 0);
}

/* /dev of a root directory: the devices every program may expect. */
static int
ns_step_dev(const struct step *st)
{
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = { { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
		{ "urandom", 1, 9 } };
	static const char *const links[][2] = { { "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" } };
	int dir;

	if (mount("tmpfs", st->dst, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k") != 0)
		return -1;
	if ((dir = open(st->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if (mknodat(dir, nodes[i].name, S_IFCHR | 0666,
		        makedev(nodes[i].major, nodes[i].minor)) != 0 ||
		    fchmodat(dir, nodes[i].name, 0666, 0) != 0) {
			close(dir);
			return -1;
		}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][0], dir, links[i][1]) != 0) {
			close(dir);
			return -1;
		}
	close(dir);
	return ns_setattr(st->dst, NS_ATTR_RDONLY, 0);
}

static int
ns_step(const struct step *st, const char *tmp_data)
{
	switch (st->kind) {
	case ST_BIND:
		return ns_step_bind(st);
	case ST_TMPFS:
		return mount("tmpfs", st->dst, "tmpfs", MS_NOSUID | MS_NODEV,
		    st->src != NULL ? st->src : tmp_data);
	case ST_HIDE:
		return ns_step_hide(st);
	case ST_PROC:
		return mount("proc", st->dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	case ST_DEV:
		return ns_step_dev(st);
	}
	errno = EINVAL;
	return -1;
}

/* The root directory becomes /, and the old / goes. */
static int
ns_pivot(const char *root)
{
	if (chdir(root) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
	    umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		return -1;
	return 0;
}

int
ns_child(const struct ns_plan *p, const char **stage)
{
	struct stat sb;

	if (p == NULL)
		return 0;
	*stage = "private_network";
	if (p->net && setns(net_fd, CLONE_NEWNET) != 0)
		return -1;
	*stage = "hostname";
	if (p->hostname != NULL && sethostname(p->hostname, strlen(p->hostname)) != 0)
		return -1;
	*stage = "mount namespace";
	if (p->slave && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
		return -1;
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct step *st = &p->steps[i];

		*stage = st->attr;
		/* A path that is not there has nothing to protect. */
		if (!st->must && stat(st->dst, &sb) != 0 && errno == ENOENT)
			continue;
		if (ns_step(st, p->tmp_data) != 0)
			return -1;
	}
	*stage = "root_directory";
	if (p->root != NULL && ns_pivot(p->root) != 0)
		return -1;
	return 0;
}
