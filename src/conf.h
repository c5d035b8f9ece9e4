/*
 * conf.h: the configuration model and what builds it: the allocators and
 * string vectors it is made of, diagnostics with file:line, address lists,
 * and the lexer, attribute table, parsers, checks and printer. It is all
 * the fuzzer and the unit tests of the parser need, and porterctl takes
 * its few constants with ctl.h; the daemon's runtime is in porterd.h.
 */
#ifndef CONF_H
#define CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#define PORTER_VERSION "0.1.0"

/* sysexits(3) codes porterd uses. */
#define EXIT_USAGE 64
#define EXIT_CONFIG 78

#define PORTER_DEFAULT_CONF "/etc/porter.conf"
#define PORTER_INETD_CONF "/etc/inetd.conf"

#define PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ----------------------------------------------------------------- mem.c */

/* Allocation for start-up and reload: failure is fatal (fatalx). */
void *mem_alloc(size_t);
void *mem_calloc(size_t, size_t);
void *mem_realloc(void *, size_t);
char *mem_strdup(const char *);
char *mem_strndup(const char *, size_t);
char *mem_asprintf(const char *, ...) PRINTF(1, 2);

/* ---------------------------------------------------------------- strv.c */

/* A growable vector of owned strings, NULL-terminated. */
struct strv {
	char **v;
	size_t n;
	size_t cap;
};

void strv_push(struct strv *, const char *);
void strv_copy(struct strv *dst, const struct strv *src);
void strv_clear(struct strv *);
bool strv_has(const struct strv *, const char *);
bool strv_has_case(const struct strv *, const char *);
void strv_remove(struct strv *, const char *);

/* ---------------------------------------------------------------- util.c */

/* Parses an unsigned decimal number; false unless the whole string is one
 * and it is at most max. */
bool util_parse_uint(const char *, unsigned long long max, unsigned long long *out);

/* ---------------------------------------------------------------- diag.c */

/*
 * Configuration diagnostics. Every message carries the file and line it is
 * about and is kept in order, so `porterd -t` can print them all and a reload
 * can send them to the daemon log instead.
 */
struct diag {
	struct strv lines; /* "FILE:LINE: message" or "FILE:LINE: warning: ..." */
	size_t errors;
	size_t warnings;
	/* What a check tells beside: files an includedir skips, and why.
	 * Printed by -t and porterctl check, not logged at a reload. */
	struct strv notes;
	/* The errors that concern the whole configuration, not one entry:
	 * syntax, the defaults, includes. Without -strict, porterd serves the
	 * other services when only entries have errors. */
	size_t fatal;
	/* While set, errors concern this entry: its first one becomes the
	 * entry's fault, and they do not count in fatal. */
	struct service_config *svc;
};

/* A place in a configuration file. file points at a string the config owns. */
struct loc {
	const char *file;
	int line;
};

void diag_error(struct diag *, struct loc, const char *fmt, ...) PRINTF(3, 4);
void diag_warn(struct diag *, struct loc, const char *fmt, ...) PRINTF(3, 4);
void diag_note(struct diag *, struct loc, const char *fmt, ...) PRINTF(3, 4);
/* The lines, then the notes. */
void diag_print(const struct diag *, FILE *);
void diag_free(struct diag *);

/* -------------------------------------------------------------- access.c */

/* One entry of only_from or no_access. */
enum addr_kind {
	AR_NET,    /* family/addr/prefix */
	AR_HOST,   /* name: the client's reverse-DNS name must equal it */
	AR_DOMAIN, /* name: ".example.com", a suffix of the reverse name */
};

struct addr_rule {
	uint8_t kind;     /* enum addr_kind */
	uint8_t family;   /* AF_INET or AF_INET6, for AR_NET */
	uint8_t prefix;   /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network address, host bits zero */
	char *name;       /* lower case; AR_HOST and AR_DOMAIN */
};

struct addrlist {
	struct addr_rule *v;
	size_t n;
	size_t cap;
};

/* A daily interval in minutes since midnight, both ends included. When
 * start > end the interval runs past midnight. */
struct timerange {
	uint16_t start;
	uint16_t end;
};

