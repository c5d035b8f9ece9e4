/*
 * porterd.h: the daemon's runtime, grouped by the file that implements each
 * part: the compiled guards (acl, limits), the loop, the services, the
 * connection path and the control socket. The configuration model it is
 * built from is conf.h; the control protocol it shares with porterctl is
 * ctl.h.
 */
#ifndef PORTERD_H
#define PORTERD_H

#include <signal.h>
#include <sys/queue.h>

#include "conf.h"
#include "ctl.h"

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

/* --------------------------------------------------------------- wrap.c */

#define WRAP_ALLOW_FILE "/etc/hosts.allow"
#define WRAP_DENY_FILE "/etc/hosts.deny"

/* The rules of hosts.allow and hosts.deny (hosts_access(5)). */
struct wrap;
struct wrap_rule;

/* A client as the rules see it. */
struct wrap_client {
	int family;
	const uint8_t *addr;
	char text[INET6_ADDRSTRLEN]; /* the address, numeric */
	bool name_known;             /* the reverse lookup is done */
	bool name_failed;            /* ... and failed: name patterns are unknown */
	bool paranoid;               /* ... found a name that does not confirm */
	const char *name;            /* the confirmed name, or NULL */
};

/* Reads both files (a missing one is empty); warnings in d for what cannot
 * be honoured. NULL when neither has a rule. */
struct wrap *wrap_load(const char *allow, const char *deny, struct diag *d);
void wrap_free(struct wrap *);
/* Whether a rule of w names one of daemons (NULL-terminated), or ALL. */
bool wrap_applies(const struct wrap *, const char *const *daemons);
/* The decision for a client of the service known as daemons: ACL_ALLOW,
 * ACL_DENY, or ACL_NEED_NAME while a name pattern has to see the name;
 * *deciding is the rule that decided, or NULL (no rule matched). */
enum acl_verdict wrap_check(const struct wrap *, const char *const *daemons,
    const struct wrap_client *, const struct wrap_rule **deciding);
/* "file:line: the rule" */
void wrap_rule_text(const struct wrap_rule *, char *buf, size_t len);

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
/* sc with room for max_sources, the counts kept (a new table when sc is
 * NULL or smaller; sc itself otherwise). */
struct srccount *limits_count_grow(struct srccount *, size_t max_sources);
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
/* The connections counted in the window that holds now. */
unsigned limits_cps_count(const struct cps_state *, uint64_t now);

/* per_source_cps = RATE BURST: a token bucket per source. */
struct srcrate;
struct srcrate *limits_rate_new(size_t max_sources, unsigned rate, unsigned burst);
void limits_rate_free(struct srcrate *);
/* Takes a token for key at now; false when its bucket is empty. A full
 * table forgets its stalest (fullest) bucket first. */
bool limits_rate_take(struct srcrate *, const struct srckey *, uint64_t now);
/* Whether limits_rate_take would succeed, changing nothing. */
bool limits_rate_peek(const struct srcrate *, const struct srckey *, uint64_t now);

/* The SENSOR deny list: global, bounded, expiring. */
#define SENSOR_MAX 10240
struct sensor;
struct sensor *limits_sensor_new(size_t max);
void limits_sensor_free(struct sensor *);
/* until: expiry in loop_now() milliseconds, UINT64_MAX = forever. A full
 * list replaces the entry that expires first. */
void limits_sensor_add(struct sensor *, int family, const uint8_t *addr, uint64_t until);
bool limits_sensor_denied(const struct sensor *, int family, const uint8_t *addr, uint64_t now);
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
	bool strict;              /* -strict: an error in one entry refuses all */

	/* -inetd_dialect: how the -i file is read, at start-up and reload */
	enum inetd_dialect inetd_dialect;
};
extern struct porter porter;

/* "N of M services listening": the services that have their socket, of
 * all in the configuration, those set aside for an error included. */
const char *main_listening(void);
/* The number of errors that refuse a configuration read with d: every
 * error with -strict, else those that are not one entry's alone. */
size_t main_refusing(const struct diag *d);
/* A reload begins: says so to the log and to systemd. */
void main_reloading(void);
/* Applies a configuration read for a reload, or refuses it when d holds
 * errors: takes cf and wrap; the diagnostics go to the daemon log and
 * into d (owned by the caller). Returns the number of errors (0: the new
 * configuration is in force). */
size_t main_reload(struct config *cf, struct wrap *wrap, struct diag *d);
struct reply;

/* Restart (handover.c): the new porterd is ready, so this one stops
 * accepting and frees the control socket; it failed after all, so this
 * one takes both back; it serves, so this one finishes and exits. */
void main_handover_pause(void);
/* The directory porterd was started in (an O_PATH descriptor, or -1). */
int main_start_dir(void);
/* porterctl restart: see handover_start. */
int main_restart(struct reply *r, char *err, size_t errlen);
void main_handover_resume(void);
void main_handed_over(pid_t pid);

/* ----------------------------------------------------------- handover.c */

struct reply;

/* porterctl restart in the running porterd: starts the new one with the
 * arguments this one had and hands it the sockets; r is answered when it
 * serves or has failed. -1 with err when it could not even start. */
int handover_start(struct reply *r, char **argv, char *err, size_t errlen);
/* r goes away unanswered (its client closed). */
void handover_forget(const struct reply *r);
/* Whether a restart is under way. */
bool handover_busy(void);
/* In the new porterd: whether it was started to take over. */
bool handover_taking_over(void);
/* Takes the sockets the old porterd sends into activate.c's pool; -1 when
 * they did not all come. */
