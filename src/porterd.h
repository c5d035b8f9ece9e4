/*
 * porterd.h: the structures and prototypes every part of porterd shares,
 * grouped by the file that implements them. The configuration model comes
 * first because everything else is built from it: the parser fills it, the
 * checks resolve it, the daemon serves it.
 */
#ifndef PORTERD_H
#define PORTERD_H

#include <netinet/in.h>
#include <signal.h>
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
};

/* A place in a configuration file. file points at a string the config owns. */
struct loc {
	const char *file;
	int line;
};

void diag_error(struct diag *, struct loc, const char *fmt, ...) PRINTF(3, 4);
void diag_warn(struct diag *, struct loc, const char *fmt, ...) PRINTF(3, 4);
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

/*
 * The compiled form of a service's only_from and no_access, built at load
 * time. A numeric lookup costs one hash probe per distinct prefix length in
 * the lists, whatever the number of rules. When both lists match, the more
 * specific match wins (an exact address or host name, then a .domain by its
 * number of labels, then a network by its prefix length); an exact tie
 * denies. Host and domain rules need the client's reverse-DNS name.
 */
struct acl;

enum acl_verdict { ACL_ALLOW, ACL_DENY, ACL_NEED_NAME };

/* only_from_set: the attribute was given (an empty list denies everyone). */
struct acl *acl_compile(const struct addrlist *only_from, bool only_from_set,
    const struct addrlist *no_access);
void acl_free(struct acl *);
bool acl_has_names(const struct acl *);
/* The decision for an address (AF_INET: 4 bytes, AF_INET6: 16, already
 * de-mapped); ACL_NEED_NAME when a host or domain rule could change it. why
 * gets the deciding rule, e.g. "no_access 10.0.0.0/8" or "not in only_from". */
enum acl_verdict acl_check(const struct acl *, int family, const uint8_t *addr, char *why,
    size_t whylen);
/* The decision once the reverse name is known (NULL: the address has none);
 * never ACL_NEED_NAME. */
enum acl_verdict acl_check_name(const struct acl *, int family, const uint8_t *addr,
    const char *name, char *why, size_t whylen);
/* Whether minute (0..1439, local time) falls in one of the ranges; an empty
 * list allows all day. */
bool access_times_allow(const struct timerange *, size_t n, int minute);

/* ------------------------------------------------------------- limits.c */

/*
 * Limits as pure functions: the clock (milliseconds, monotonic) and the
 * address are passed in, nothing here reads the time or the system, so the
 * unit tests need no sleeping. Tables are sized at creation and never grow
 * past it, so a flood of sources cannot grow memory.
 */

/* A client's source as counted by per_source: the address masked to the
 * service's per_source_prefix (32/128 = the exact address). */
struct srckey {
	uint8_t family;
	uint8_t addr[16];
};

void limits_srckey(struct srckey *, int family, const uint8_t *addr, int prefix4, int prefix6);

/* Concurrent servers per source. */
struct srccount;
struct srccount *limits_count_new(size_t max_sources);
void limits_count_free(struct srccount *);
unsigned limits_count_get(const struct srccount *, const struct srckey *);
/* false when the table is full (the caller refuses the client). */
bool limits_count_inc(struct srccount *, const struct srckey *);
void limits_count_dec(struct srccount *, const struct srckey *);

/* cps = RATE WAIT: more than RATE connections within one second. */
struct cps_state {
	uint64_t window; /* start of the current one-second window */
	unsigned count;
};
/* Counts a connection at now; true when it is over the rate (the caller
 * pauses the listener for WAIT seconds and resets the state). */
bool limits_cps(struct cps_state *, unsigned rate, uint64_t now);

/* per_source_cps = RATE BURST: a token bucket per source. */
struct srcrate;
struct srcrate *limits_rate_new(size_t max_sources, unsigned rate, unsigned burst);
void limits_rate_free(struct srcrate *);
/* Takes a token for key at now; false when its bucket is empty. A full
 * table forgets its stalest (fullest) bucket first. */
