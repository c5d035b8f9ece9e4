/*
 * main.c: porterd's command line, in xinetd's spelling as well as its own,
 * and the start-up order. `-t` and `-T` run exactly the parse-and-check path
 * the daemon runs at start-up and reload, then print and exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "porterd.h"

#define STOP_GRACE_MS 3000 /* SIGTERM to SIGKILL for servers at shutdown */
#define CHILD_NOFILE_MAX 65536

extern char **environ;

struct porter porter;

struct options {
	const char *conf;
	const char *inetd_conf;
	enum inetd_dialect inetd_dialect;
	bool check;
	bool dump;
	bool foreground;
	bool stayalive;
	bool stayalive_given; /* -stayalive itself, not implied by -F */
	bool strict;
	const char *pidfile;
	const char *filelog;
	const char *syslog_facility;
	const char *syslog_ident;
	const char *control;
	long limit;
	long logprocs;
};

static void
usage(FILE *fp)
{
	fputs("usage: porterd [-t | -T] [-F] [-f file] [-i inetd.conf] [-inetd_compat]\n"
	      "               [-inetd_dialect openbsd | inetutils] [-inetd_ipv6]\n"
	      "               [-P pidfile] [-C control-socket] [-filelog file]\n"
	      "               [-syslog facility] [-syslog_ident name] [-limit n]\n"
	      "               [-stayalive] [-strict] [-version]\n",
	    fp);
}

static const char *
need_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "porterd: option %s needs an argument\n", argv[*i]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	return argv[++*i];
}

static long
need_num(int argc, char **argv, int *i)
{
	const char *opt = argv[*i];
	const char *v = need_arg(argc, argv, i);
	unsigned long long n;

	if (!util_parse_uint(v, 1u << 30, &n)) {
		fprintf(stderr, "porterd: option %s needs a number, not \"%s\"\n", opt, v);
		exit(EXIT_USAGE);
	}
	return (long)n;
}

