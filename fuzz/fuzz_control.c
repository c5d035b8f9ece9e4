/*
 * fuzz_control.c: libFuzzer harness for the control socket's request
 * line, which any local user who may connect can send. The line runs
 * through porterd's own dispatch with no services loaded: it must not
 * crash or leak, and every answer starts with "OK\n" or "ERR ".
 * porterd's main.c is not linked, so its symbols are stand-ins here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct porter porter;

size_t
main_refusing(const struct diag *d)
{
	return d->errors;
}

const char *
main_listening(void)
{
	return "0 of 0 services listening";
}

/* A restart would start another porterd: refused here, as a porterd
 * that is stopping refuses it. */
int
main_restart(struct reply *r, char *err, size_t errlen)
{
	(void)r;
	snprintf(err, errlen, "porterd is stopping");
	return -1;
}

int
main_start_dir(void)
{
	return -1;
}

void
main_handover_pause(void)
{
}

void
main_handover_resume(void)
{
}

void
main_handed_over(pid_t pid)
{
	(void)pid;
}

/* reload.c is not linked either: a load is asked for, and answered by the
 * harness below as a load that found nothing wrong would be. */
void
reload_request(enum reload_kind kind, struct reload_waiter *w)
{
	if (w != NULL)
		w->kind = kind;
}

void
reload_cancel(struct reload_waiter *w)
{
	(void)w;
}

static struct cbuf *harness_out;

static void
harness_done(struct reply *r)
{
	control_reply(r, harness_out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[CTL_LINE_MAX + 1];
	struct cbuf out = { 0 };
	struct reply r = { .uid = 0, .done = harness_done };
	size_t n = size < CTL_LINE_MAX ? size : CTL_LINE_MAX;

	/* As control.c hands it over: one line, without its newline. */
	memcpy(line, data, n);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	harness_out = &out;
	if (!control_request(line, &r, &out)) {
		struct diag d = { 0 };

		r.wait.fn(&r.wait, &d);
		if (r.pending)
			abort();
	}
	if (out.len < 3 || (memcmp(out.p, "OK\n", 3) != 0 && memcmp(out.p, "ERR ", 4) != 0))
		abort();
	cbuf_free(&out);
	return 0;
}
