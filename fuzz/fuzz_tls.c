/*
 * fuzz_tls.c: libFuzzer harness for the server side of a TLS session, as
 * porterd sets it up for a service (tls.c's context: SNI and ALPN
 * callbacks, the ticket keys, client certificates asked for). The input is
 * what a client sends: it is fed through a memory BIO to a fresh session,
 * whose answers go to another one. Whatever the bytes, the handshake
 * refuses them or goes on, and nothing crashes, leaks or reads past them.
 *
 * The certificate is made once, at start, in a private directory: no key
 * is kept in the tree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "porterd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int LLVMFuzzerInitialize(int *, char ***);

static struct tls_ctx *fuzz_ctx;

/* A self-signed ECDSA certificate for "localhost" in dir. */
static void
fuzz_make_cert(const char *cert, const char *key)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	FILE *fp;

	if (k == NULL || x == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
	    -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, k, EVP_sha256()) == 0)
		abort();
	if ((fp = fopen(cert, "w")) == NULL || PEM_write_X509(fp, x) != 1 || fclose(fp) != 0)
		abort();
	if ((fp = fopen(key, "w")) == NULL ||
	    PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL) != 1 || fclose(fp) != 0)
		abort();
	X509_free(x);
	EVP_PKEY_free(k);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/porter-fuzz-tls-XXXXXX", cert[64], key[64];
	struct service_config *s;
	struct diag d = { 0 };

	(void)argc, (void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	fuzz_make_cert(cert, key);
	s = conf_service_new("fuzz", (struct loc){ "fuzz", 1 });
	s->id = mem_strdup("fuzz");
	s->tls = true;
	strv_push(&s->tls_certificate, cert);
	strv_push(&s->tls_key, key);
	strv_push(&s->tls_alpn, "h2");
	strv_push(&s->tls_alpn, "http/1.1");
	s->tls_client_ca = mem_strdup(cert);
	s->tls_verify_client = TLS_VERIFY_OPTIONAL;
	s->tls_protocols = 0xfu; /* every version the library has */
	if ((fuzz_ctx = tls_ctx_new(s, &d)) == NULL)
		abort();
	conf_service_free(s);
	diag_free(&d);
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SSL *ssl = tls_ctx_session(fuzz_ctx);
	BIO *in = BIO_new_mem_buf(data, (int)size), *out = BIO_new(BIO_s_mem());
	unsigned char buf[4096];

	if (ssl == NULL || in == NULL || out == NULL)
		abort();
	/* Read to the end, not "retry": the client has said all it will. */
	BIO_set_mem_eof_return(in, 0);
	SSL_set_bio(ssl, in, out);
	for (int i = 0, r; i < 8 && (r = SSL_accept(ssl)) != 1; i++)
		if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
			break;
	while (SSL_is_init_finished(ssl) && SSL_read(ssl, buf, sizeof(buf)) > 0)
		;
	SSL_free(ssl);
	ERR_clear_error();
	return 0;
}
