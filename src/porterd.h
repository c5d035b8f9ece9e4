/*
 * porterd.h: the daemon's runtime, grouped by the file that implements each
 * part: the compiled guards (acl, limits), the loop, the services and the
 * connection path. The configuration model it is built from is conf.h.
 */
#ifndef PORTERD_H
#define PORTERD_H

#include <signal.h>

#include "conf.h"

/* -------------------------------------------------------------- acl.c */

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
struct peer;
struct timespec;

enum log_event_kind {
	LOGEV_START,
	LOGEV_EXIT,
	LOGEV_FAIL,
	LOGEV_TRAFFIC,
	LOGEV_USERID,
	LOGEV_NOID
};

/*
 * What happened to one client of a service, as its per-service line says it:
 * the caller fills in what it knows, and log.c writes it as xinetd's text
 * line or as one JSON object, with the fields the service's log_on_success
 * or log_on_failure asks for. Every pointer is borrowed for the call.
 */
struct log_event {
	enum log_event_kind kind; /* set by log_start() and the others */
	const struct svc *svc;    /* its log_type and log_on_* apply */
	const char *id;           /* the id written; NULL: svc->conf->id */
	pid_t pid;                /* START, EXIT: 0 when no process was started */
	const struct peer *peer;  /* the client; NULL: "<no address>" */
	const char *reason;       /* FAIL, NOID: why; EXIT: why a relay ended, or NULL */
	int status;               /* EXIT: as waitpid() gives it */
	long long duration;       /* EXIT: seconds */
	unsigned timeout;         /* EXIT: the timeout that killed the server, or 0 */
	uint64_t bytes_in;        /* TRAFFIC: client to target */
	uint64_t bytes_out;       /* TRAFFIC: target to client */
	const char *userid;       /* USERID: the ident answer, as the peer sent it */
};

/* The per-service lines, each written to the service's log_type, or to the
 * daemon log when the service has none, when log_on_success or
 * log_on_failure asks for it. */
void log_start(const struct log_event *);
void log_exit(const struct log_event *);    /* a server or a relay ended */
void log_fail(const struct log_event *);    /* a client refused or not served */
void log_traffic(const struct log_event *); /* a relay's byte counts */
/* An ident answer: USERID with ev->userid, or NOID with ev->reason when
 * userid is NULL. */
void log_userid(const struct log_event *);
/* The line of ev (kind set) in buf, NUL-terminated, as JSON or as text
 * without xinetd's stamp; returns its length. Never writes past len; a line
 * that does not fit is cut with a marker and stays valid JSON. now is the
 * JSON time. */
size_t log_render(const struct log_event *ev, bool json, const struct timespec *now, char *buf,
    size_t len);
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