int handover_receive(void);
/* Says READY and waits until the old one has stopped accepting; -1 when
 * it went away. */
int handover_ready(void);
/* Says UP: this porterd serves now. */
void handover_up(void);
/* Tells the old porterd why this one does not take over (start-up
 * failed); nothing when it was not started to take over. */
void handover_refuse(const char *why);

/* ---------------------------------------------------------------- log.c */

enum log_dest { LOGTO_STDERR, LOGTO_SYSLOG, LOGTO_FILE };

#define LOG_IDENT_MAX 32 /* the longest -syslog_ident */

/* The name in porterd's syslog lines and in its own text lines, "porterd"
 * unless set (before log_init) to one that log_ident_ok accepts. */
bool log_ident_ok(const char *);
void log_ident_set(const char *);

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
	LOGEV_NOID,
	LOGEV_SUPPRESSED, /* FAIL lines left out over the rate */
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
	const struct peer *via;   /* the balancer it came through, or NULL */
	const char *tls;          /* EXIT: the TLS version of the client's session, or NULL */
	const char *reason;       /* FAIL, NOID: why; EXIT: why a relay ended, or NULL */
	int status;               /* EXIT: as waitpid() gives it */
	long long duration;       /* EXIT: seconds */
	unsigned timeout;         /* EXIT: the timeout that killed the server, or 0 */
	unsigned cgroup_fired;    /* EXIT: CG_FIRED_* of the server's cgroup */
	uint64_t bytes_in;        /* TRAFFIC: client to target */
	uint64_t bytes_out;       /* TRAFFIC: target to client */
	uint64_t count;           /* SUPPRESSED: the FAIL lines left out */
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
/* SUPPRESSED: how many FAIL lines the rate left out (client.c). */
void log_suppressed(const struct log_event *);
/* The line of ev (kind set) in buf, NUL-terminated, as JSON or as text
 * without xinetd's stamp; returns its length. Never writes past len; a line
 * that does not fit is cut with a marker and stays valid JSON. now is the
 * JSON time. */
size_t log_render(const struct log_event *ev, bool json, const struct timespec *now, char *buf,
    size_t len);
/* Closes the service log files so the next line reopens them (SIGHUP). */
void log_service_reopen(void);

/* -------------------------------------------------------------- cgroup.c */

/* Start-up and each load: finds the host's cgroups again and logs them
 * when they changed ("cgroups: v1 (memory pids cpu)"). */
void cgroup_init(void);
/* Whether s sets a limit that takes a cgroup. */
bool cgroup_wanted(const struct service_config *);
/* One server's cgroup, made with its limits before the fork; NULL when
 * that failed (logged): the connection is refused. Owned by the child
 * record; cgroup_conn_end frees it. */
struct cgroup_conn *cgroup_conn_new(const struct service_config *);
/* In the spawn child: joins the cgroup (open, write, close only); -1
 * with errno. */
int cgroup_conn_join(const struct cgroup_conn *);
/* SIGKILL to everything in the cgroup (timeout, end of the server). */
void cgroup_conn_kill(struct cgroup_conn *);
#define CG_FIRED_OOM 0x1u          /* the memory cgroup killed for memory_max */
#define CG_FIRED_PIDS 0x2u         /* a fork failed for pids_max */
#define CG_FIRED_SERVICE_OOM 0x4u  /* ... for service_memory_max */
#define CG_FIRED_SERVICE_PIDS 0x8u /* ... for service_pids_max */
/* Which limits fired, for the EXIT line; status is the server's. */
unsigned cgroup_conn_fired(const struct cgroup_conn *, int status);
/* Kills what is left, removes the directories (from a timer when the
 * kernel is not done yet) and frees g; NULL does nothing. */
void cgroup_conn_end(struct cgroup_conn *);
/* Shutdown: one last try at the directories still waiting. */
void cgroup_end(void);
/* Each load, after cgroup_init: rewrites the service-wide limits of the
 * services whose cgroup directories exist. */
void cgroup_apply(const struct config *);

/* ---------------------------------------------------------------- loop.c */

/* A watched file descriptor; the owner embeds it and keeps it alive while
 * armed. */
struct watch {
	int fd;
	void (*fn)(int fd, uint32_t events, void *arg);
	void *arg;
	bool armed;
};

/* A timer; the owner embeds it and keeps it alive while pending. */
struct timer {
	uint64_t when; /* loop_now() milliseconds */
	void (*fn)(void *arg);
	void *arg;
	bool pending;
	struct timer *child, *next, *prev; /* loop.c's heap links */
};

/* A free put off to the end of the round of events; the owner embeds it in
 * the record to be freed. */