bool limits_rate_take(struct srcrate *, const struct srckey *, uint64_t now);

/* The SENSOR deny list: global, bounded, expiring. */
#define SENSOR_MAX 10240
struct sensor;
struct sensor *limits_sensor_new(size_t max);
void limits_sensor_free(struct sensor *);
/* until: expiry in loop_now() milliseconds, UINT64_MAX = forever. A full
 * list replaces the entry that expires first. */
void limits_sensor_add(struct sensor *, int family, const uint8_t *addr, uint64_t until);
bool limits_sensor_denied(struct sensor *, int family, const uint8_t *addr, uint64_t now);
/* Drops expired entries; returns how many remain. */
size_t limits_sensor_expire(struct sensor *, uint64_t now);

/* The one-minute load average from the text of /proc/loadavg; -1 on bad
 * input. */
double limits_parse_loadavg(const char *text);

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

/* ---------------------------------------------------------- conf_parse.c */

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
	A_ACCESS_TIMES,
	A_ONLY_FROM,
	A_NO_ACCESS,
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
	A_DENY_TIME,
	A_RPC_VERSION,
	A_RPC_NUMBER,
	A_LIBWRAP,
	A_MDNS,
	A_ENABLED,
	A_DISABLED,
	A_MAX
};
_Static_assert(A_MAX <= 64, "attribute sets are 64-bit masks");

/* type = ... */
#define T_RPC 0x01u
#define T_INTERNAL 0x02u
#define T_UNLISTED 0x04u
#define T_TCPMUX 0x08u
#define T_TCPMUXPLUS 0x10u

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
	struct loc loc;     /* the line that opened the entry */
	uint64_t has;       /* bit (1 << attr_id): set here or copied from the defaults */
	struct attr_at *at; /* where the entry set its own attributes */
	unsigned nat;
	const struct service_config *defaults; /* where the others of has come from */
	uint64_t own;                          /* bit (1 << attr_id): set in this entry */
	bool is_defaults;
	bool from_inetd;  /* made from an inetd.conf line */
	bool broken;      /* a line of the entry was refused */
	uint64_t refused; /* bit (1 << attr_id): a line for it was refused */

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
	char *bind;          /* address or host name, as written */
	bool v6only;
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
	unsigned timeout;       /* seconds, 0 none */
	unsigned redirect_idle; /* seconds, 0 none */
	struct timerange *access_times;
	size_t naccess_times;
	struct addrlist only_from;
	struct addrlist no_access;
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
	int deny_time;           /* seconds; DENY_FOREVER; 0 = NEVER */
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
	int family;                        /* AF_INET or AF_INET6 */
	int family_conf;                   /* the family asked for, before any fallback */
	union sockaddr_in46 redirect_addr; /* the relay's target */
	socklen_t redirect_len;
};

#define DENY_FOREVER (-1)

struct config {
	struct service_config *defaults; /* NULL when the files have none */
	struct service_config **svc;     /* every service entry, in file order */
	size_t nsvc;
	struct strv files; /* file names that struct loc points into */
	unsigned include_depth;
};

/* Options of a parse. */
struct conf_opts {
	bool no_includes; /* refuse include/includedir (fuzzing) */
};

struct config *conf_new(void);
void conf_free(struct config *);
struct service_config *conf_service_new(const char *name, struct loc);
void conf_service_free(struct service_config *);
/* The name of an attribute as written in files. */
const char *conf_attr_name(enum attr_id);
/* Names of type, flag and log_on_* bits, syslog facilities and levels, as
 * written in files. */
const char *conf_type_name(unsigned bit);
const char *conf_flag_name(unsigned bit);
const char *conf_log_name(unsigned bit);
const char *conf_facility_name(int facility);
const char *conf_level_name(int level);
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
	return (s->has >> a) & 1u;
}

/* Parses a file in xinetd.conf syntax (following include and includedir)
 * into cf. Returns false when the file cannot be read at all. */
