/*
 * fuzz_conf.c: libFuzzer harness for the configuration parser. It parses
 * the input as xinetd.conf text (and as inetd.conf, in both dialects),
 * prints the canonical dump, parses the dump again and requires the same
 * dump: the parser must never crash, leak or hang, and the dump must say
 * exactly what it read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
fuzz_dump(struct config *cf, size_t *len)
{
	char *buf = NULL;
	FILE *fp = open_memstream(&buf, len);

	if (fp == NULL)
		abort();
	conf_dump(cf, fp);
	fclose(fp);
	return buf;
}

static void
fuzz_roundtrip(struct config *cf, struct diag *d)
{
	struct conf_opts opts = { .no_includes = true };
	struct config *again;
	struct diag d2 = { 0 };
	char *one, *two;
	size_t len1, len2;

	conf_finish(cf, d);
	one = fuzz_dump(cf, &len1);
	if (d->errors == 0) {
		again = conf_new();
		conf_parse_buffer(again, "dump", one, len1, &opts, &d2);
		conf_finish(again, &d2);
		two = fuzz_dump(again, &len2);
		if (d2.errors != 0 || len1 != len2 || memcmp(one, two, len1) != 0) {
			fprintf(stderr, "first dump:\n%s\nerrors of the reparse:\n", one);
			diag_print(&d2, stderr);
			fprintf(stderr, "second dump:\n%s\n", two);
			abort();
		}
		free(two);
		conf_free(again);
		diag_free(&d2);
	}
	free(one);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_opts opts = { .no_includes = true };
	struct config *cf;
	struct diag d = { 0 };

	cf = conf_new();
	conf_parse_buffer(cf, "fuzz", (const char *)data, size, &opts, &d);
	fuzz_roundtrip(cf, &d);
	conf_free(cf);
	diag_free(&d);

	/* Both dialects: they split lines and read protocols differently. */
	for (int dialect = INETD_OPENBSD; dialect <= INETD_INETUTILS; dialect++) {
		cf = conf_new();
		conf_inetd_buffer(cf, "fuzz", (const char *)data, size,
		    (enum inetd_dialect)dialect, &d);
		fuzz_roundtrip(cf, &d);
		conf_free(cf);
		diag_free(&d);
	}
	return 0;
}