static int
facility_of(const char *name)
{
	for (int f = 0; f < 24; f++) {
		const char *n = conf_attr_facility_name(f << 3);

		if (strcmp(n, "?") != 0 && strcmp(n, name) == 0)
			return f << 3;
	}
	fprintf(stderr, "porterd: unknown syslog facility \"%s\"\n", name);
	exit(EXIT_USAGE);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	bool conf_given = false, inetd_compat = false;
	const char *dialect = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-t") == 0)
			o->check = true;
		else if (strcmp(a, "-T") == 0)
			o->dump = true;
		else if (strcmp(a, "-f") == 0) {
			o->conf = need_arg(argc, argv, &i);
			conf_given = true;
		} else if (strcmp(a, "-i") == 0)
			o->inetd_conf = need_arg(argc, argv, &i);
		else if (strcmp(a, "-inetd_compat") == 0) {
			/* In addition to the main file, as in xinetd. */
			o->inetd_conf = PORTER_INETD_CONF;
			inetd_compat = true;
		} else if (strcmp(a, "-inetd_ipv6") == 0)
			; /* Debian's xinetd script passes it; the tcp and udp
			   * lines of an inetd.conf are dual stack already. */
		else if (strcmp(a, "-inetd_dialect") == 0) {
			dialect = need_arg(argc, argv, &i);
			if (!conf_inetd_dialect(dialect, &o->inetd_dialect)) {
				fprintf(stderr,
				    "porterd: -inetd_dialect: expected openbsd or inetutils, not \"%s\"\n",
				    dialect);
				usage(stderr);
				exit(EXIT_USAGE);
			}
		} else if (strcmp(a, "-F") == 0 || strcmp(a, "-d") == 0 ||
		    strcmp(a, "-dontfork") == 0) {
			o->foreground = true;
			o->stayalive = true;
		} else if (strcmp(a, "-stayalive") == 0)
			o->stayalive = o->stayalive_given = true;
		else if (strcmp(a, "-strict") == 0)
			o->strict = true;
		else if (strcmp(a, "-P") == 0 || strcmp(a, "-pidfile") == 0)
			o->pidfile = need_arg(argc, argv, &i);
		else if (strcmp(a, "-filelog") == 0)
			o->filelog = need_arg(argc, argv, &i);
		else if (strcmp(a, "-syslog") == 0)
			o->syslog_facility = need_arg(argc, argv, &i);
		else if (strcmp(a, "-syslog_ident") == 0) {
			o->syslog_ident = need_arg(argc, argv, &i);
			if (!log_ident_ok(o->syslog_ident)) {
				fprintf(stderr,
				    "porterd: -syslog_ident needs 1 to %d printable characters without blanks, ':', '[' or ']', not \"%s\"\n",
				    LOG_IDENT_MAX, o->syslog_ident);
				exit(EXIT_USAGE);
			}
		} else if (strcmp(a, "-C") == 0)
			o->control = need_arg(argc, argv, &i);
		else if (strcmp(a, "-limit") == 0)
			o->limit = need_num(argc, argv, &i);
		else if (strcmp(a, "-logprocs") == 0)
			o->logprocs = need_num(argc, argv, &i);
		else if (strcmp(a, "-reuse") == 0)
			; /* SO_REUSEADDR is always set */
		else if (strcmp(a, "-cc") == 0 || strcmp(a, "-shutdownprocs") == 0) {
			(void)need_num(argc, argv, &i);
			fprintf(stderr, "porterd: warning: %s is obsolete and ignored\n", a);
		} else if (strcmp(a, "-version") == 0 || strcmp(a, "-V") == 0 ||
		    strcmp(a, "--version") == 0) {
			printf("porterd %s\n", PORTER_VERSION);
			exit(0);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "porterd: unknown option \"%s\"\n", a);
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (o->syslog_facility != NULL)
		(void)facility_of(o->syslog_facility);
	if (o->syslog_facility != NULL && o->filelog != NULL) {
		fputs("porterd: -syslog and -filelog exclude each other\n", stderr);
		exit(EXIT_USAGE);
	}
	/* A dialect only says how to read an inetd.conf file: without one it
	 * would be ignored, so it is refused. */
	if (dialect != NULL && o->inetd_conf == NULL) {
		fputs("porterd: -inetd_dialect needs -i or -inetd_compat\n", stderr);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	/* With -i alone, the inetd.conf file is the whole configuration. */
	if (!conf_given && (o->inetd_conf == NULL || inetd_compat))
		o->conf = PORTER_DEFAULT_CONF;
}

static struct options opts;
static struct config *current;
static bool stopping;
static struct timer stop_timer;
static char **main_argv;
static int start_dir = -1;       /* where porterd was started, for a restart */
static pid_t handed_to;          /* restart: the porterd that serves now */
static struct timer drain_timer; /* ... while this one finishes */

#define DRAIN_CHECK_MS 100

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void
notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		log_warn("notify %s", path);
	close(fd);
}

/* Credentials only change when porterd runs as root; say so once. */
static void
warn_credentials(const struct config *cf)
{
	size_t n = 0;

	if (porter.root)
		return;
	for (size_t i = 0; i < cf->nsvc; i++)
		if (cf->svc[i]->have_uid && cf->svc[i]->uid != geteuid())
			n++;
	if (n > 0)
		log_info(
		    "porterd is not root: servers run as uid %d; the user and group of %zu service%s are not applied",
		    (int)geteuid(), n, n == 1 ? "" : "s");
}

/* Entries set aside for an error are not served; say which, and why. */
static void
log_broken(const struct config *cf)
{
	for (size_t i = 0; i < cf->nbroken; i++)
		log_warnx("%s: not served: %s", cf->broken[i]->id, cf->broken[i]->fault);
}

size_t
main_refusing(const struct diag *d)
{
	return porter.strict ? d->errors : d->fatal;
}

const char *
main_listening(void)
{
	static char buf[64];
	size_t all = service_count() + (current != NULL ? current->nbroken : 0);

	snprintf(buf, sizeof(buf), "%zu of %zu service%s listening", service_listening(), all,
	    all == 1 ? "" : "s");
	return buf;
}