bool conf_parse_file(struct config *cf, const char *path, const struct conf_opts *, struct diag *);
/* The same from a buffer; name is used in diagnostics. */
void conf_parse_buffer(struct config *cf, const char *name, const char *buf, size_t len,
    const struct conf_opts *, struct diag *);
/* Applies the defaults that are filled in after parsing, `enabled`,
 * `disabled` and `disable`, leaving only the services that will run. */
void conf_finish(struct config *, struct diag *);

/* The whole pipeline: parse the xinetd-style file (path, may be NULL), then
 * the inetd.conf file (may be NULL), finish and check. The caller looks at
 * d->errors and frees the result. */
struct config *conf_load(const char *path, const char *inetd_path, struct diag *);

/* ---------------------------------------------------------- conf_inetd.c */

/* Reads a classic inetd.conf into cf; an id already defined wins. Returns
 * false when the file cannot be read. */
bool conf_inetd_file(struct config *cf, const char *path, struct diag *);
void conf_inetd_buffer(struct config *cf, const char *name, const char *buf, size_t len,
    struct diag *);

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

/* ================================================================ runtime */

/* ---------------------------------------------------------------- main.c */

/* What the daemon learnt at start-up and every part may read. */
struct porter {
	char **environ0; /* the environment porterd started with */
	bool root;       /* running as uid 0: credentials apply */
	bool foreground;
	int devnull;                /* /dev/null, close-on-exec */
	uint64_t child_nofile_soft; /* RLIMIT_NOFILE for servers */
	uint64_t child_nofile_hard;
	long limit;               /* -limit: servers at once, 0 = none */
	const char *conf_path;    /* -f file, absolute; NULL with -i alone */
	const char *inetd_path;   /* -i file, absolute, or NULL */
	time_t start_time;        /* wall clock when serving started */
	uint64_t reloads;         /* reloads applied */
	uint64_t reload_failures; /* reloads refused for errors */
};
extern struct porter porter;

/* Reloads the configuration as SIGHUP does. The diagnostics go to the
 * daemon log and into d (owned by the caller); returns the number of errors
 * (0: the new configuration is in force). */
size_t main_reload(struct diag *d);

/* ---------------------------------------------------------------- log.c */

enum log_dest { LOGTO_STDERR, LOGTO_SYSLOG, LOGTO_FILE };

/* Where porterd's own messages go; path for LOGTO_FILE. -1 when the file
 * cannot be opened. */
int log_init(enum log_dest, const char *path, int facility, bool debug);
void log_reopen(void);
void log_end(void);                            /* closes and frees everything (exit) */
void log_warn(const char *, ...) PRINTF(1, 2); /* appends strerror(errno) */
void log_warnx(const char *, ...) PRINTF(1, 2);
void log_info(const char *, ...) PRINTF(1, 2);
void log_debug(const char *, ...) PRINTF(1, 2);
_Noreturn void fatal(const char *, ...) PRINTF(1, 2); /* appends strerror(errno) */
_Noreturn void fatalx(const char *, ...) PRINTF(1, 2);

struct svc;
/* A per-service line (START, EXIT, FAIL, ...) to the service's log_type, or
 * to the daemon log when the service has none. */
void log_service(const struct svc *, const char *, ...) PRINTF(2, 3);
/* Closes the service log files so the next line reopens them (SIGHUP). */
void log_service_reopen(void);

/* ---------------------------------------------------------------- loop.c */

/* A watched file descriptor; the owner embeds it and keeps it alive while
 * armed. */
struct watch {
	int fd;
	void (*fn)(int fd, uint32_t events, void *arg);
	void *arg;
	bool armed;
};

struct timer {
	uint64_t when; /* loop_now() milliseconds */
	size_t slot;   /* heap index + 1; 0 when not pending */
	void (*fn)(void *arg);
	void *arg;
};

typedef void loop_signal_fn(int signo);

int loop_init(const sigset_t *signals, loop_signal_fn *);
int loop_watch(struct watch *, uint32_t events); /* add or modify */
void loop_unwatch(struct watch *);
void loop_run(void);
void loop_stop(void);
void loop_end(void);     /* frees what the loop holds (exit) */
uint64_t loop_now(void); /* monotonic milliseconds */
/* Frees p after the current round of events, when no handler of the round
 * can still look at it. */
