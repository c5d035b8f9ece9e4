/*
 * fuzz_tcpmux.c: libFuzzer harness for the reader of the RFC 1078 line in
 * which a tcpmux client names its service. Whatever the bytes, the reader
 * must not crash or read past them; a line it returns ends with its LF
 * within what was read, and the name holds no CR, LF or NUL and fits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 1, 9, 257 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *name = malloc(sizes[i]);
		ssize_t line;

		if (name == NULL)
			abort();
		line = tcpmux_line((const char *)data, size, 256, name, sizes[i]);
		if (line == TCPMUX_MORE) {
			if (size >= 256 || memchr(data, '\n', size) != NULL)
				abort();
		} else if (line == TCPMUX_TOO_LONG) {
			if (size < 256 && sizes[i] != 0)
				abort();
		} else {
			size_t n = strnlen(name, sizes[i]);

			if (line <= 0 || (size_t)line > size || data[line - 1] != '\n' ||
			    memchr(data, '\n', (size_t)line - 1) != NULL || n == sizes[i] ||
			    strpbrk(name, "\r\n") != NULL)
				abort();
		}
		free(name);
	}
	return 0;
}