/*
 * Parses one token of an address list (any form of xinetd.conf(5):
 * trailing-zero IPv4 wildcards, CIDR v4/v6, IPv6, factorized {a,b}, network
 * names, hostnames and .domain) and appends the rules it stands for.
 * Returns false with a message in err when the token is not an address.
 */
bool access_parse(const char *tok, struct addrlist *, char *err, size_t errlen);
/* Canonical text of a rule ("10.0.0.0/8", "::1/128", "host.example.com"). */
void access_format(const struct addr_rule *, char *buf, size_t len);
/* Removes from list every rule equal to one of del (the -= operator). */
void access_remove(struct addrlist *list, const struct addrlist *del);
void access_copy(struct addrlist *dst, const struct addrlist *src);
void access_clear(struct addrlist *);
/* "H:MM-H:MM"; 24:00 is allowed as an end. */
bool access_times_parse(const char *tok, struct timerange *, char *err, size_t errlen);
/* Whether minute (0..1439, local time) falls in one of the ranges; an empty
 * list allows all day. */
bool access_times_allow(const struct timerange *, size_t n, int minute);

/* ----------------------------------------------------------- conf_lex.c */

/* One logical line of a configuration file, comments removed. */
struct conf_line {
	struct loc loc;
	char *text; /* owned; leading and trailing blanks removed */
};

struct conf_lines {
	struct conf_line *v;
	size_t n;
	size_t cap;
};

/* Splits a whole file's text into lines. A '#' at the start of a line or
 * after a blank starts a comment. Returns false (after a diagnostic) on
 * input that is not text. */
bool conf_lex(const char *buf, size_t len, const char *file, struct conf_lines *, struct diag *);
void conf_lex_free(struct conf_lines *);
/* Splits text on blanks into words (copies owned by *words). */
void conf_lex_split(const char *text, struct strv *words);

/* ---------------------------------------------------------------- conf.c */

/* Attribute identifiers; the order is the canonical order of `porterd -T`. */
enum attr_id {
	A_ID,
	A_TYPE,
	A_FLAGS,
	A_DISABLE,
	A_SOCKET_TYPE,
	A_PROTOCOL,
	A_WAIT,
	A_USER,
	A_GROUP,
	A_GROUPS,
	A_SERVER,
	A_SERVER_ARGS,
	A_REDIRECT,
	A_PORT,
	A_BIND,
	A_V6ONLY,
	A_SOCKET_MODE,
	A_SOCKET_USER,
	A_SOCKET_GROUP,
	A_BACKLOG,
	A_LISTEN_FDS,
	A_INSTANCES,
	A_PER_SOURCE,
	A_PER_SOURCE_PREFIX,
	A_PER_SOURCE_CPS,
	A_CPS,
	A_MAX_LOAD,
	A_TIMEOUT,
	A_REDIRECT_IDLE,
	A_REDIRECT_PROXY,
	A_PROXY_PROTOCOL,
	A_PROXY_FROM,
	A_PROXY_TIMEOUT,
	A_TLS,
	A_TLS_CERTIFICATE,
	A_TLS_KEY,
	A_TLS_CLIENT_CA,
	A_TLS_VERIFY_CLIENT,
	A_TLS_PROTOCOLS,
	A_TLS_CIPHERS,
	A_TLS_CIPHERSUITES,
	A_TLS_ALPN,
	A_TLS_HANDSHAKE_TIMEOUT,
	A_NO_NEW_PRIVS,
	A_CAPABILITIES,
	A_AMBIENT_CAPABILITIES,
	A_SYSTEM_CALL_FILTER,
	A_SYSTEM_CALL_ERROR,
	A_RESTRICT_ADDRESS_FAMILIES,
	A_SANDBOX,
	A_PRIVATE_TMP,
	A_TMP_SIZE,
	A_PROTECT_SYSTEM,
	A_PROTECT_HOME,
	A_READ_WRITE_PATHS,
	A_READ_ONLY_PATHS,
	A_INACCESSIBLE_PATHS,
	A_ROOT_DIRECTORY,
	A_BIND_PATHS,
	A_BIND_READ_ONLY_PATHS,
	A_PRIVATE_NETWORK,
	A_PRIVATE_PID,
	A_PRIVATE_IPC,
	A_PRIVATE_UTS,
	A_HOSTNAME,
	A_ACCESS_TIMES,
	A_ONLY_FROM,
	A_NO_ACCESS,
	A_ONLY_UID,
	A_ONLY_GID,
	A_NO_UID,
	A_NO_GID,
	A_LOG_TYPE,
	A_LOG_ON_SUCCESS,
	A_LOG_ON_FAILURE,
	A_ENV,
	A_PASSENV,
	A_BANNER,
	A_BANNER_SUCCESS,
	A_BANNER_FAIL,
	A_NICE,
	A_UMASK,
	A_RLIMIT_AS,
	A_RLIMIT_CPU,
	A_RLIMIT_DATA,
	A_RLIMIT_RSS,
	A_RLIMIT_STACK,
	A_RLIMIT_FILES,
	A_MEMORY_MAX,
	A_PIDS_MAX,
	A_CPU_MAX,
	A_SERVICE_MEMORY_MAX,
	A_SERVICE_PIDS_MAX,
	A_DENY_TIME,
	A_RPC_VERSION,
	A_RPC_NUMBER,
	A_LIBWRAP,
	A_MDNS,
	A_ENABLED,
	A_DISABLED,
	A_MAX
};
_Static_assert(A_MAX <= 128, "an attr_set holds 128 attributes");