void
main_reloading(void)
{
	char msg[64];
	struct timespec ts;

	/* systemd's Type=notify-reload wants the time with it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	notify(msg);
	log_info("reloading the configuration");
}

size_t
main_reload(struct config *cf, struct wrap *wrap, struct diag *d)
{
	size_t errors;

	if (stopping || handed_to > 0) {
		conf_free(cf);
		wrap_free(wrap);
		diag_error(d, (struct loc){ 0 }, "porterd is stopping");
		return d->errors;
	}
	for (size_t i = 0; i < d->lines.n; i++)
		log_warnx("%s", d->lines.v[i]);
	errors = main_refusing(d);
	if (errors > 0) {
		log_warnx("reload: %zu error%s; the configuration in force stays", d->errors,
		    d->errors == 1 ? "" : "s");
		conf_free(cf);
		wrap_free(wrap);
		log_reopen(); /* logrotate's SIGHUP still gets new files */
		porter.reload_failures++;
	} else {
		conf_set_aside(cf);
		log_broken(cf);
		cgroup_init();
		cgroup_apply(cf);
		service_wrap_set(wrap);
		activate_expect(cf);
		if (service_apply(cf) != 0) {
			log_warnx("reload: some services could not listen (see above)");
			diag_warn(d, (struct loc){ 0 },
			    "some services could not listen (see the daemon log)");
		}
		conf_free(current);
		current = cf;
		warn_credentials(current);
		log_reopen();
		log_info("reloaded: %s", main_listening());
		porter.reloads++;
	}
	notify("READY=1");
	return errors;
}

int
main_start_dir(void)
{
	return start_dir;
}

int
main_restart(struct reply *r, char *err, size_t errlen)
{
	if (stopping || handed_to > 0) {
		snprintf(err, errlen, "porterd is stopping");
		return -1;
	}
	return handover_start(r, main_argv, err, errlen);
}

void
main_handover_pause(void)
{
	struct svc *svc;

	STAILQ_FOREACH(svc, &svc_list, link)
	service_pause(svc, PAUSE_HANDOVER);
	control_suspend();
}

void
main_handover_resume(void)
{
	struct svc *svc;

	STAILQ_FOREACH(svc, &svc_list, link)
	service_resume(svc, PAUSE_HANDOVER);
	if (control_init(opts.control) != 0)
		log_warnx("control socket: taken by someone else; going on without one");
}

/* What this porterd still serves after a restart: its servers, relays,
 * builtin sessions and the clients on their way to one. */
static bool
drained(void)
{
	const struct svc *svc;

	if (child_count() > 0)
		return false;
	STAILQ_FOREACH(svc, &svc_list, link)
	if (svc->running > 0 || !LIST_EMPTY(&svc->waiting))
		return false;
	return true;
}

static void
drain_check(void *arg)
{
	(void)arg;
	if (drained()) {
		log_info("restart: everything here has finished; pid %d serves", (int)handed_to);
		loop_stop();
		return;
	}
	loop_timer_set(&drain_timer, DRAIN_CHECK_MS);
}

void
main_handed_over(pid_t pid)
{
	char msg[32];

	handed_to = pid;
	/* The new one says so too, but systemd takes it from the main
	 * process whatever NotifyAccess says. */
	snprintf(msg, sizeof(msg), "MAINPID=%d", (int)pid);
	notify(msg);
	service_close_all(true);
	drain_timer.fn = drain_check;
	drain_check(NULL);
}

static void
stop_now(void *arg)
{
	(void)arg;
	loop_stop();
}

static void
stop_force(void *arg)
{
	(void)arg;
	if (child_count() == 0) {
		loop_stop();
		return;
	}
	log_warnx("killing %zu server%s that did not stop", child_count(),
	    child_count() == 1 ? "" : "s");
	child_kill(NULL, SIGKILL);
	/* Reap them (and log their EXIT lines); give up after a second. */
	stop_timer.fn = stop_now;
	loop_timer_set(&stop_timer, 1000);
}

static void
shutdown_start(void)
{
	if (stopping)
		return;
	stopping = true;
	notify("STOPPING=1");
	log_info("stopping");
	service_close_all(false);
	service_close_sessions(NULL);
	if (child_count() == 0) {
		loop_stop();
		return;
	}
	child_kill(NULL, SIGTERM);
	stop_timer.fn = stop_force;
	loop_timer_set(&stop_timer, STOP_GRACE_MS);
}

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		child_reap();
		if (stopping && child_count() == 0)
			loop_stop();
		break;
	case SIGHUP:
	case SIGUSR2:
		/* SIGUSR2 stays a reload, as in xinetd: porterctl restart is
		 * the restart. */
		if (!stopping && handed_to == 0)
			reload_request(RELOAD_APPLY, NULL);
		break;
	case SIGTERM:
	case SIGINT:
		shutdown_start();
		break;
	case SIGQUIT:
		/* xinetd's habit: leave the servers running. */
		notify("STOPPING=1");
		log_info("quitting; servers keep running");
		loop_stop();
		break;
	case SIGUSR1:
		control_dump();
		break;
	}
}