void loop_defer_free(void *p, void (*freefn)(void *));
void loop_timer_set(struct timer *, uint64_t ms);
void loop_timer_cancel(struct timer *);

/* -------------------------------------------------------------- peer.c */

/* A peer or local address, with IPv4-mapped IPv6 turned into plain IPv4. */
struct peer {
	union sockaddr_in46 sa;
	socklen_t len;
};

static inline int
peer_family(const struct peer *p)
{
	return p->sa.sa.sa_family;
}

void peer_normalize(struct peer *);
/* Numeric text of the address alone ("127.0.0.1", "::1"). */
void peer_addr(const struct peer *, char *buf, size_t len);
int peer_port(const struct peer *);
/* The address bytes (4 for AF_INET, 16 for AF_INET6) and the family, as
 * access rules and limits take them. */
const uint8_t *peer_bytes(const struct peer *, int *family);

/* ------------------------------------------------------------ resolve.c */

/* name: the reverse-DNS name in lower case, or NULL when there is none. */
typedef void resolve_fn(void *arg, const char *name);
struct rquery;
/* Starts a reverse lookup of peer; fn is called from the loop. NULL when
 * the lookup cannot be queued (the caller treats the client as nameless). */
struct rquery *resolve_peer(const struct peer *, resolve_fn *, void *arg);
/* fn will not be called (the query itself finishes in the background). */
void resolve_cancel(struct rquery *);
void resolve_end(void);

/* -------------------------------------------------------------- ident.c */

/* userid: "USERID : UNIX : name" on success, else NULL with reason one of
 * xinetd's words ("no server", "timeout", "system error", "error while
 * receiving response", "bad response"). */
typedef void ident_fn(void *arg, const char *userid, const char *reason);
struct ident;
struct ident *ident_start(const struct peer *remote, const struct peer *local, unsigned timeout_ms,
    ident_fn *, void *arg);
void ident_cancel(struct ident *);

/* ------------------------------------------------------------ service.c */

enum svc_kind {
	SVC_SPAWN,         /* a server per client (or one with wait = yes) */
	SVC_INTERNAL,      /* a builtin served in the loop */
	SVC_REDIRECT,      /* a relay in the loop */
	SVC_TCPMUX,        /* the tcpmux builtin itself */
	SVC_TCPMUX_CLIENT, /* type TCPMUX/TCPMUXPLUS: reached through tcpmux */
	SVC_SENSOR,        /* flags SENSOR */
};

/*
 * A running service: the listener and counters that survive a reload, and
 * the configuration entry currently in force (owned by the current config).
 * Everything the connection path needs is prepared here at load time.
 */
struct svc {
	struct service_config *conf;
	enum svc_kind kind;
	int internal;    /* internal.c builtin index */
	struct watch lw; /* the listening (or UDP) socket */
	int fd;
	bool paused;         /* not watching the listener */
	unsigned pause_why;  /* PAUSE_* bits */
	struct timer resume; /* EMFILE / cps re-arm */
	unsigned running;    /* servers or internal sessions running */
	uint64_t accepted;
	uint64_t refused;
	uint64_t emfile_said; /* when EMFILE was last logged */
	uint64_t fail_when;   /* builtin datagrams: the last FAIL line */
	union sockaddr_in46 fail_peer;
	bool mark;    /* reload: still in the new config */
	bool removed; /* closed; freed when its last child is gone */

	/* Guards, built at load time (a reload rebuilds them). */
	struct acl *acl;
	struct srccount *per_source; /* NULL: per_source unlimited */
	struct srcrate *src_rate;    /* NULL: no per_source_cps */
	struct cps_state cps;
	struct pconn *pending; /* clients waiting for a name or ident */
	char *banner[3];       /* banner, banner_success, banner_fail */
	size_t banner_len[3];

