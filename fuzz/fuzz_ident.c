/*
 * fuzz_ident.c: libFuzzer harness for the parser of RFC 1413 replies,
 * which come from whoever answers on the client's port 113. Whatever the
 * bytes, the parser must not crash or read past them, and a USERID it
 * accepts is one line that starts with the word USERID and fits its
 * buffer, whatever the size of that buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[] = { 1, 7, 64, 1025 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *user = malloc(sizes[i]);
		const char *reason;

		if (user == NULL)
			abort();
		memset(user, 'x', sizes[i]);
		reason = ident_parse_reply((const char *)data, size, user, sizes[i]);
		if (reason == NULL) {
			size_t n = strnlen(user, sizes[i]);

			if (n == sizes[i] || strpbrk(user, "\r\n") != NULL ||
			    (sizes[i] > 6 && strncmp(user, "USERID", 6) != 0))
				abort();
		} else if (strcmp(reason, "bad response") != 0)
			abort();
		free(user);
	}
	return 0;
}
