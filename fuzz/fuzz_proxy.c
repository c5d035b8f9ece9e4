/*
 * fuzz_proxy.c: libFuzzer harness for the PROXY header reader, which any
 * balancer in proxy_from (or anyone who can pass for one) feeds. Whatever
 * the bytes, it must not crash or read past them; a header it accepts is
 * no longer than what was read and than PROXY_MAX, its texts are
 * printable, and every prefix of the bytes is "more" or the same refusal.
 * An accepted header is written again and read back to the same client.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "porterd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned accepts[] = { PROXY_V1, PROXY_V2, PROXY_V1 | PROXY_V2 };

	for (size_t a = 0; a < sizeof(accepts) / sizeof(accepts[0]); a++) {
		struct proxy_info info, again;
		const char *why;
		uint8_t out[PROXY_MAX];
		ssize_t n = proxy_parse(data, size, accepts[a], &info, &why);

		if (n < 0 && why == NULL)
			abort();
		if (n == 0 || n < 0)
			continue;
		if ((size_t)n > size || n > PROXY_MAX || (info.version != 1 && info.version != 2))
			abort();
		printable(info.authority, sizeof(info.authority));
		printable(info.unique_id, sizeof(info.unique_id));
		printable(info.ssl_cn, sizeof(info.ssl_cn));
		printable(info.alpn, sizeof(info.alpn));
		/* A shorter read of the same bytes is never a whole header. */
		if (n > 1 && proxy_parse(data, (size_t)n - 1, accepts[a], &again, &why) > 0)
			abort();
		if (info.local)
			continue;
		for (unsigned v = PROXY_V1; v <= PROXY_V2; v++) {
			size_t m = proxy_build(v, &info.src, &info.dst, &info, out, sizeof(out));

			if (m == 0 || proxy_parse(out, m, v, &again, &why) != (ssize_t)m ||
			    again.local || peer_port(&again.src) != peer_port(&info.src) ||
			    peer_port(&again.dst) != peer_port(&info.dst))
				abort();
		}
	}
	return 0;
}
