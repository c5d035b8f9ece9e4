/*
 * util.c: strict number parsing shared by the configuration parsers and
 * porterctl: a number is all digits and within its bound, or an error.
 */
#include <errno.h>
#include <stdlib.h>

#include "conf.h"

bool
util_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}
