/*
 * fuzz_control.c: libFuzzer harness for the control socket's request
 * line, which any local user who may connect can send. The line runs
 * through porterd's own dispatch with no services loaded: it must not
 * crash or leak, and every answer starts with "OK\n" or "ERR ".
 * porterd's main.c is not linked, so its two symbols are stand-ins here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct porter porter;

/* A reload that finds nothing to read changes nothing. */
size_t
main_reload(struct diag *d)
{
	(void)d;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CTL_LINE_MAX + 1];
	struct cbuf out = { 0 };
	size_t n = size < CTL_LINE_MAX ? size : CTL_LINE_MAX;

	/* As control.c hands it over: one line, without its newline. */
	memcpy(line, data, n);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	control_request(line, 0, &out);
	if (out.len < 3 || (memcmp(out.p, "OK\n", 3) != 0 && memcmp(out.p, "ERR ", 4) != 0))
		abort();
	cbuf_free(&out);
	return 0;
}
