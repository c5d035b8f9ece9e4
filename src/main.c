/*
 * main.c: porterd's command line, in xinetd's spelling as well as its own,
 * and the start-up order. `-t` and `-T` run exactly the parse-and-check path
 * the daemon runs at start-up and reload, then print and exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

struct options {
	const char *conf;
	const char *inetd_conf;
	bool check;
	bool dump;
	bool foreground;
	bool stayalive;
	const char *pidfile;
	const char *filelog;
	const char *syslog_facility;
	const char *control;
	long limit;
	long logprocs;
};

static void
usage(FILE *fp)
{
	fputs("usage: porterd [-t | -T] [-F] [-f file] [-i inetd.conf] [-inetd_compat]\n"
	      "               [-P pidfile] [-C control-socket] [-filelog file]\n"
	      "               [-syslog facility] [-limit n] [-stayalive] [-version]\n",
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

static void
parse_options(int argc, char **argv, struct options *o)
{
	bool conf_given = false;

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
		else if (strcmp(a, "-inetd_compat") == 0)
			o->inetd_conf = PORTER_INETD_CONF;
		else if (strcmp(a, "-F") == 0 || strcmp(a, "-d") == 0 ||
		    strcmp(a, "-dontfork") == 0) {
			o->foreground = true;
			o->stayalive = true;
		} else if (strcmp(a, "-stayalive") == 0)
			o->stayalive = true;
		else if (strcmp(a, "-P") == 0 || strcmp(a, "-pidfile") == 0)
			o->pidfile = need_arg(argc, argv, &i);
		else if (strcmp(a, "-filelog") == 0)
			o->filelog = need_arg(argc, argv, &i);
		else if (strcmp(a, "-syslog") == 0)
			o->syslog_facility = need_arg(argc, argv, &i);
		else if (strcmp(a, "-C") == 0)
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
	if (o->syslog_facility != NULL && o->filelog != NULL) {
		fputs("porterd: -syslog and -filelog exclude each other\n", stderr);
		exit(EXIT_USAGE);
	}
	/* With -i alone, the inetd.conf file is the whole configuration. */
	if (!conf_given && o->inetd_conf == NULL)
		o->conf = PORTER_DEFAULT_CONF;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct diag d = { 0 };
	struct config *cf;
	int rc = 0;

	parse_options(argc, argv, &o);
	cf = conf_load(o.conf, o.inetd_conf, &d);
	diag_print(&d, stderr);
	if (d.errors > 0) {
		rc = EXIT_CONFIG;
	} else if (o.dump) {
		conf_dump(cf, stdout);
	} else if (o.check) {
		puts("configuration OK");
	} else {
		fputs("porterd: serving is not built yet; use -t or -T\n", stderr);
		rc = 1;
	}
	config_free(cf);
	diag_free(&d);
	return rc;
}