	/* Prepared for spawn. */
	char **argv; /* server path first, NULL-terminated */
	const char *path;
	char **env;      /* passenv values and env; not copies (see svc_prepare) */
	bool env_shared; /* env is the array of services without env or passenv */
	size_t nenv;
	gid_t *groups;
	int ngroups;
	bool keep_creds;    /* the server's credentials are porterd's */
	char *local_ip_env; /* TCPLOCALIP=, when the listener has one address */
	char *local_port_env;
	struct svc *next;
};

#define PAUSE_WAIT 0x1u      /* a wait = yes server has the socket */
#define PAUSE_EMFILE 0x2u    /* out of descriptors */
#define PAUSE_CPS 0x4u       /* over the connection rate */
#define PAUSE_RETRY 0x10u    /* fork failed; try again later */
#define PAUSE_LOOKUP 0x20u   /* wait = yes: deciding on the first datagram */
#define PAUSE_DISABLED 0x40u /* disabled at run time (porterctl) */

enum { BANNER, BANNER_SUCCESS, BANNER_FAIL };
#define BANNER_MAX (64 * 1024)

extern struct svc *svc_list;

/* Builds the services of cf, reusing the listeners of old services with the
 * same key; returns 0, or -1 when a listener cannot be opened (the old
 * services then stay as they were). */
int service_apply(struct config *cf);
void service_pause(struct svc *, unsigned why);
void service_resume(struct svc *, unsigned why);
/* Closes every listener (shutdown). */
void service_close_all(void);
/* Closes and frees every service (exit). */
void service_free_all(void);
size_t service_count(void);
void service_free(struct svc *);
/* The running service with this id, or NULL. */
struct svc *service_find(const char *id);
/* Stops or resumes accepting on svc at run time (PAUSE_DISABLED); running
 * servers are left alone, and a reload keeps the state. Returns false when
 * svc already was in that state. */
bool service_set_disabled(struct svc *, bool disabled);

/* ----------------------------------------------------------- listener.c */

/* Opens, binds and listens the socket of s; returns the fd or -1 with a
 * message in err. */
int listener_open(struct service_config *s, char *err, size_t errlen);
/* Whether two entries can share one listening socket across a reload. */
bool listener_same(const struct service_config *a, const struct service_config *b);
/* Applies the options of s that can change on a kept socket. */
void listener_tune(int fd, const struct service_config *s);

/* ------------------------------------------------------------- accept.c */

void accept_ready(int fd, uint32_t events, void *arg);
/* The path of an accepted client: checks, then the wait for a name or an
 * ident answer when needed, then the builtin, relay or server; takes conn. */
void accept_client(struct svc *, int conn, const struct peer *);
/* The checks of a datagram to a builtin: true when it may be answered. */
bool accept_datagram_ok(struct svc *, const struct peer *);
/* The global SENSOR list, created on first use. */
struct sensor *accept_sensor(void);
/* Closes an answered client without turning unread input into a reset. */
void accept_close_gently(int conn);
/* Logs START or FAIL lines in xinetd's format. */
void accept_log_start(const struct svc *, pid_t, const struct peer *);
void accept_log_fail(const struct svc *, const char *reason, const struct peer *);
/* Drops the connections waiting for a retry of svc (removed or exit). */
void accept_forget(const struct svc *);

/* -------------------------------------------------------------- spawn.c */

/* Per-connection variables spawn adds to a prepared environment. */
#define SPAWN_ENV_EXTRA 12
/* Makes room for the environment of a server whose service has nenv
 * variables of its own. */
void spawn_env_reserve(size_t nenv);

/* Starts the server of svc on connection fd conn (or the service socket for
 * wait = yes); returns the pid, or -1 with errno set (fork failure). When
 * the child could not exec, *exec_err is its errno (it has logged why). */
pid_t spawn_server(struct svc *, int conn, const struct peer *, int *exec_err);

/* -------------------------------------------------------------- child.c */