struct loop_defer {
	void *p;
	void (*fn)(void *);
	struct loop_defer *next;
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
void loop_defer_free(struct loop_defer *, void *p, void (*freefn)(void *));
void loop_timer_set(struct timer *, uint64_t ms);
void loop_timer_cancel(struct timer *);

/* -------------------------------------------------------------- peer.c */

/* A peer or local address, with IPv4-mapped IPv6 turned into plain IPv4. */
struct peer {
	union sockaddr_in46 sa;
	socklen_t len;
	/* AF_UNIX: the client's credentials, from the kernel; no address. */
	uint32_t uid, gid;
	int32_t pid; /* 0: not known (a datagram's sender may leave it out) */
};

static inline int
peer_family(const struct peer *p)
{
	return p->sa.sa.sa_family;
}

void peer_normalize(struct peer *);
/* A Unix client's credentials, read from its connection: SO_PEERCRED. */
void peer_unix(struct peer *, int fd);
/* Numeric text of the address alone ("127.0.0.1", "::1"). */
void peer_addr(const struct peer *, char *buf, size_t len);
int peer_port(const struct peer *);
/* The address bytes (4 for AF_INET, 16 for AF_INET6) and the family, as
 * access rules and limits take them. */
const uint8_t *peer_bytes(const struct peer *, int *family);

/* ------------------------------------------------------------ resolve.c */

enum resolve_status {
	RESOLVE_NAME,     /* a forward-confirmed name */
	RESOLVE_NONE,     /* no name */
	RESOLVE_PARANOID, /* a name whose addresses are not the client's */
	RESOLVE_FAILED,   /* the resolver did not answer */
};
/* name: the reverse-DNS name in lower case when status is RESOLVE_NAME,
 * else NULL. */
typedef void resolve_fn(void *arg, enum resolve_status, const char *name);
struct rquery;
/* Starts a reverse lookup of peer; fn is called from the loop. NULL when
 * the lookup cannot be queued (the caller treats the client as nameless). */
struct rquery *resolve_peer(const struct peer *, resolve_fn *, void *arg);
/* fn will not be called (the query itself finishes in the background). */
void resolve_cancel(struct rquery *);
void resolve_end(void);

/* ------------------------------------------------------------- reload.c */

enum reload_kind {
	RELOAD_APPLY, /* read the configuration and put it in force */
	RELOAD_CHECK, /* read it and say what is wrong with it */
};
/* Someone who waits for a load: fn is called from the loop, with the
 * load's diagnostics, when it is done (never from inside reload_request).
 * The waiter belongs to its caller, who must reload_cancel it before
 * freeing it. */
struct reload_waiter;
typedef void reload_fn(struct reload_waiter *, const struct diag *);
struct reload_waiter {
	enum reload_kind kind;
	reload_fn *fn;
	struct reload_list *list; /* NULL: not waiting */
	TAILQ_ENTRY(reload_waiter) link;
};
/* Asks for a load of porter.conf_path and porter.inetd_path (and the
 * hosts.allow and hosts.deny files) in a thread; w may be NULL (SIGHUP). */
void reload_request(enum reload_kind, struct reload_waiter *w);
void reload_cancel(struct reload_waiter *);
/* Closes what loads left open (exit). */
void reload_end(void);

/* ------------------------------------------------------- proxy_header.c */

#define PROXY_V1_MAX 107 /* the longest version 1 line, CRLF included */
#define PROXY_MAX 4096   /* the longest header porterd reads */

/* What a PROXY header says. local: the connection's own ends stand (a
 * LOCAL command, UNSPEC or UNKNOWN); else src is the client and dst the
 * address it connected to. The TLV texts are printable ASCII, "" when
 * absent. */
struct proxy_info {
	int version;
	bool local;
	bool ssl; /* the client came over TLS */
	struct peer src, dst;
	char authority[256];
	char unique_id[129];
	char ssl_cn[256];
	char alpn[64];
	/* Sent by proxy_build for a client porterd took TLS from. */
	bool ssl_cert;     /* it sent a certificate */
	bool ssl_verified; /* ... which was verified */
	char ssl_version[16];
	char ssl_cipher[64];
};
/* Reads the header at the start of buf: its length (> 0) with info
 * filled, 0 when the bytes so far begin a header that is not whole yet,
 * -1 when they are not a header of a version in accept (PROXY_V1 |
 * PROXY_V2), with why saying what is wrong. */
ssize_t proxy_parse(const uint8_t *buf, size_t len, unsigned accept, struct proxy_info *info,
    const char **why);
/* Writes a header of version PROXY_V1 or PROXY_V2 for a client src that
 * connected to dst; version 2 carries the AUTHORITY and UNIQUE_ID of tlvs
 * (may be NULL) when set. Returns its length, 0 when cap is too small. */
size_t proxy_build(unsigned version, const struct peer *src, const struct peer *dst,
    const struct proxy_info *tlvs, uint8_t *buf, size_t cap);

/* ---------------------------------------------------------------- tls.c */

/* Why a handshake failed: the reason word of the log and the metrics. */
enum tls_fail {
	TLS_FAIL_TIMEOUT,
	TLS_FAIL_CLOSED,
	TLS_FAIL_NOT_TLS,
	TLS_FAIL_PROTOCOL,
	TLS_FAIL_CIPHER,
	TLS_FAIL_ALPN,
	TLS_FAIL_CLIENT_CERT,
	TLS_FAIL_OTHER,
	TLS_FAIL_MAX
};
extern const char *const tls_fail_words[TLS_FAIL_MAX];

/* A certificate a service serves, for status and metrics. */
struct tls_cert {
	char *file;
	char subject[256]; /* RFC 2253 */
	struct strv names; /* DNS names and addresses it is good for */
	time_t not_after;
};

/* What a service learns of a client's session (mod_ssl's names); empty
 * strings for what it does not have. */
struct tls_info {
	const char *protocol; /* "TLSv1.3" */
	char cipher[64];
	char sni[256];
	char alpn[256];
	char verify[128]; /* NONE, SUCCESS or FAILED:reason */
	char s_dn[256];
	char i_dn[256];
	char serial[80];
	char sha256[65];
};

struct tls;
/* The certificates of a context. */
const struct tls_cert *tls_ctx_certs(const struct tls_ctx *, size_t *n);
/* A server session of the context on no socket, as an SSL *: the fuzzer
 * gives it memory BIOs. */
void *tls_ctx_session(struct tls_ctx *);
/* A session on the client's socket fd (not owned until tls_relay); NULL
 * when out of memory. */
struct tls *tls_new(struct tls_ctx *, int fd);
/* One step of the handshake: 1 done, 0 wait for *events on the socket,
 * -1 failed (*fail and detail say why). */
int tls_handshake(struct tls *, uint32_t *events, enum tls_fail *, char *detail, size_t len);
const struct tls_info *tls_info(struct tls *);
/* Takes the session and its socket over after the handshake: returns the
 * service's end of a socketpair (non-blocking if asked), whose other end
 * is relayed to the session, or -1 (the caller then calls tls_free). Call
 * tls_relay_start once the service has its end. */
int tls_relay(struct tls *, bool nonblock);
void tls_relay_start(struct tls *);
/* A redirect's relay: the session goes straight to its backend. */
struct tls_hooks {
	void (*moved)(void *arg);              /* plaintext moved */
	void (*ended)(void *arg, bool failed); /* over: call tls_free */
};
/* Relays the session to fd (the backend's socket, which it takes) instead
 * of a socketpair; false when it cannot (the caller calls tls_free). */
bool tls_attach(struct tls *, int fd, const struct tls_hooks *, void *arg);
/* The plaintext moved so far, client to backend and back. */
void tls_bytes(const struct tls *, uint64_t *up, uint64_t *down);
/* Ends a session, and closes its socket. */
void tls_free(struct tls *);
/* Ends every relayed session (exit). */
void tls_close_all(void);

/* How a client reached porterd: through a balancer (the balancer, and what
 * its PROXY header said; client.c reads it), over TLS, or both. Passed as
 * NULL for a plain client that connected directly. */
struct origin {
	bool proxied; /* via and info are the balancer and its header */
	struct peer via;
	struct proxy_info info;
	const struct tls_info *tls; /* the client's session, or NULL */
	struct peer local;          /* with tls: the address the client reached */
	/* A redirect over TLS: the session itself, for redirect_start to
	 * relay straight to the backend (it takes it); NULL otherwise. */
	struct tls *session;
};

/* -------------------------------------------------------------- ident.c */

/* userid: "USERID : UNIX : name" on success, else NULL with reason one of
 * xinetd's words ("no server", "timeout", "system error", "error while
 * receiving response", "bad response"). */
typedef void ident_fn(void *arg, const char *userid, const char *reason);
struct ident;
#define IDENT_MAX 128      /* lookups in flight, all clients */
#define IDENT_PER_SOURCE 4 /* lookups in flight for one client address */
#define IDENT_TIMEOUT_MS 5000
/* Sets up and frees the caps' table (start-up, exit). */
void ident_init(void);
void ident_end(void);
/* Asks remote's ident server about the connection from remote to local;
 * fn is called from the loop. NULL when the lookup cannot start: a cap is
 * reached, or no socket (the caller counts it as no answer). */
struct ident *ident_start(const struct peer *remote, const struct peer *local, unsigned timeout_ms,
    ident_fn *, void *arg);
void ident_cancel(struct ident *);
/* The USERID part of an RFC 1413 reply of len bytes (its first line, from
 * the word USERID on, cut to fit user) into user; NULL, or the reason word
 * of a reply that is not a USERID answer. Pure, for the fuzzer too. */
const char *ident_parse_reply(const char *reply, size_t len, char *user, size_t userlen);

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
	bool disabled;       /* porterctl disable: the listener is closed */
	unsigned backlog;    /* clients that waited in the queue while held */
	struct timer resume; /* EMFILE / cps re-arm */
	unsigned running;    /* servers or internal sessions running */
	uint64_t accepted;
	uint64_t refused;
	uint64_t tls_handshakes;             /* finished */
	uint64_t tls_failures[TLS_FAIL_MAX]; /* failed, by reason */
	uint64_t emfile_said;                /* when EMFILE was last logged */
	unsigned respawns;                   /* wait = yes servers in a row that exited at once */
	uint64_t fail_window;                /* FAIL lines: the second being counted */
	unsigned fail_lines;                 /* ... the lines written in it */
	uint64_t fail_suppressed;            /* ... and those left out */
	uint64_t detail_window;              /* the lines that say why: the second being counted */
	unsigned detail_lines;               /* ... the lines written in it */
	struct timer fail_timer;             /* writes the SUPPRESSED line */
	struct loop_defer dead;              /* freed at the end of a round (reload) */
	bool mark;                           /* reload: still in the new config */
	bool removed;                        /* closed; freed when its last child is gone */
	bool adopted;                        /* fd was given, not bound (activate.c) */