/* A set of attributes (enum attr_id): which an entry has, set itself, or
 * had a line refused for. Two words, so that the table can grow past 64. */
struct attr_set {
	uint64_t w[2];
};

static inline void
attr_set_add(struct attr_set *set, int a)
{
	set->w[a >> 6] |= 1ull << (a & 63);
}

static inline void
attr_set_del(struct attr_set *set, int a)
{
	set->w[a >> 6] &= ~(1ull << (a & 63));
}

static inline bool
attr_set_has(const struct attr_set *set, int a)
{
	return (set->w[a >> 6] >> (a & 63)) & 1u;
}

/* type = ... */
#define T_RPC 0x01u
#define T_INTERNAL 0x02u
#define T_UNLISTED 0x04u
#define T_TCPMUX 0x08u
#define T_TCPMUXPLUS 0x10u

/* proxy_protocol and redirect_proxy: the PROXY header's versions. */
#define PROXY_V1 0x1u
#define PROXY_V2 0x2u
#define PROXY_TIMEOUT_S 3 /* proxy_timeout's default */

/* tls_verify_client */
enum tls_verify { TLS_VERIFY_NO, TLS_VERIFY_OPTIONAL, TLS_VERIFY_YES };
/* tls_protocols: bit i is tls.c's version i (TLSv1, TLSv1.1, TLSv1.2,
 * TLSv1.3); 0 in a service means the default. */
#define TLS_PROTOCOLS_DEFAULT 0xcu /* TLSv1.2 TLSv1.3 */
#define TLS_HANDSHAKE_TIMEOUT_S 10 /* tls_handshake_timeout's default */

/* flags = ... */
#define F_INTERCEPT 0x001u
#define F_NORETRY 0x002u
#define F_IDONLY 0x004u
#define F_NAMEINARGS 0x008u
#define F_NODELAY 0x010u
#define F_KEEPALIVE 0x020u
#define F_NOLIBWRAP 0x040u
#define F_SENSOR 0x080u
#define F_IPV4 0x100u
#define F_IPV6 0x200u
#define F_LABELED 0x400u
#define F_REUSE 0x800u
#define F_FULLREPLY 0x1000u /* datagram builtins answer in full */

/* log_on_success and log_on_failure */
#define L_PID 0x01u
#define L_HOST 0x02u
#define L_USERID 0x04u
#define L_EXIT 0x08u
#define L_DURATION 0x10u
#define L_TRAFFIC 0x20u
#define L_ATTEMPT 0x40u

enum rlim_id { RL_AS, RL_CPU, RL_DATA, RL_RSS, RL_STACK, RL_FILES, RL_MAX };
#define LIMIT_UNLIMITED UINT64_MAX /* rlimit value, "UNLIMITED" */
#define COUNT_UNLIMITED (-1)       /* instances, per_source */