/* Servers must find 0, 1 and 2 open, and no accepted socket may land
 * there. */
static void
fill_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static void
setup_limits(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	/* Servers get what porterd was given, capped: a container's hard
	 * limit of a billion descriptors is no soft limit for a server. */
	porter.child_nofile_soft = rl.rlim_cur > CHILD_NOFILE_MAX ? CHILD_NOFILE_MAX : rl.rlim_cur;
	porter.child_nofile_hard = rl.rlim_max > CHILD_NOFILE_MAX ? CHILD_NOFILE_MAX : rl.rlim_max;
	if (porter.child_nofile_hard < porter.child_nofile_soft)
		porter.child_nofile_hard = porter.child_nofile_soft;
	/* porterd itself holds two sockets and two pipes per relay: it takes
	 * what the hard limit allows, up to a million. */
	{
		rlim_t want = rl.rlim_max > (1u << 20) ? (1u << 20) : rl.rlim_max;

		if (rl.rlim_cur < want) {
			rl.rlim_cur = want;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
}

static void
daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		fatal("setsid");
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	dup2(porter.devnull, 0);
	dup2(porter.devnull, 1);
	if (opts.filelog != NULL || !opts.foreground)
		dup2(porter.devnull, 2);
}

static void
write_pidfile(void)
{
	char buf[32];
	int fd, n;

	if (opts.pidfile == NULL)
		return;
	/* A link planted where the pid file goes must not make root write
	 * through it. */
	fd = open(opts.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_warn("pid file %s", opts.pidfile);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n)
		log_warn("pid file %s", opts.pidfile);
	close(fd);
}

static char *
absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path == NULL || path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return path != NULL ? mem_strdup(path) : NULL;
	return mem_asprintf("%s/%s", cwd, path);
}