struct child {
	pid_t pid;
	struct svc *svc;
	struct peer peer;
	uint64_t start; /* loop_now() */
	time_t start_wall;
	bool exec_failed;
	bool counted; /* holds a per_source slot under key */
	struct srckey key;
	struct timer cap; /* the timeout attribute */
	bool timed_out;
	uint64_t doomed;    /* removed service: SIGKILL after this time */
	struct child *next; /* hash chain */
};

/* Records a started server; counts it as running for svc. */
struct child *child_add(pid_t, struct svc *, const struct peer *);
struct child *child_find(pid_t);
/* Kills the server's process group after ms (the timeout attribute). */
void child_cap(struct child *, uint64_t ms);
void child_reap(void);
/* Sends sig to the process groups of svc's servers (all when svc is NULL). */
void child_kill(const struct svc *, int sig);
/* Detaches svc's servers from it before svc is freed; they are reaped
 * without an EXIT line. */
void child_orphan(const struct svc *);
size_t child_count(void);
void child_free_all(void);
/* Calls fn for every server in the table, in no particular order; fn must
 * not add or remove servers. */
void child_foreach(void (*fn)(void *arg, const struct child *), void *arg);

/* ----------------------------------------------------------- redirect.c */

/* Relays the accepted, non-blocking connection conn to svc's target; takes
 * conn. false (conn still the caller's) when no relay could be set up. */
bool redirect_start(struct svc *, int conn, const struct peer *);
/* Ends the relays of svc (all when NULL), logging them. */
void redirect_close(const struct svc *);
/* Calls fn for each connected relay: id, client, start (loop_now() ms),
 * bytes client to target, bytes target to client. */
void redirect_foreach(void (*fn)(void *arg, const char *id, const struct peer *peer,
                          uint64_t start_ms, uint64_t in, uint64_t out),
    void *arg);

/* ------------------------------------------------------------- tcpmux.c */

/* Reads the service name of an RFC 1078 client on conn; takes conn. */
void tcpmux_start(struct svc *, int conn, const struct peer *);
/* Drops the clients still naming a service (of svc, or all). */
void tcpmux_close(const struct svc *);

/* ----------------------------------------------------------- internal.c */

/* The builtin index of a name for a socket type, or -1. */
int internal_find(const char *name, int socket_type);
/* Serves an accepted stream connection in the loop; takes conn. */
void internal_stream(struct svc *, int conn, const struct peer *);
/* Serves the datagrams waiting on the service socket. */
void internal_dgram(struct svc *);
/* Closes the stream sessions of svc (all when NULL), e.g. when a reload
 * drops it; the memory goes after the current round of events. */
void internal_close(const struct svc *);
/* Closes and frees every session at once: only outside a round of events,
 * before loop_end(). */
void internal_shutdown(void);
/* Calls fn for each live stream session, as redirect_foreach does. */
void internal_foreach(void (*fn)(void *arg, const char *id, const struct peer *peer,
                          uint64_t start_ms, uint64_t in, uint64_t out),
    void *arg);

/* ------------------------------------------------------------ control.c */

/*
 * The control socket porterctl talks to. Without -C, porterd tries
 * PORTER_CONTROL; when it cannot create that, it falls back to
 * PORTER_CONTROL_FALLBACK_DIR/PORTER_CONTROL_NAME with its effective uid,
 * and porterctl looks there when PORTER_CONTROL does not exist.
 */
#define PORTER_CONTROL "/run/porter/control.sock"
#define PORTER_CONTROL_FALLBACK_DIR "/tmp/porter-%lu" /* printf'd with the euid */
#define PORTER_CONTROL_NAME "control.sock"
#define PORTER_DUMP_NAME "porterd.dump" /* SIGUSR1, next to the socket */

/* Opens the control socket at path (NULL: the default rule). Returns 0,
 * also when porterd goes on without one (after a warning), and -1 when
 * another porterd answers there and this one must not start. */
int control_init(const char *path);
/* Closes and removes the socket, and drops every client (exit). */
void control_end(void);
/* Writes the state dump (SIGUSR1) and logs where it went. */
void control_dump(void);

#endif