enum log_kind { LOGT_NONE, LOGT_SYSLOG, LOGT_FILE };

struct logtype {
	int kind;      /* enum log_kind */
	int facility;  /* syslog LOG_* facility */
	int level;     /* syslog LOG_* level */
	char *path;    /* FILE */
	uint64_t soft; /* FILE soft limit in bytes, 0 = none */
	uint64_t hard; /* FILE hard limit in bytes, 0 = none */
	bool json;     /* FILE: one JSON object per line */
};

/*
 * One `service` entry, or the `defaults` entry. Every attribute records
 * where it was set (at[id].file != NULL means "set"); own says which of those
 * were set in this entry itself rather than copied from defaults.
 */
/* An IPv4 or IPv6 socket address: all a service binds, relays to or keeps
 * of a peer, in a fifth of a sockaddr_storage. */
union sockaddr_in46 {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/* Where one attribute of an entry was set: kept only for the attributes an
 * entry has, since most entries set a handful of the A_MAX. */
struct attr_at {
	const char *file;
	int line;
	int attr; /* enum attr_id */
};

struct service_config {
	char *name;
	struct loc loc;      /* the line that opened the entry */
	struct attr_set has; /* set here or copied from the defaults */
	struct attr_at *at;  /* where the entry set its own attributes */
	unsigned nat;
	const struct service_config *defaults; /* where the others of has come from */
	struct attr_set own;                   /* set in this entry */
	bool is_defaults;
	bool from_inetd;         /* made from an inetd.conf line */
	bool broken;             /* a line of the entry was refused */
	char *fault;             /* its first error, as diag says it; NULL: none */
	struct attr_set refused; /* a line for it was refused */

