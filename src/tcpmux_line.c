/*
 * tcpmux_line.c: the RFC 1078 line in which a tcpmux client names the
 * service it wants, read from what the socket holds so far. Apart from
 * tcpmux.c, which runs in the event loop, so that the fuzzer can drive it
 * alone.
 */
#include <string.h>
#include <sys/types.h>

#include "porterd.h"

ssize_t
tcpmux_line(const char *buf, size_t n, size_t max, char *name, size_t namelen)
{
	const char *nl = memchr(buf, '\n', n);
	size_t len = 0;

	if (nl == NULL)
		return n >= max ? TCPMUX_TOO_LONG : TCPMUX_MORE;
	/* The name ends at the CR, the LF or a NUL. */
	while (buf + len < nl && buf[len] != '\r' && buf[len] != '\0')
		len++;
	if (namelen == 0)
		return TCPMUX_TOO_LONG;
	if (len >= namelen)
		len = namelen - 1;
	memcpy(name, buf, len);
	name[len] = '\0';
	return (ssize_t)(nl - buf) + 1;
}