	/* Guards, built at load time (a reload rebuilds them). */
	struct acl *acl;
	struct acl *proxy_acl;       /* proxy_from: who must send a PROXY header */
	char *wrap_names[3];         /* its names in hosts.allow/deny: id (or libwrap), server */
	bool wrapped;                /* a rule of hosts.allow/deny names it */
	struct srccount *per_source; /* NULL: per_source unlimited */
	struct srcrate *src_rate;    /* NULL: no per_source_cps */
	struct cps_state cps;
	LIST_HEAD(, client) waiting; /* clients parked by a phase (client.c) */
	char *banner[3];             /* banner, banner_success, banner_fail */
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
	STAILQ_ENTRY(svc) link;
};

#define PAUSE_WAIT 0x1u      /* a wait = yes server has the socket */
#define PAUSE_EMFILE 0x2u    /* out of descriptors */
#define PAUSE_CPS 0x4u       /* over the connection rate */
#define PAUSE_RETRY 0x10u    /* fork failed; try again later */
#define PAUSE_LOOKUP 0x20u   /* wait = yes: deciding on the first datagram */
#define PAUSE_HELD 0x40u     /* porterctl pause: clients wait in the queue */
#define PAUSE_HANDOVER 0x80u /* restart: the new porterd accepts */

#define DGRAM_SOURCE_RATE 10  /* per_source_cps of a datagram builtin ... */
#define DGRAM_SOURCE_BURST 20 /* ... that sets none */