	char *id;
	unsigned type;  /* T_* */
	unsigned flags; /* F_* */
	bool disable;
	int socket_type; /* SOCK_STREAM, SOCK_DGRAM; 0 unset */
	int protocol;    /* IPPROTO_TCP, IPPROTO_UDP; 0 unset */
	int wait;        /* -1 unset, 0 no, 1 yes */
	char *user;
	char *group;
	bool groups;
	char *server;
	struct strv server_args;
	char *redirect_host;
	char *redirect_port; /* number or service name, as written */
	int port;            /* -1 unset */
	char *bind;          /* address or host name, as written; or unix:PATH, unix:@NAME */
	bool v6only;
	int socket_mode;   /* unix sockets: the file's mode; -1 unset */
	char *socket_user; /* ... its owner, a name or a number */
	char *socket_group;
	int backlog; /* 0 = the system's maximum */
	bool listen_fds;
	int instances; /* COUNT_UNLIMITED or >= 0 */
	int per_source;
	int per_source_prefix4; /* 32 = exact address */
	int per_source_prefix6; /* 128 = exact address */
	unsigned per_source_cps_rate;
	unsigned per_source_cps_burst;
	unsigned cps_rate;
	unsigned cps_wait;
	double max_load;
	unsigned timeout;        /* seconds, 0 none */
	unsigned redirect_idle;  /* seconds, 0 none */
	unsigned redirect_proxy; /* PROXY_V1 or PROXY_V2: header to the backend; 0 none */
	unsigned proxy_protocol; /* PROXY_V1 | PROXY_V2 accepted from proxy_from; 0 none */
	struct addrlist proxy_from;
	unsigned proxy_timeout; /* seconds */
	bool tls;
	struct strv tls_certificate; /* pairs with tls_key, in order */
	struct strv tls_key;
	char *tls_client_ca;
	int tls_verify_client;  /* enum tls_verify */
	unsigned tls_protocols; /* TLS_PROTOCOLS_DEFAULT's bits; 0 unset */
	char *tls_ciphers;
	char *tls_ciphersuites;
	struct strv tls_alpn;
	unsigned tls_handshake_timeout; /* seconds */
	bool no_new_privs;
	struct strv capabilities; /* the bounding set, CAP_* names */
	struct strv ambient_capabilities;
	struct strv system_call_filter;        /* names and @groups; "~" first: a deny list */
	int system_call_error;                 /* errno; 0: kill the process */
	struct strv restrict_address_families; /* AF_* names; "~" first: a deny list */
	/* Namespaces of a spawned server (ns.c). */
	int sandbox_bundle;             /* SANDBOX_*: sandbox = strict */
	bool private_tmp;               /* a fresh tmpfs on /tmp and /var/tmp */
	uint64_t tmp_size;              /* its size in bytes */
	int protect_system;             /* PROTECT_* */
	int protect_home;               /* PROTECT_HOME_* */
	struct strv read_write_paths;   /* absolute paths */
	struct strv read_only_paths;    /* absolute paths */
	struct strv inaccessible_paths; /* absolute paths */
	char *root_directory;           /* the server's root, or NULL */
	struct strv bind_paths;         /* "SRC" or "SRC:DST" */
	struct strv bind_read_only_paths;
	bool private_network; /* the shared empty network namespace */
	bool private_pid;     /* the server is PID 1 of its own namespace */
	bool private_ipc;
	bool private_uts;
	char *hostname; /* with private_uts */
	struct timerange *access_times;
	size_t naccess_times;
	struct addrlist only_from;
	struct addrlist no_access;
	struct strv only_uid; /* unix sockets: users and groups, names or numbers */
	struct strv only_gid;
	struct strv no_uid;
	struct strv no_gid;
	struct logtype log_type;
	unsigned log_on_success; /* L_* */
	unsigned log_on_failure; /* L_* */
	struct strv env;         /* "NAME=value" */
	struct strv passenv;
	char *banner;
	char *banner_success;
	char *banner_fail;
	int nice;
	int umask;               /* -1 unset */
	uint64_t rlimit[RL_MAX]; /* valid where at[A_RLIMIT_x] is set */
	/* Per-connection cgroup limits (cgroup.c); 0: not set. */
	uint64_t memory_max;    /* bytes */
	unsigned pids_max;      /* processes */
	unsigned cpu_quota_us;  /* cpu_max: this much CPU time ... */
	unsigned cpu_period_us; /* ... in each period this long */
	/* The same for the sum of all of a service's servers; 0: not set. */
	uint64_t service_memory_max; /* bytes */
	unsigned service_pids_max;   /* processes */
	int deny_time;               /* seconds; DENY_FOREVER; 0 = NEVER */
	int rpc_version_lo;
	int rpc_version_hi;
	unsigned long rpc_number;
	char *libwrap;
	struct strv enabled;  /* defaults only */
	struct strv disabled; /* defaults only */