static int
serve(void)
{
	char *conf = absolute(opts.conf), *inetd = absolute(opts.inetd_conf);
	char *filelog = absolute(opts.filelog), *pidfile = absolute(opts.pidfile);
	const char *why = NULL; /* start-up failed: the restart hears why */
	sigset_t sigs;
	int rc = 0;

	opts.conf = conf;
	opts.inetd_conf = inetd;
	opts.filelog = filelog;
	opts.pidfile = pidfile;
	porter.environ0 = environ;
	porter.root = geteuid() == 0;
	porter.foreground = opts.foreground;
	porter.limit = opts.limit;
	porter.strict = opts.strict;
	porter.conf_path = opts.conf;
	porter.inetd_path = opts.inetd_conf;
	porter.inetd_dialect = opts.inetd_dialect;
	setup_limits();
	if ((porter.devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		fatal("/dev/null");
	if (opts.syslog_ident != NULL)
		log_ident_set(opts.syslog_ident);
	if (opts.filelog != NULL) {
		if (log_init(LOGTO_FILE, opts.filelog, LOG_DAEMON, false) != 0) {
			fprintf(stderr, "porterd: -filelog %s: %s\n", opts.filelog,
			    strerror(errno));
			exit(1);
		}
	} else if (opts.syslog_facility != NULL)
		log_init(LOGTO_SYSLOG, NULL, facility_of(opts.syslog_facility), false);
	else if (opts.foreground)
		log_init(LOGTO_STDERR, NULL, LOG_DAEMON, false);
	else
		log_init(LOGTO_SYSLOG, NULL, LOG_DAEMON, false);
	/* Before daemonize: LISTEN_PID names this process. */
	activate_init();
	if (handover_receive() != 0)
		why = "the sockets did not all come";
	/* A new porterd of a restart stays the old one's child until that
	 * one exits, so that the old one knows its pid. */
	if (!opts.foreground && !handover_taking_over())
		daemonize();
	if (chdir("/") != 0)
		log_warn("chdir /");
	write_pidfile();

	/* Start from default dispositions (a shell may have left SIGINT and
	 * SIGQUIT ignored); servers then only need SIGPIPE put back. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGQUIT);
	if (loop_init(&sigs, on_signal) != 0)
		fatal("event loop");
	ident_init();

	log_broken(current);
	cgroup_init();
	cgroup_apply(current);
	activate_expect(current);
	if (why == NULL && service_apply(current) != 0)
		log_warnx("some services could not listen (see above)");
	activate_strays();
	warn_credentials(current);
	porter.start_time = time(NULL);
	if (why != NULL) {
		rc = 1;
	} else if (service_count() + current->nbroken == 0 && !opts.stayalive) {
		log_warnx("no services; exiting");
		why = "no services";
		rc = 1;
	} else if (service_count() + current->nbroken > 0 && service_listening() == 0 &&
	    !opts.stayalive_given) {
		/* A daemon that serves nothing looks up to a supervisor; say it
		 * failed, so that it is restarted or someone looks. */
		log_warnx("none of the %zu services could be served; exiting",
		    service_count() + current->nbroken);
		why = "none of the services could be served";
		rc = 1;
	} else if (handover_ready() != 0) {
		why = "the old porterd went away";
		rc = 1;
	} else if (control_init(opts.control) != 0) {
		why = "the control socket is taken";
		rc = 1;
	} else {
		log_info("porterd %s started: %s", PORTER_VERSION, main_listening());
		if (handover_taking_over()) {
			char msg[48];

			/* Before the old one exits, so systemd follows. */
			snprintf(msg, sizeof(msg), "MAINPID=%d\nREADY=1", (int)getpid());
			notify(msg);
		} else
			notify("READY=1");
		handover_up();
		loop_run();
	}
	if (why != NULL)
		handover_refuse(why);

	control_end();
	internal_shutdown();
	service_free_all();
	reload_end();
	guard_end();
	child_free_all();
	cgroup_end();
	sandbox_end();
	resolve_end();
	ident_end();
	activate_end(handed_to > 0);
	loop_timer_cancel(&drain_timer);
	loop_end();
	/* After a restart the file is the new porterd's. */
	if (opts.pidfile != NULL && handed_to == 0)
		unlink(opts.pidfile);
	if (rc == 0)
		log_info("stopped");
	log_end();
	close(porter.devnull);
	free(conf);
	free(inetd);
	free(filelog);
	free(pidfile);
	return rc;
}

/* A restart's new porterd that cannot read its configuration tells the
 * old one why, which tells porterctl. */
static void
refuse_handover(const struct diag *d)
{
	char msg[3072];
	size_t o = 0;

	msg[0] = '\0';
	for (size_t i = 0; i < d->lines.n && o < sizeof(msg) - 1; i++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o, "%s%s", i > 0 ? "\n" : "",
		    d->lines.v[i]);
	if (o == 0)
		snprintf(msg, sizeof(msg), "%zu errors in the configuration", d->errors);
	handover_refuse(msg);
}

int
main(int argc, char **argv)
{
	struct diag d = { 0 };
	int rc = 0;

	main_argv = argv;
	parse_options(argc, argv, &opts);
	fill_std_fds();
	start_dir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* What porterd creates (control socket, pid and log files) and what
	 * servers inherit is never writable by others, whatever umask porterd
	 * was started with: the inherited one with 022 added, as xinetd. */
	umask(umask(0) | 022);
	current = conf_load(opts.conf, opts.inetd_conf, opts.inetd_dialect, &d);
	/* Read as the configuration is, so -t reports on them too. */
	service_wrap_set(wrap_load(WRAP_ALLOW_FILE, WRAP_DENY_FILE, &d));
	diag_print(&d, stderr);
	/* A check fails for any error; serving fails for one that is not
	 * one service's alone, or for any error with -strict. */
	if (d.errors > 0 && (opts.check || opts.dump || opts.strict || d.fatal > 0)) {
		rc = EXIT_CONFIG;
		refuse_handover(&d);
	} else if (opts.dump)
		conf_dump(current, stdout);
	else if (opts.check)
		puts("configuration OK");
	else {
		conf_set_aside(current);
		fflush(stderr);
		rc = serve();
	}
	conf_free(current);
	service_wrap_set(NULL);
	diag_free(&d);
	if (start_dir >= 0)
		close(start_dir);
	return rc;
}