enum { BANNER, BANNER_SUCCESS, BANNER_FAIL };
#define BANNER_MAX (64 * 1024)

STAILQ_HEAD(svc_head, svc);
extern struct svc_head svc_list; /* the services in force, in file order */

/* A session's hold on its service's counts: one in running, and the
 * client's per_source slot when the service counts sources. */
struct service_slot {
	bool counted; /* holds a per_source slot under key */
	struct srckey key;
};

/* Whether a service takes clients now: its socket is open (the tcpmux
 * service's, for one reached through tcpmux) and it is not disabled. */
bool service_up(const struct svc *);
/* How many services are up. */
size_t service_listening(void);
/* The entries of the configuration in force set aside for an error. */
extern struct service_config *const *service_broken;
extern size_t service_nbroken;

/* Counts a new session (server, relay, builtin session) of svc for peer
 * (NULL: no address); service_release gives back what it took. These two
 * are the only writers of running and the per_source table. */
void service_take(struct svc *, const struct peer *, struct service_slot *);
void service_release(struct svc *, struct service_slot *);
/* Ends what runs inside porterd for svc (all services when NULL): parked
 * clients, builtin sessions, relays, tcpmux clients naming a service. */
void service_close_sessions(const struct svc *);

/* Builds the services of cf, reusing the listeners of old services with the
 * same key, and puts them in force: cf is in force afterwards in every
 * case. Returns 0, or -1 when some listener could not be opened; those
 * services stay in the list without one (status: down). */
int service_apply(struct config *cf);
void service_pause(struct svc *, unsigned why);
void service_resume(struct svc *, unsigned why);
/* Closes every listener (shutdown). */
void service_close_all(bool handed_over);
/* Closes and frees every service (exit). */
void service_free_all(void);
size_t service_count(void);
void service_free(struct svc *);
/* The running service with this id, or NULL. */
struct svc *service_find(const char *id);
/* The rules of hosts.allow and hosts.deny in force (NULL: none), and a
 * new set to apply with the next service_apply (taken over). */
const struct wrap *service_wrap(void);
void service_wrap_set(struct wrap *);
/* Stops or resumes accepting on svc at run time (PAUSE_DISABLED); running
 * servers are left alone, and a reload keeps the state. Returns false when
 * svc already was in that state. */
/* porterctl disable and enable: a disabled service has no listener, so
 * that clients are refused at once; enabling opens it again. Returns 1
 * when the state changed, 0 when it was already so, -1 when the listener
 * could not be opened (err says why). */
int service_set_disabled(struct svc *, bool disabled, char *err, size_t errlen);
/* porterctl pause and resume: clients wait in the kernel's queue. Returns
 * whether the state changed. */
bool service_set_held(struct svc *, bool held);

/* -------------------------------------------------------------- guard.c */

/* The checks in the order the connection path makes them, cheapest first. */
enum guard_check {
	GUARD_SENSOR,      /* the SENSOR deny list */
	GUARD_LOAD,        /* max_load */
	GUARD_TIME,        /* access_times */
	GUARD_ACCESS,      /* only_from and no_access, with the name when needed */
	GUARD_PEER,        /* only_uid, only_gid, no_uid, no_gid: a Unix client */
	GUARD_LIBWRAP,     /* hosts.allow and hosts.deny */
	GUARD_CPS,         /* cps: clients let in this second */
	GUARD_INSTANCES,   /* instances */
	GUARD_PER_SOURCE,  /* per_source */
	GUARD_PROCESSES,   /* -limit: servers at once, all services */
	GUARD_SOURCE_RATE, /* per_source_cps */
	GUARD_IDENT,       /* flags IDONLY: the client's ident server must answer */
	GUARD_NCHECKS
};

enum guard_verdict {
	GUARD_PASS,
	GUARD_REFUSE,
	GUARD_WAIT, /* needs the client's name or ident answer first */
};

/* What a decision depends on; nothing else is read. */
struct guard_input {
	const struct svc *svc;
	int family;
	const uint8_t *addr; /* de-mapped; NULL: no address (wait = yes stream, Unix) */
	bool unix_peer;      /* a Unix client: uid and gid say who it is */
	uint32_t uid, gid;
	const gid_t *groups; /* its supplementary groups, when known */
	size_t ngroups;
	bool name_known;    /* name is the answer of the reverse lookup */
	const char *name;   /* NULL: the address has no name */
	bool name_failed;   /* the lookup failed: a name rule that applies denies */
	bool name_paranoid; /* the name found does not confirm (PARANOID) */
	bool ident_known;   /* userid is the answer of the ident server */
	const char *userid; /* NULL: no answer */
	uint64_t now;       /* loop_now() */
	int minute;         /* of the day, local time */
	double load;        /* one-minute load average; -1 unknown */
	size_t servers;     /* servers running, all services */
	long limit;         /* -limit, 0 none */
	const struct sensor *sensor;
	const struct wrap *wrap; /* hosts.allow and hosts.deny */
};