	/* Filled in by conf_check for the services that will run. */
	uid_t uid;
	gid_t gid;
	bool have_uid;
	bool have_gid;
	union sockaddr_in46 bind_addr;
	socklen_t bind_len;                /* 0: wildcard */
	char *unix_path;                   /* AF_UNIX: the path; '@' first: abstract */
	uid_t socket_uid;                  /* -1: porterd's */
	gid_t socket_gid;                  /* -1: porterd's */
	struct idlist *ids[4];             /* only_uid, only_gid, no_uid, no_gid, resolved */
	int family;                        /* AF_INET or AF_INET6 */
	int family_conf;                   /* the family asked for, before any fallback */
	union sockaddr_in46 redirect_addr; /* the relay's target */
	socklen_t redirect_len;
	struct tls_ctx *tls_ctx; /* tls = yes: its certificates, read (tls.c) */
	struct sandbox *sandbox; /* compiled filters and capability sets (sandbox.c) */
	struct ns_plan *ns;      /* namespaces and mounts, prepared (ns.c) */
};

#define NS_TMP_SIZE (16u << 20) /* tmp_size when not set */

/* A list of user or group ids, resolved from names when checked. */
struct idlist {
	size_t n;
	unsigned v[];
};
enum { IDS_ONLY_UID, IDS_ONLY_GID, IDS_NO_UID, IDS_NO_GID };

enum sandbox_bundle { SANDBOX_NONE, SANDBOX_STRICT };
enum protect_system { PROTECT_NO, PROTECT_YES, PROTECT_FULL, PROTECT_STRICT };
enum protect_home { PROTECT_HOME_NO, PROTECT_HOME_YES, PROTECT_HOME_READ_ONLY, PROTECT_HOME_TMPFS };

#define DENY_FOREVER (-1)

struct config {
	struct service_config *defaults; /* NULL when the files have none */
	struct service_config **svc;     /* every service entry, in file order */
	size_t nsvc;
	struct service_config **broken; /* entries set aside for an error */
	size_t nbroken;
	struct strv files; /* file names that struct loc points into */
	unsigned include_depth;
};

/* tls.c: a service's certificates and settings, read and checked (NULL
 * after a diagnostic); shared by its sessions, freed with the last. */
struct tls_ctx *tls_ctx_new(const struct service_config *, struct diag *);
void tls_ctx_unref(struct tls_ctx *);
/* A tls_protocols word's bit, or 0; and the word of one bit. */
unsigned tls_protocol_bit(const char *name);
const char *tls_protocol_name(unsigned bit);

/* cgroup.c: what the host's cgroups offer porterd's per-connection
 * limits, read from /proc and /sys (no side effects; -t runs it). */
enum cgroup_ctl { CG_MEMORY, CG_PIDS, CG_CPU, CG_NCTL };
#define CG_PATH 512
struct cgroup_host {
	int version;                     /* 0: no cgroups, 1, 2 */
	bool usable[CG_NCTL];            /* porterd can make cgroups of it */
	char dir[CG_NCTL][CG_PATH];      /* porterd's own cgroup (v2: the same in each) */
	char why[CG_NCTL][CG_PATH + 64]; /* when not usable: why, for a diagnostic */
};
void cgroup_probe(struct cgroup_host *);
/* "v1 (memory pids cpu)", "v2 (...)" or "none" in buf; its length. */
size_t cgroup_describe(const struct cgroup_host *, char *buf, size_t len);
const char *cgroup_ctl_name(enum cgroup_ctl);
/* The attribute that asks for the controller per connection. */
enum attr_id cgroup_ctl_attr(enum cgroup_ctl);
/* The controller a limit attribute (per connection or service-wide)
 * needs, or -1. */
int cgroup_attr_ctl(enum attr_id);

/* sandbox.c: names as configuration files write them (-1 or NULL when
 * there is no such name), and a service's sandbox, built when the
 * configuration is checked (NULL when it has none, or after a diagnostic);
 * the configuration owns it. */
int sandbox_cap_number(const char *name);
const char *sandbox_cap_name(int);
int sandbox_family_number(const char *name);
int sandbox_errno_number(const char *name);
const char *sandbox_errno_name(int);
bool sandbox_syscall_known(const char *name);
/* Whether porterd has capability cap in its effective set. */
bool sandbox_have_cap(int cap);
struct sandbox *sandbox_new(const struct service_config *, struct diag *);
void sandbox_free(struct sandbox *);
/* Whether it has a system call filter (a SIGSYS came from it). */
bool sandbox_has_filter(const struct sandbox *);
/* The kernel log's record of the call a filter killed a server for:
 * watched from the first filtered spawn; the call's name, or NULL. */
void sandbox_watch_kills(void);
const char *sandbox_killed_call(pid_t pid);
void sandbox_end(void);
/* In the vfork child, around the change of credentials: system calls only.
 * On failure -1 with errno, and *stage names the step. */
int sandbox_child_before_creds(const struct sandbox *, bool uid_change, const char **stage);
int sandbox_child_after_creds(const struct sandbox *, const char **stage);

/* ns.c: a service's namespaces and the mounts of its servers' view of
 * the file system, prepared when the configuration is checked (NULL when
 * it has none, or after a diagnostic); the configuration owns it. */
struct ns_plan *ns_plan_new(const struct service_config *, struct diag *);
void ns_plan_free(struct ns_plan *);
/* The clone flags of the namespaces a server gets a new one of. */
int ns_clone_flags(const struct ns_plan *);
/* In the parent before the clone: what the plan shares between servers
 * (the empty network namespace), made the first time; -1 with errno. */
int ns_prepare(struct ns_plan *);
/* In the clone child, first: system calls only. On failure -1 with errno,
 * and *stage names the step. */
int ns_child(const struct ns_plan *, const char **stage);

/* Moves the entries that have a fault out of svc into broken, to be
 * shown but not served; returns how many. */
size_t conf_set_aside(struct config *);

/*
 * Whose reading of inetd.conf: the inetds disagree on what a protocol word
 * means (inetutils-inetd's tcp is IPv4 only, openbsd-inetd's listens on
 * IPv4 and IPv6) and on whether a line that starts with a blank continues
 * the one before it (only openbsd-inetd's does).
 */
enum inetd_dialect {
	INETD_OPENBSD,   /* Debian's default inetd, openbsd-inetd */
	INETD_INETUTILS, /* GNU inetutils-inetd */
};

struct config *conf_new(void);
void conf_free(struct config *);
struct service_config *conf_service_new(const char *name, struct loc);
void conf_service_free(struct service_config *);
/* Interns a file name; the config owns the copy. */
const char *conf_intern(struct config *, const char *file);
/* Appends a service; the config owns it from then on. */
void conf_add_service(struct config *, struct service_config *);
/* The service entry with this id (after defaulting id to name), or NULL. */
struct service_config *conf_find_id(const struct config *, const char *id);
/* Copies into a new service entry the defaults that reach it when it
 * starts (only_from, no_access, log_on_*, passenv, banners). */
void conf_defaults_copy(const struct config *, struct service_config *);
/* Marks attribute a of s as set at loc by s itself. */
void conf_service_set(struct service_config *s, enum attr_id a, struct loc loc);
/* Where attribute a of s was set; a zero loc when it is not. */
struct loc conf_service_at(const struct service_config *s, enum attr_id a);
static inline bool
conf_service_has(const struct service_config *s, enum attr_id a)
{
	return attr_set_has(&s->has, a);
}

/* Applies the defaults that are filled in after parsing, `enabled`,
 * `disabled` and `disable`, leaving only the services that will run. */
void conf_finish(struct config *, struct diag *);

/* The whole pipeline: parse the xinetd-style file (path, may be NULL), then
 * the inetd.conf file (may be NULL) in the given dialect, finish and check.
 * The caller looks at d->errors and frees the result. */
struct config *conf_load(const char *path, const char *inetd_path, enum inetd_dialect,
    struct diag *);

/* ----------------------------------------------------------- conf_attr.c */

/* The operator of an attribute line: '=', '+=' or '-='. */
enum attr_op { OP_SET, OP_ADD, OP_DEL };

/* Where an attribute may appear and how (struct conf_attr's how). */
#define W_SERVICE 0x01u
#define W_DEFAULTS 0x02u
#define K_SINGLE 0x04u     /* '=' only, once per entry */
#define K_LIST 0x08u       /* '=', '+=', '-='; cumulative in defaults */
#define K_ADD 0x10u        /* '=', '+=' (env) */
#define K_ALWAYS_ADD 0x20u /* enabled, disabled: every operator adds */
#define K_COPIED 0x40u     /* copied from defaults when a service starts */
#define K_FILLED 0x80u     /* filled from defaults after parsing */

/* The C type of a field that holds a number. */
enum attr_ctype { CT_NONE, CT_BOOL, CT_INT, CT_UINT, CT_ULONG };

/* Where an attribute keeps a value in struct service_config, for the hooks
 * that serve many attributes. */
struct attr_field {
	size_t off;            /* offsetof(struct service_config, ...) */
	size_t size;           /* 0: no field */
	enum attr_ctype ctype; /* numbers and yes/no: how to read and write it */
	long long lo, hi;      /* numbers: the range of a value */
};

struct conf_attr;
struct attr_name;
/* Reads the values of one line into s; false after a diagnostic. */
typedef bool conf_attr_parse_fn(struct diag *, struct service_config *s, const struct conf_attr *,
    enum attr_op, const struct strv *values, struct loc);
/* Copies the value from the defaults src into dst, replacing any there. */
typedef void conf_attr_copy_fn(struct service_config *dst, const struct service_config *src,
    const struct conf_attr *);
/* Prints the value in the canonical form, which the parser reads back. */
typedef void conf_attr_dump_fn(FILE *, const struct service_config *, const struct conf_attr *);
/* Whether the dump shows the attribute of s. */
typedef bool conf_attr_shown_fn(const struct service_config *, const struct conf_attr *);
/* Frees what the value owns; only conf_service_free calls it, just before it
 * frees s, so the fields are not reset. */
typedef void conf_attr_free_fn(struct service_config *, const struct conf_attr *);

/*
 * One attribute: an entry of the table in conf_attr.c, indexed by its
 * enum attr_id. Adding an attribute is its id, the field that holds it and
 * an entry; the grammar, the defaults, the dump and conf_service_free
 * follow the entry.
 */
struct conf_attr {
	const char *name;  /* as written in files */
	const char *alias; /* another name files may use, or NULL */
	unsigned how;      /* W_* and K_* */
	int min;           /* values on a line */
	int max;           /* -1: any number */
	conf_attr_parse_fn *parse;
	conf_attr_copy_fn *copy;   /* needed with K_COPIED or K_FILLED */
	conf_attr_dump_fn *dump;   /* NULL: never in the dump */
	conf_attr_shown_fn *shown; /* NULL: in the dump when set */
	conf_attr_free_fn *free;   /* NULL: the value owns no memory */
	/* What the shared hooks need to know. */
	struct attr_field field[2];    /* the value, or the two of a pair */
	const struct attr_name *names; /* the names of bits */
	bool unlimited;                /* UNLIMITED is a value too */
	const char *unit;              /* rlimit counts: "seconds", "files" */
	const char *ignored;           /* after the name: why an accepted line does nothing */
};

/* The attribute with this id. */
const struct conf_attr *conf_attr_get(enum attr_id);
/* The id of the attribute with this name or alias (case does not matter),
 * or -1. */
int conf_attr_lookup(const char *name);
/* The name of an attribute as written in files. */
const char *conf_attr_name(enum attr_id);
/* Names of type, flag and log_on_* bits, syslog facilities and levels, as
 * written in files. */
const char *conf_attr_type_name(unsigned bit);
const char *conf_attr_flag_name(unsigned bit);
const char *conf_attr_log_name(unsigned bit);
const char *conf_attr_facility_name(int facility);
const char *conf_attr_level_name(int level);

/* ---------------------------------------------------------- conf_parse.c */

/* Options of a parse. */
struct conf_opts {
	bool no_includes; /* refuse include/includedir (fuzzing) */
};

/* Parses a file in xinetd.conf syntax (following include and includedir)
 * into cf. Returns false when the file cannot be read at all. */
bool conf_parse_file(struct config *cf, const char *path, const struct conf_opts *, struct diag *);
/* The same from a buffer; name is used in diagnostics. */
void conf_parse_buffer(struct config *cf, const char *name, const char *buf, size_t len,
    const struct conf_opts *, struct diag *);

/* ---------------------------------------------------------- conf_inetd.c */

/* The dialect called name ("openbsd" or "inetutils"); false when there is
 * none of that name. */
bool conf_inetd_dialect(const char *name, enum inetd_dialect *);
/* Reads a classic inetd.conf into cf; an id already defined wins. Returns
 * false when the file cannot be read. */
bool conf_inetd_file(struct config *cf, const char *path, enum inetd_dialect, struct diag *);
void conf_inetd_buffer(struct config *cf, const char *name, const char *buf, size_t len,
    enum inetd_dialect, struct diag *);

/* ---------------------------------------------------------- conf_check.c */

/* Semantic checks of the finished configuration: required attributes,
 * users, groups, servers, ports, bind addresses, duplicate listeners. Also
 * resolves what the daemon needs (uid, gid, port, bind address). */
void conf_check(struct config *, struct diag *);
/* Whether s binds the wildcard address of its family (or no address). */
bool conf_check_binds_any(const struct service_config *s);

/* ----------------------------------------------------------- conf_dump.c */

/* Prints the services in canonical form, which conf_parse reads back to the
 * same configuration. */
void conf_dump(const struct config *, FILE *);

#endif