struct guard_step {
	uint8_t check;   /* enum guard_check */
	uint8_t verdict; /* enum guard_verdict */
	double cur;      /* counts and load: the current value */
	double max;      /* ... and its maximum, < 0 unlimited */
};

struct guard_trace {
	struct guard_step step[GUARD_NCHECKS];
	size_t n;
	int refused;     /* index of the first refusal, -1 none */
	bool wait_name;  /* a name rule needs the reverse name */
	bool wait_ident; /* IDONLY needs the ident answer */
};

#define GUARD_ALL 0x1u     /* go on past a refusal: the whole trace */
#define GUARD_ARRIVED 0x2u /* the rates were counted when the client arrived */
#define GUARD_TEXT_MAX 512

/* Evaluates every check that applies to the service in order into t;
 * without GUARD_ALL it stops at the first refusal. Pure: reads in alone. */
void guard_eval(const struct guard_input *, unsigned flags, struct guard_trace *);
/* The first refusal of t, or NULL. */
const struct guard_step *guard_refusal(const struct guard_trace *);
/* Counts the client in the rates its trace went through (cps and
 * per_source_cps): the daemon's one side effect of a decision. */
void guard_commit(struct svc *, const struct guard_input *, const struct guard_trace *);
/* The explanation of a step for operators and the rule it applies. */
void guard_describe(const struct guard_input *, const struct guard_step *, char *detail,
    size_t dlen, char *rule, size_t rlen);
/* The check's name as explain shows it, and xinetd's reason word for a
 * refusal by it ("address", "service_limit", ...). */
const char *guard_name(enum guard_check);
const char *guard_reason(enum guard_check);
/* The global SENSOR deny list: created on first use by guard_sensor,
 * NULL until then from guard_sensor_list; freed by guard_end. */
struct sensor *guard_sensor(void);
const struct sensor *guard_sensor_list(void);
void guard_end(void);
/* The one-minute load average, read at most once a second; -1 unknown. */
double guard_loadavg(uint64_t now);
/* The minute of the day now, local time. */
int guard_minute(void);

/* ----------------------------------------------------------- listener.c */

/* Opens, binds and listens the socket of s; returns the fd or -1 with a
 * message in err. */
int listener_open(struct service_config *s, char *err, size_t errlen);
/* Whether two entries can share one listening socket across a reload. */
bool listener_same(const struct service_config *a, const struct service_config *b);
/* Applies the options of s that can change on a kept socket. */
void listener_tune(int fd, const struct service_config *s);
/* Removes the socket file of a Unix service whose socket was closed. */
void listener_unlink(const struct service_config *s);
/* Whether fd, a socket porterd did not make, is the one s would bind: the
 * same type, protocol and address (getsockname against what s would bind,
 * for any family). If so, fd gets the flags s needs and is returned;
 * otherwise -1 with the difference in err. fd is never closed here. */
int listener_adopt(int fd, struct service_config *s, char *err, size_t errlen);

/* ----------------------------------------------------------- activate.c */

/*
 * Listening sockets porterd was given rather than made: systemd's
 * (LISTEN_FDS) and those of the porterd it took over from at a restart,
 * each with a name, usually a service id. A service takes the socket named
 * for it, or else one bound where it would bind; it gives it back when it
 * closes it, so that porterd never binds again what it was given.
 */
/* Reads and unsets LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES. */
void activate_init(void);
/* Adds fd (taken over) named name (copied; NULL: unnamed). */
void activate_add(int fd, const char *name, const char *from);
/* Says which names belong to a service of cf: a socket named for one
 * service is never taken by another for its address. */
void activate_expect(const struct config *cf);
/* The socket for s, or -1; what says where it came from goes to how. */
int activate_take(struct service_config *s, char *how, size_t howlen);
/* fd of service id goes back to the pool instead of being closed. */
void activate_return(int fd, const char *id);
/* Logs and closes the sockets given at start that no service took. */
void activate_strays(void);
/* Calls fn for each socket in the pool that no service holds. */
void activate_foreach(void (*fn)(void *arg, int fd, const char *name), void *arg);
/* Closes every socket of the pool (exit), and removes the files of the
 * Unix ones a restart gave, unless they were handed over again. */
void activate_end(bool handed_over);

/* ------------------------------------------------------------- client.c */

/*
 * An accepted connection on its way through the phases of client.c until
 * it is served or refused. It lives on the stack of the code that accepted
 * it and is copied to the heap (and onto its service's waiting list) only
 * when a phase has to wait.
 */
struct client {
	struct svc *svc;
	int fd;             /* the connection; -1: the service socket (wait = yes) */
	struct peer peer;   /* the client */
	bool has_peer;      /* false: a wait = yes stream service, the server accepts */
	uint8_t phase;      /* client.c's enum client_phase */
	bool heap;          /* parked: on svc->waiting, freed when done */
	bool holds_service; /* paused the service (PAUSE_LOOKUP) while parked */
	bool holds_slot;    /* counted in the service's limits while parked */
	bool retrying;      /* parked for a fork retry (client.c counts them) */
	struct service_slot slot;
	const char *why; /* reason word of a refusal or failure */
	bool arrived;    /* decided once: the rates have counted it */
	bool need_name;  /* the checks wait for the reverse name */
	bool need_ident; /* ... and for the ident answer (IDONLY) */
	bool name_known;
	bool has_name;
	bool name_failed;
	bool name_paranoid;
	bool ident_known;
	bool has_userid;
	int tries;         /* fork attempts */
	struct rquery *rq; /* reverse lookup in flight */
	struct ident *id;  /* ident query in flight */
	struct timer t;    /* the phase's deadline or retry */
	struct watch w;    /* the connection, while the PROXY header is read */
	bool proxied;      /* origin holds the balancer and its header */
	bool proxy_late;   /* the header did not come in time */
	bool proxy_eof;    /* the client ended before its header was whole */
	struct origin origin;
	struct tls *tls;     /* the handshake under way */
	uint32_t tls_events; /* ... waits for these */
	bool tls_late;       /* ... did not finish in time */
	bool tls_timer;      /* ... its deadline is set */
	bool has_tls;        /* fd is the service's end of the session's relay */
	struct tls_info tls_info;
	LIST_ENTRY(client) entry;
	struct loop_defer dead;
	char name[256];
	char userid[256];
};

/* A readable listener or service socket. */
void client_ready(int fd, uint32_t events, void *arg);
/* The path of an accepted client from its first phase; takes conn. */
void client_start(struct svc *, int conn, const struct peer *);
/* The decision on a datagram to a builtin, counted: true when it may be
 * answered. reflected: its source port answers datagrams itself. */
bool client_datagram(struct svc *, const struct peer *, bool reflected);
/* Closes an answered client without turning unread input into a reset. */
void client_close_gently(int conn);
/* Logs a FAIL line (log.c's log_fail) unless the service has written its
 * share of them this second: those are counted in one SUPPRESSED line. */
void client_log_fail(struct svc *, const char *reason, const struct peer *);
/* The same for a client that came through the balancer via (or NULL). */
void client_log_fail_via(struct svc *, const char *reason, const struct peer *,
    const struct peer *via);
/* The inputs of a decision made now about a client of svc (peer NULL: no
 * address): the clock, the load, the servers running, the sensor list. */
void client_guard_input(struct guard_input *, const struct svc *, const struct peer *);
/* Drops the clients parked for svc (all when NULL): reload or exit. */
void client_forget(const struct svc *);

/* -------------------------------------------------------------- spawn.c */

/* Per-connection variables spawn adds to a prepared environment. */
#define SPAWN_TLS_VARS 9 /* SSL_PROTOCOL and the rest, over TLS */
#define SPAWN_ENV_EXTRA (17 + SPAWN_TLS_VARS)
/* Makes room for the environment of a server whose service has nenv
 * variables of its own. */
void spawn_env_reserve(size_t nenv);

/* Starts the server of svc on connection fd conn (or the service socket for
 * wait = yes), in cgroup cg unless NULL; returns the pid, or -1 with errno
 * set (fork failure). When the child could not exec or set itself up,
 * *exec_err is its errno (it has logged why). */
pid_t spawn_server(struct svc *, int conn, const struct peer *, const struct origin *,
    const struct cgroup_conn *cg, int *exec_err);

/* -------------------------------------------------------------- child.c */

struct child {
	pid_t pid;
	struct svc *svc;
	struct peer peer;
	uint64_t start; /* loop_now() */
	time_t start_wall;
	bool exec_failed;
	const char *tls; /* the client's TLS version, or NULL */
	struct service_slot slot;
	struct timer cap; /* the timeout attribute */
	bool timed_out;
	struct cgroup_conn *cg;  /* its cgroup, or NULL; owned */
	uint64_t doomed;         /* removed service: SIGKILL after this time */
	LIST_ENTRY(child) chain; /* hash chain */
};

/* A record for a server about to start, allocated before the fork so
 * that a started server can always be recorded; NULL when out of memory. */
struct child *child_new(void);
/* Records a started server in c (from child_new); takes its place in
 * svc's counts. */
void child_add(struct child *c, pid_t, struct svc *, const struct peer *);
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
bool redirect_start(struct svc *, int conn, const struct peer *, const struct origin *);
/* Ends the relays of svc (all when NULL), logging them. */
void redirect_close(const struct svc *);
/* Calls fn for each connected relay: id, client, start (loop_now() ms),
 * bytes client to target, bytes target to client. */
void redirect_foreach(void (*fn)(void *arg, const char *id, const struct peer *peer,
                          uint64_t start_ms, uint64_t in, uint64_t out),
    void *arg);

/* -------------------------------------------------------- tcpmux_line.c */

#define TCPMUX_MORE (-1)     /* no whole line yet */
#define TCPMUX_TOO_LONG (-2) /* none within max bytes */
/* The service name of the RFC 1078 line at the start of buf (n bytes
 * read, lines of at most max bytes) into name; returns the length of the
 * line with its LF, to be taken from the socket, or TCPMUX_MORE or
 * TCPMUX_TOO_LONG. Pure, for the fuzzer too. */
ssize_t tcpmux_line(const char *buf, size_t n, size_t max, char *name, size_t namelen);

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
/* Learns, at each load, which source ports a datagram builtin must not
 * answer (after the service list is in place). */
void internal_prepare(void);
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

/* --------------------------------------------------------------- cbuf.c */

/*
 * The control socket: control.c serves it and checks each request against
 * ctl.h's table, command.c answers it, render.c and cbuf.c write the
 * answers, and dump.c writes the same tables to a file on SIGUSR1.
 */

#define CBUF_MAX (4u << 20) /* the longest answer or state dump */

/* Text being built, owned by whoever fills it and freed with cbuf_free.
 * full: it would have grown past CBUF_MAX or memory ran out; whatever is
 * added after that is dropped, and the owner sends an error instead. */
struct cbuf {
	char *p; /* NUL-terminated once anything was added */
	size_t len;
	size_t cap;
	bool full;
};

void cbuf_add(struct cbuf *, const char *, size_t);
void cbuf_puts(struct cbuf *, const char *);
void cbuf_printf(struct cbuf *, const char *, ...) PRINTF(2, 3);
void cbuf_free(struct cbuf *);
/* A JSON string, quotes included; NULL is null. */
void cbuf_json(struct cbuf *, const char *);
/* "key": inside an object, with a comma before it unless *first. */
void cbuf_key(struct cbuf *, bool *first, const char *key);

/* ------------------------------------------------------------- render.c */

/*
 * Rows as a text table (each column as wide as its widest cell, numbers
 * aligned right, the heading first) or as a JSON array with one object a
 * line. A command lists its columns once and gives each row as values in
 * the same order; the renderer picks what each form shows.
 */
#define RENDER_COLS 16

struct render_col {
	const char *key;  /* the JSON member; NULL: the table's alone */
	const char *head; /* the table's heading; NULL: JSON's alone */
	unsigned pos;     /* with head: where the table shows it, from 0 */
	bool right;       /* aligned right in the table */
	const char *none; /* the table's text for null; NULL: "-" */
};

enum render_type { RENDER_NULL, RENDER_STR, RENDER_NUM, RENDER_WORDS, RENDER_RAW };

/* A value of a row. The strings stay the caller's; they are read (and, for
 * the table, copied) by render_row. */
struct render_val {
	enum render_type type;
	const char *s;            /* RENDER_STR */
	const char *const *words; /* RENDER_WORDS: JSON's array of strings */
	unsigned long long n;     /* RENDER_NUM: the number; RENDER_WORDS: how many */
};

struct render_val render_str(const char *); /* NULL: null */
struct render_val render_num(unsigned long long);
struct render_val render_null(void);
struct render_val render_words(const char *const *, size_t);
/* JSON written as it is (NULL: null); the table shows no such column. */
struct render_val render_raw(const char *json);

/* A table or array being written into b, which stays the caller's; cols
 * must outlive it. */
struct render {
	struct cbuf *b;
	bool json;
	const struct render_col *cols;
	size_t ncol;
	size_t ntext;           /* columns with a heading */
	size_t at[RENDER_COLS]; /* the column shown at each place of the table */
	size_t nrows;
	struct strv cells; /* the table so far, heading first */
};

void render_begin(struct render *, struct cbuf *b, bool json, const struct render_col *cols,
    size_t ncol);
/* One row: n values, one for each column in their order. */
void render_row(struct render *, const struct render_val *, size_t n);
/* Writes the table, or closes the array, and frees what the render held. */
void render_end(struct render *);
/* ISO 8601 in UTC, "2024-01-31T23:59:59Z". */
void render_time(time_t, char *buf, size_t len);

/* ------------------------------------------------------------ command.c */

/* A request being answered: control.c fills json and uid and runs the
 * command, which writes the body and, for an ERR answer, err. The body is
 * the reply's: control.c sends and frees it. A command that has to wait
 * (reload and check wait for reload.c) sets pending and calls done when
 * the answer is whole; the reply must then outlive the request, and its
 * owner must reload_cancel wait if it goes away first. */
struct reply {
	bool json;     /* --json was among the words */
	uid_t uid;     /* who asked, for the log */
	char err[256]; /* set: the answer is ERR with this message */
	struct cbuf body;
	bool pending;
	void (*done)(struct reply *);
	struct reload_waiter wait;
};

/* security.c: porterctl security [ID], what spawned servers could still
 * do in their sandbox. */
void security_command(struct reply *, int argc, char **argv);

/* Runs command c with its arguments (as many as ctl.h allows it). */
void command_run(enum ctl_cmd c, struct reply *, int argc, char **argv);
/* The bodies of status and connections, also for the state dump. */
void command_status(struct cbuf *, bool json);
void command_connections(struct cbuf *, bool json);

/* --------------------------------------------------------------- dump.c */

/* Writes the state dump into dir and logs where it went, or why not. */
void dump_write(const char *dir);

/* ------------------------------------------------------------ control.c */

/* Runs one request line for r (whose uid and done are set; the line is
 * modified) and returns true when the answer is whole: then
 * control_reply has written it into out. false: the command waits, and
 * r->done is called when it is whole. */
bool control_request(char *line, struct reply *r, struct cbuf *out);
/* Writes r's answer into out ("OK\n" or "ERR msg\n", then the body) and
 * frees the body. */
void control_reply(struct reply *r, struct cbuf *out);
/* Opens the control socket porterctl talks to at path (NULL: the rule of
 * ctl.h, PORTER_CONTROL or the fallback under /tmp). Returns 0, also when
 * porterd goes on without one (after a warning), and -1 when another
 * porterd answers there and this one must not start. */
int control_init(const char *path);
/* Closes and removes the socket, and drops every client (exit). */
void control_end(void);
/* Restart: closes the listening socket and removes its file, so that the
 * new porterd can make its own; the clients connected stay. control_init
 * opens it again. */
void control_suspend(void);
/* Writes the state dump (SIGUSR1) next to the socket, or where the
 * default socket would be when there is none. */
void control_dump(void);

#endif
