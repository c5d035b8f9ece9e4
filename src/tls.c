/*
 * tls.c: TLS termination with OpenSSL. Three parts:
 *
 *   contexts   built from a service's tls_* attributes when a
 *              configuration is checked (the reload thread, or -t): the
 *              files are read and every pair is checked there, so that a
 *              bad certificate refuses the configuration like any error.
 *              Pairs whose certificates name the same hosts share an
 *              SSL_CTX (OpenSSL picks ECDSA or RSA by what the client
 *              offers); SNI picks the context whose names match.
 *   handshake  non-blocking, in the loop: client.c's tls phase calls
 *              tls_handshake() until it is done, and classifies a failure
 *              with a reason word.
 *   relay      once the handshake is done, the session is relayed in the
 *              loop to one end of a socketpair, whose other end the
 *              service gets: a spawned server, a builtin or a redirect
 *              cannot tell it from a plain connection. Half-closes pass
 *              both ways: close_notify becomes a shutdown of the pair, the
 *              pair's end of file becomes close_notify.
 *
 * Session tickets are encrypted with keys held in memory, shared by every
 * context and kept across reloads, renewed every TICKET_ROTATE_S (the one
 * before still opens tickets). Each context also keeps OpenSSL's server
 * session cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "porterd.h"

#define TLS_BUF (16 * 1024) /* one record's plaintext, each direction */
#define TICKET_ROTATE_S (12 * 3600)
/* How long a session whose service has gone may take to deliver what is
 * left to a client that does not read or close. */
#define LINGER_MS 30000
#define EXPIRY_WARN_DAYS 30
/* TLS 1.2's ciphers when the service names none: forward secrecy and
 * AEAD only (Mozilla's "intermediate" list). */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

const char *const tls_fail_words[TLS_FAIL_MAX] = {
	[TLS_FAIL_TIMEOUT] = "timeout",
	[TLS_FAIL_CLOSED] = "closed",
	[TLS_FAIL_NOT_TLS] = "not_tls",
	[TLS_FAIL_PROTOCOL] = "protocol_version",
	[TLS_FAIL_CIPHER] = "no_shared_cipher",
	[TLS_FAIL_ALPN] = "no_application_protocol",
	[TLS_FAIL_CLIENT_CERT] = "client_certificate",
	[TLS_FAIL_OTHER] = "other",
};

/* Certificates whose names are the same: one SSL_CTX. */
struct tls_group {
	SSL_CTX *ctx;
	struct strv names; /* DNS names (lower case) and addresses */
};

struct tls_ctx {
	unsigned refs; /* the configuration, and every session */
	struct tls_group *groups;
	size_t ngroups;
	struct tls_cert *certs;
	size_t ncerts;
	unsigned char *alpn; /* the server's list, in wire form */
	size_t alpn_len;
};

/* One connection's session: the handshake, then the relay. */
struct tls {
	SSL *ssl;
	struct tls_ctx *tc;
	int cfd; /* the client's socket */
	int pfd; /* porterd's end of the pair */
	struct watch cw, pw;
	struct timer linger; /* armed once the service has closed its end */
	bool pair_gone;
	/* What the loop last said of each socket: may be read, written. */
	bool c_in, c_out, p_in, p_out;
	bool failed; /* the session ended on an error, not at both ends */
	/* Attached to a redirect's backend: told of traffic and of the end,
	 * which it frees the session for. */
	const struct tls_hooks *hooks;
	void *hook_arg;
	uint64_t up_bytes, down_bytes; /* plaintext moved each way */
	unsigned char *up;             /* client to service: plaintext not yet sent */
	unsigned char *down;           /* service to client: not yet encrypted */
	size_t up_off, up_len, down_off, down_len;
	bool up_eof, up_shut;     /* close_notify read; the pair shut for writing */
	bool down_eof, down_shut; /* the pair's end of file; close_notify sent */
	bool relaying;
	struct tls_info info;
	LIST_ENTRY(tls) entry;
	struct loop_defer dead;
};

static LIST_HEAD(, tls) tls_relays = LIST_HEAD_INITIALIZER(tls_relays);

/* ------------------------------------------------------------ tickets */

struct tls_ticket_key {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
	time_t born; /* 0: none */
};

static struct tls_ticket_key tls_keys[2]; /* the current one, the one before */

static bool
tls_ticket_rotate(void)
{
	time_t now = time(NULL);
	struct tls_ticket_key k;

	if (tls_keys[0].born != 0 && now - tls_keys[0].born < TICKET_ROTATE_S)
		return true;
	if (RAND_bytes(k.name, sizeof(k.name)) != 1 || RAND_bytes(k.aes, sizeof(k.aes)) != 1 ||
	    RAND_bytes(k.hmac, sizeof(k.hmac)) != 1)
		return false;
	k.born = now;
	tls_keys[1] = tls_keys[0];
	tls_keys[0] = k;
	return true;
}

static int
tls_ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
    EVP_MAC_CTX *hctx, int enc)
{
	const struct tls_ticket_key *k = NULL;
	OSSL_PARAM params[3];

	(void)ssl;
	if (!tls_ticket_rotate())
		return -1;
	if (enc) {
		k = &tls_keys[0];
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1)
			return -1;
		memcpy(name, k->name, sizeof(k->name));
	} else {
		for (int i = 0; i < 2 && k == NULL; i++)
			if (tls_keys[i].born != 0 && memcmp(name, tls_keys[i].name, 16) == 0)
				k = &tls_keys[i];
		if (k == NULL)
			return 0; /* unknown or too old: a full handshake */
	}
	params[0] =
	    OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc)
		return EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 ? 1 : -1;
	if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
		return -1;
	/* Valid, and renewed: a TLS 1.3 client uses a ticket once (RFC 8446
	 * C.4), and OpenSSL sends no new one after a resumption unless asked,
	 * so without it every other connection would be a full handshake. */
	return 2;
}

/* ------------------------------------------------------------ contexts */

/* OpenSSL's last error, as text, for a message; its queue emptied. */
static const char *
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s", r != NULL ? r : "unknown error");
	ERR_clear_error();
	return buf;
}

/* The names a certificate is good for: its DNS and IP subjectAltNames,
 * or its CN when it has no DNS name. */
static void
tls_cert_names(X509 *x, struct strv *names)
{
	GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool dns = false;

	for (int i = 0; san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		char buf[INET6_ADDRSTRLEN];

		if (g->type == GEN_DNS) {
			const unsigned char *p = ASN1_STRING_get0_data(g->d.dNSName);
			int n = ASN1_STRING_length(g->d.dNSName);
			char *s = mem_alloc((size_t)n + 1);

			for (int k = 0; k < n; k++)
				s[k] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]);
			s[n] = '\0';
			strv_push(names, s);
			free(s);
			dns = true;
		} else if (g->type == GEN_IPADD) {
			int n = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *p = ASN1_STRING_get0_data(g->d.iPAddress);

			if ((n == 4 && inet_ntop(AF_INET, p, buf, sizeof(buf)) != NULL) ||
			    (n == 16 && inet_ntop(AF_INET6, p, buf, sizeof(buf)) != NULL))
				strv_push(names, buf);
		}
	}
	GENERAL_NAMES_free(san);
	if (!dns) {
		char cn[256];

		if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
		        sizeof(cn)) > 0) {
			for (char *p = cn; *p != '\0'; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p + 32);
			strv_push(names, cn);
		}
	}
}

/* RFC 6125: a name matches exactly, or a "*." name matches one label. */
static bool
tls_name_match(const char *pattern, const char *host)
{
	const char *dot;

	if (strcasecmp(pattern, host) == 0)
		return true;
	if (strncmp(pattern, "*.", 2) != 0 || (dot = strchr(host, '.')) == NULL || dot == host)
		return false;
	return strcasecmp(pattern + 1, dot) == 0;
}

static bool
tls_same_names(const struct strv *a, const struct strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static void
tls_name_text(X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long m;

	buf[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 && (m = BIO_get_mem_data(b, &p)) > 0)
		snprintf(buf, len, "%.*s", (int)m, p);
	BIO_free(b);
}

static time_t
tls_not_after(const X509 *x)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Reads a certificate file: the server's certificate first, then its
 * chain, each issued by the next. NULL after a diagnostic. */
static STACK_OF(X509) *
    tls_read_chain(struct diag *d, struct loc loc, const char *id, const char *file)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	BIO *b = BIO_new_file(file, "r");
	X509 *x;
	char err[128];

	if (b == NULL || chain == NULL) {
		diag_error(d, loc, "%s: tls_certificate %s: %s", id, file,
		    errno != 0 ? strerror(errno) : tls_error(err, sizeof(err)));
		BIO_free(b);
		sk_X509_free(chain);
		ERR_clear_error();
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(chain, x);
	ERR_clear_error();
	BIO_free(b);
	if (sk_X509_num(chain) == 0) {
		diag_error(d, loc, "%s: tls_certificate %s: no PEM certificate in the file", id,
		    file);
		sk_X509_free(chain);
		return NULL;
	}
	for (int i = 0; i + 1 < sk_X509_num(chain); i++)
		if (X509_check_issued(sk_X509_value(chain, i + 1), sk_X509_value(chain, i)) !=
		    X509_V_OK) {
			diag_error(d, loc,
			    "%s: tls_certificate %s: certificate %d did not issue certificate %d; the file must hold the server's certificate first, then each issuer in order",
			    id, file, i + 2, i + 1);
			sk_X509_pop_free(chain, X509_free);
			return NULL;
		}
	return chain;
}

static int
tls_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf, (void)size, (void)rwflag, (void)arg;
	return -1;
}

static EVP_PKEY *
tls_read_key(struct diag *d, struct loc loc, const char *id, const char *file)
{
	BIO *b = BIO_new_file(file, "r");
	EVP_PKEY *k;
	char err[128];

	if (b == NULL) {
		diag_error(d, loc, "%s: tls_key %s: %s", id, file,
		    errno != 0 ? strerror(errno) : tls_error(err, sizeof(err)));
		ERR_clear_error();
		return NULL;
	}
	/* No passphrase: porterd reads keys unattended, at every reload. */
	k = PEM_read_bio_PrivateKey(b, NULL, tls_no_passphrase, NULL);
	BIO_free(b);
	if (k == NULL && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_BAD_PASSWORD_READ) {
		ERR_clear_error();
		diag_error(d, loc,
		    "%s: tls_key %s is encrypted; porterd reads keys without a passphrase (openssl pkey -in KEY -out PLAIN)",
		    id, file);
	} else if (k == NULL)
		diag_error(d, loc, "%s: tls_key %s: no PEM private key in the file (%s)", id, file,
		    tls_error(err, sizeof(err)));
	return k;
}

static int
tls_sni(SSL *ssl, int *alert, void *arg)
{
	struct tls_ctx *tc = arg;
	const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)alert;
	if (host == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (size_t i = 0; i < tc->ngroups; i++)
		for (size_t k = 0; k < tc->groups[i].names.n; k++)
			if (tls_name_match(tc->groups[i].names.v[k], host)) {
				if (SSL_get_SSL_CTX(ssl) != tc->groups[i].ctx)
					SSL_set_SSL_CTX(ssl, tc->groups[i].ctx);
				return SSL_TLSEXT_ERR_OK;
			}
	return SSL_TLSEXT_ERR_OK; /* the first pair */
}

static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned inlen, void *arg)
{
	struct tls_ctx *tc = arg;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, tc->alpn, (unsigned)tc->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static const struct {
	const char *name;
	int version;
} tls_versions[] = {
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
};

unsigned
tls_protocol_bit(const char *name)
{
	for (size_t i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (strcasecmp(name, tls_versions[i].name) == 0)
			return 1u << i;
	return 0;
}

const char *
tls_protocol_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (bit == 1u << i)
			return tls_versions[i].name;
	return NULL;
}

/* The settings every context of a service shares. */
static bool
tls_ctx_setup(SSL_CTX *ctx, struct tls_ctx *tc, const struct service_config *s, struct diag *d)
{
	static const long no[] = { SSL_OP_NO_TLSv1, SSL_OP_NO_TLSv1_1, SSL_OP_NO_TLSv1_2,
		SSL_OP_NO_TLSv1_3 };
	unsigned protos = s->tls_protocols != 0 ? s->tls_protocols : TLS_PROTOCOLS_DEFAULT;
	int lo = -1, hi = -1;
	unsigned char sid[SHA256_DIGEST_LENGTH];
	char err[128];

	for (int i = 0; i < 4; i++)
		if (protos & (1u << i)) {
			if (lo < 0)
				lo = i;
			hi = i;
		}
	SSL_CTX_set_min_proto_version(ctx, tls_versions[lo].version);
	SSL_CTX_set_max_proto_version(ctx, tls_versions[hi].version);
	for (int i = lo; i <= hi; i++)
		if (!(protos & (1u << i)))
			SSL_CTX_set_options(ctx, (uint64_t)no[i]);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	        SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_dh_auto(ctx, 1);
	/* Whole records, and what follows them, in one read(). */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, s->tls_ciphers != NULL ? s->tls_ciphers : TLS12_CIPHERS) !=
	    1) {
		diag_error(d, conf_service_at(s, A_TLS_CIPHERS), "%s: tls_ciphers: %s", s->id,
		    tls_error(err, sizeof(err)));
		return false;
	}
	if (s->tls_ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, s->tls_ciphersuites) != 1) {
		diag_error(d, conf_service_at(s, A_TLS_CIPHERSUITES), "%s: tls_ciphersuites: %s",
		    s->id, tls_error(err, sizeof(err)));
		return false;
	}
	/* Sessions of one service resume only there. */
	SHA256((const unsigned char *)s->id, strlen(s->id), sid);
	SSL_CTX_set_session_id_context(ctx, sid,
	    SSL_MAX_SID_CTX_LENGTH < sizeof(sid) ? SSL_MAX_SID_CTX_LENGTH : sizeof(sid));
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_sni);
	SSL_CTX_set_tlsext_servername_arg(ctx, tc);
	if (tc->alpn != NULL)
		SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, tc);
	if (s->tls_client_ca != NULL) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(s->tls_client_ca);

		if (names == NULL ||
		    SSL_CTX_load_verify_locations(ctx, s->tls_client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			diag_error(d, conf_service_at(s, A_TLS_CLIENT_CA),
			    "%s: tls_client_ca %s: no PEM certificate could be read (%s)", s->id,
			    s->tls_client_ca, tls_error(err, sizeof(err)));
			return false;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	if (s->tls_verify_client == TLS_VERIFY_YES)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else if (s->tls_verify_client == TLS_VERIFY_OPTIONAL)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return true;
}

/* Adds one pair to tc, in the group of its names; false after a
 * diagnostic. */
static bool
tls_ctx_add_pair(struct tls_ctx *tc, const struct service_config *s, struct diag *d,
    const char *certfile, const char *keyfile)
{
	struct loc cl = conf_service_at(s, A_TLS_CERTIFICATE), kl = conf_service_at(s, A_TLS_KEY);
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
	X509 *leaf;
	struct tls_cert *c;
	struct tls_group *g = NULL;
	struct strv names = { 0 };
	time_t left;
	char err[128];
	bool ok = false;

	errno = 0;
	if ((chain = tls_read_chain(d, cl, s->id, certfile)) == NULL)
		return false;
	errno = 0;
	if ((key = tls_read_key(d, kl, s->id, keyfile)) == NULL) {
		sk_X509_pop_free(chain, X509_free);
		return false;
	}
	leaf = sk_X509_value(chain, 0);
	if (X509_check_private_key(leaf, key) != 1) {
		ERR_clear_error();
		diag_error(d, kl, "%s: tls_key %s is not the key of the certificate in %s", s->id,
		    keyfile, certfile);
		goto out;
	}
	tls_cert_names(leaf, &names);
	for (size_t i = 0; i < tc->ngroups && g == NULL; i++)
		if (tls_same_names(&tc->groups[i].names, &names))
			g = &tc->groups[i];
	if (g == NULL) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

		if (ctx == NULL || !tls_ctx_setup(ctx, tc, s, d)) {
			if (ctx == NULL)
				diag_error(d, cl, "%s: TLS: %s", s->id,
				    tls_error(err, sizeof(err)));
			SSL_CTX_free(ctx);
			goto out;
		}
		tc->groups = mem_realloc(tc->groups, (tc->ngroups + 1) * sizeof(*tc->groups));
		g = &tc->groups[tc->ngroups++];
		g->ctx = ctx;
		g->names = names;
		memset(&names, 0, sizeof(names));
	}
	/* The leaf and its chain for this key's type; a later pair of the
	 * same type and names would replace it. */
	if (SSL_CTX_use_cert_and_key(g->ctx, leaf, key, NULL, 1) != 1) {
		diag_error(d, cl, "%s: tls_certificate %s: %s", s->id, certfile,
		    tls_error(err, sizeof(err)));
		goto out;
	}
	for (int i = 1; i < sk_X509_num(chain); i++)
		if (SSL_CTX_add1_chain_cert(g->ctx, sk_X509_value(chain, i)) != 1) {
			diag_error(d, cl, "%s: tls_certificate %s: %s", s->id, certfile,
			    tls_error(err, sizeof(err)));
			goto out;
		}
	tc->certs = mem_realloc(tc->certs, (tc->ncerts + 1) * sizeof(*tc->certs));
	c = &tc->certs[tc->ncerts++];
	memset(c, 0, sizeof(*c));
	c->file = mem_strdup(certfile);
	tls_name_text(X509_get_subject_name(leaf), c->subject, sizeof(c->subject));
	tls_cert_names(leaf, &c->names);
	c->not_after = tls_not_after(leaf);
	left = c->not_after - time(NULL);
	if (left < 0)
		diag_warn(d, cl, "%s: tls_certificate %s has expired", s->id, certfile);
	else if (left < (time_t)EXPIRY_WARN_DAYS * 86400)
		diag_warn(d, cl, "%s: tls_certificate %s expires in %lld days", s->id, certfile,
		    (long long)(left / 86400));
	ok = true;
out:
	strv_clear(&names);
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	return ok;
}

struct tls_ctx *
tls_ctx_new(const struct service_config *s, struct diag *d)
{
	struct tls_ctx *tc = mem_calloc(1, sizeof(*tc));
	bool ok = true;

	tc->refs = 1;
	if (s->tls_alpn.n > 0) {
		size_t n = 0;

		for (size_t i = 0; i < s->tls_alpn.n; i++)
			n += 1 + strlen(s->tls_alpn.v[i]);
		tc->alpn = mem_alloc(n);
		for (size_t i = 0; i < s->tls_alpn.n; i++) {
			size_t len = strlen(s->tls_alpn.v[i]);

			tc->alpn[tc->alpn_len++] = (unsigned char)len;
			memcpy(tc->alpn + tc->alpn_len, s->tls_alpn.v[i], len);
			tc->alpn_len += len;
		}
	}
	for (size_t i = 0; i < s->tls_certificate.n && ok; i++)
		ok = tls_ctx_add_pair(tc, s, d, s->tls_certificate.v[i], s->tls_key.v[i]);
	if (!ok) {
		tls_ctx_unref(tc);
		return NULL;
	}
	return tc;
}

void
tls_ctx_unref(struct tls_ctx *tc)
{
	if (tc == NULL || --tc->refs > 0)
		return;
	for (size_t i = 0; i < tc->ngroups; i++) {
		SSL_CTX_free(tc->groups[i].ctx);
		strv_clear(&tc->groups[i].names);
	}
	for (size_t i = 0; i < tc->ncerts; i++) {
		free(tc->certs[i].file);
		strv_clear(&tc->certs[i].names);
	}
	free(tc->groups);
	free(tc->certs);
	free(tc->alpn);
	free(tc);
}

const struct tls_cert *
tls_ctx_certs(const struct tls_ctx *tc, size_t *n)
{
	*n = tc != NULL ? tc->ncerts : 0;
	return tc != NULL ? tc->certs : NULL;
}

/* ------------------------------------------------------------ handshake */

void *
tls_ctx_session(struct tls_ctx *tc)
{
	return tc != NULL && tc->ngroups > 0 ? SSL_new(tc->groups[0].ctx) : NULL;
}

struct tls *
tls_new(struct tls_ctx *tc, int fd)
{
	struct tls *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	if (tc == NULL || tc->ngroups == 0 || (t->ssl = SSL_new(tc->groups[0].ctx)) == NULL ||
	    SSL_set_fd(t->ssl, fd) != 1) {
		ERR_clear_error();
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	tc->refs++;
	t->tc = tc;
	t->cfd = fd;
	t->pfd = -1;
	return t;
}

/* The reason word of a failed handshake, from OpenSSL's error. */
static enum tls_fail
tls_classify(int reason, long verify)
{
	switch (reason) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_UNEXPECTED_RECORD:
	case SSL_R_UNEXPECTED_MESSAGE:
	case SSL_R_LENGTH_MISMATCH:
	case SSL_R_BAD_PACKET_LENGTH:
	case SSL_R_BAD_PACKET:
	case SSL_R_ENCRYPTED_LENGTH_TOO_LONG:
		return TLS_FAIL_NOT_TLS;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		return TLS_FAIL_PROTOCOL;
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_NO_SHARED_GROUPS:
	case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
		return TLS_FAIL_CIPHER;
	case SSL_R_NO_APPLICATION_PROTOCOL:
	case SSL_R_CALLBACK_FAILED:
		return TLS_FAIL_ALPN;
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
	case SSL_R_NO_CERTIFICATES_RETURNED:
		return TLS_FAIL_CLIENT_CERT;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return TLS_FAIL_CLOSED;
	default:
		return verify != X509_V_OK ? TLS_FAIL_CLIENT_CERT : TLS_FAIL_OTHER;
	}
}

int
tls_handshake(struct tls *t, uint32_t *events, enum tls_fail *fail, char *detail, size_t len)
{
	int r, e;
	unsigned long err;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_accept(t->ssl)) == 1)
		return 1;
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		*events = EPOLLIN;
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		*events = EPOLLOUT;
		return 0;
	}
	err = ERR_peek_last_error();
	if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN || err == 0) {
		*fail = TLS_FAIL_CLOSED;
		snprintf(detail, len, "%s",
		    errno != 0 ? strerror(errno) : "the client left mid-handshake");
	} else {
		const char *s = ERR_reason_error_string(err);
		long verify = SSL_get_verify_result(t->ssl);

		*fail = tls_classify(ERR_GET_REASON(err), verify);
		if (verify != X509_V_OK && *fail == TLS_FAIL_CLIENT_CERT)
			snprintf(detail, len, "%s", X509_verify_cert_error_string(verify));
		else
			snprintf(detail, len, "%s", s != NULL ? s : "error");
	}
	ERR_clear_error();
	return -1;
}

/* What the service learns of the session (mod_ssl's names). */
static void
tls_fill_info(struct tls *t)
{
	struct tls_info *in = &t->info;
	const char *sni = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
	const unsigned char *alpn;
	unsigned alpn_len;
	X509 *peer = SSL_get1_peer_certificate(t->ssl);

	in->protocol = SSL_get_version(t->ssl);
	snprintf(in->cipher, sizeof(in->cipher), "%s", SSL_get_cipher_name(t->ssl));
	snprintf(in->sni, sizeof(in->sni), "%s", sni != NULL ? sni : "");
	SSL_get0_alpn_selected(t->ssl, &alpn, &alpn_len);
	snprintf(in->alpn, sizeof(in->alpn), "%.*s", (int)alpn_len,
	    alpn != NULL ? (const char *)alpn : "");
	if (peer == NULL) {
		snprintf(in->verify, sizeof(in->verify), "NONE");
		return;
	}
	long v = SSL_get_verify_result(t->ssl);

	if (v == X509_V_OK)
		snprintf(in->verify, sizeof(in->verify), "SUCCESS");
	else
		snprintf(in->verify, sizeof(in->verify), "FAILED:%s",
		    X509_verify_cert_error_string(v));
	tls_name_text(X509_get_subject_name(peer), in->s_dn, sizeof(in->s_dn));
	tls_name_text(X509_get_issuer_name(peer), in->i_dn, sizeof(in->i_dn));
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

	snprintf(in->serial, sizeof(in->serial), "%s", hex != NULL ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (X509_digest(peer, EVP_sha256(), md, &mdlen) == 1)
		for (unsigned i = 0; i < mdlen && 2 * i + 2 < sizeof(in->sha256); i++)
			snprintf(in->sha256 + 2 * i, 3, "%02X", md[i]);
	X509_free(peer);
	ERR_clear_error();
}

const struct tls_info *
tls_info(struct tls *t)
{
	if (t->info.protocol == NULL)
		tls_fill_info(t);
	return &t->info;
}

/* ------------------------------------------------------------ relay */

static void
tls_relay_free(void *p)
{
	struct tls *t = p;

	free(t->up);
	free(t->down);
	free(t);
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	if (t->relaying) {
		loop_unwatch(&t->cw);
		loop_unwatch(&t->pw);
		loop_timer_cancel(&t->linger);
		LIST_REMOVE(t, entry);
	}
	SSL_free(t->ssl);
	t->ssl = NULL;
	tls_ctx_unref(t->tc);
	t->tc = NULL;
	/* Before the relay, the socket is the client record's. */
	if (t->relaying && t->cfd >= 0)
		close(t->cfd);
	if (t->pfd >= 0)
		close(t->pfd);
	t->cfd = t->pfd = -1;
	if (t->relaying)
		/* The loop may still hold the watches in this round. */
		loop_defer_free(&t->dead, t, tls_relay_free);
	else
		tls_relay_free(t);
}

/* Moves what it can both ways; false when the session is over. A side
 * is tried only while the loop has not said it would block (the watches
 * are edge-triggered): a bulk transfer one way makes no calls that fail
 * with EAGAIN the other way. */
static bool
tls_pump(struct tls *t)
{
	for (;;) {
		bool progress = false;
		ssize_t n;
		int r, e;

		/* The client's records, decrypted, to the service. */
		if (!t->up_eof && t->up_len < TLS_BUF && (t->c_in || SSL_has_pending(t->ssl))) {
			ERR_clear_error();
			r = SSL_read(t->ssl, t->up + t->up_len, (int)(TLS_BUF - t->up_len));
			if (r > 0) {
				t->up_len += (size_t)r;
				progress = true;
			} else if ((e = SSL_get_error(t->ssl, r)) == SSL_ERROR_ZERO_RETURN) {
				t->up_eof = progress = true;
			} else if (e == SSL_ERROR_WANT_READ) {
				t->c_in = false;
			} else if (e == SSL_ERROR_WANT_WRITE) {
				t->c_out = false;
			} else {
				ERR_clear_error();
				t->failed = true;
				return false;
			}
		}
		if (t->up_off < t->up_len && t->p_out) {
			n = send(t->pfd, t->up + t->up_off, t->up_len - t->up_off,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				t->up_off += (size_t)n;
				t->up_bytes += (uint64_t)n;
				progress = true;
				if (t->up_off == t->up_len)
					t->up_off = t->up_len = 0;
			} else if (errno == EAGAIN)
				t->p_out = false;
			else if (errno != EINTR) {
				t->failed = true;
				return false; /* the service is gone */
			}
		}
		if (t->up_eof && t->up_len == 0 && !t->up_shut) {
			shutdown(t->pfd, SHUT_WR);
			t->up_shut = true;
		}
		/* The service's bytes, encrypted, to the client. */
		if (!t->down_eof && t->down_len < TLS_BUF && t->p_in) {
			n = recv(t->pfd, t->down + t->down_len, TLS_BUF - t->down_len,
			    MSG_DONTWAIT);
			if (n > 0) {
				t->down_len += (size_t)n;
				progress = true;
			} else if (n < 0 && errno == EAGAIN)
				t->p_in = false;
			else if (n == 0 || errno != EINTR)
				t->down_eof = progress = true;
		}
		if (t->down_off < t->down_len && t->c_out) {
			ERR_clear_error();
			r = SSL_write(t->ssl, t->down + t->down_off,
			    (int)(t->down_len - t->down_off));
			if (r > 0) {
				t->down_off += (size_t)r;
				t->down_bytes += (uint64_t)r;
				progress = true;
				if (t->down_off == t->down_len)
					t->down_off = t->down_len = 0;
			} else if ((e = SSL_get_error(t->ssl, r)) == SSL_ERROR_WANT_WRITE) {
				t->c_out = false;
			} else if (e == SSL_ERROR_WANT_READ) {
				t->c_in = false;
			} else {
				ERR_clear_error();
				t->failed = true;
				return false;
			}
		}
		if (t->down_eof && t->down_len == 0 && !t->down_shut) {
			ERR_clear_error();
			r = SSL_shutdown(t->ssl);
			if (r >= 0 ||
			    ((e = SSL_get_error(t->ssl, r)) != SSL_ERROR_WANT_WRITE &&
			        e != SSL_ERROR_WANT_READ)) {
				ERR_clear_error();
				shutdown(t->cfd, SHUT_WR);
				t->down_shut = progress = true;
			}
		}
		if (t->up_shut && t->down_shut)
			return false;
		if (!progress)
			return true;
	}
}

/* The session is over: a redirect's relay is told, and frees it; a
 * session of its own is freed here. */
static void
tls_over(struct tls *t)
{
	if (t->hooks != NULL)
		t->hooks->ended(t->hook_arg, t->failed);
	else
		tls_free(t);
}

static void
tls_linger_over(void *arg)
{
	tls_over(arg);
}

static void
tls_relay_io(int fd, uint32_t events, void *arg)
{
	struct tls *t = arg;
	bool in = (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
	bool out = (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
	uint64_t moved = t->up_bytes + t->down_bytes;

	if (fd == t->cfd) {
		t->c_in |= in;
		t->c_out |= out;
	} else {
		t->p_in |= in;
		t->p_out |= out;
	}
	if (!tls_pump(t)) {
		tls_over(t);
		return;
	}
	if (t->hooks != NULL && t->up_bytes + t->down_bytes != moved)
		t->hooks->moved(t->hook_arg);
	/* The service closed its end whole: what it said goes out, what the
	 * client says has nobody to read it. */
	if (fd == t->pfd && (events & EPOLLHUP) && !t->pair_gone) {
		t->pair_gone = true;
		t->linger.fn = tls_linger_over;
		t->linger.arg = t;
		loop_timer_set(&t->linger, LINGER_MS);
	}
	if (t->pair_gone && t->down_shut)
		tls_over(t);
}

static int
tls_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Relays the session to fd from now on: both sockets are the session's,
 * closed by tls_free, even when this fails. */
static bool
tls_relay_to(struct tls *t, int fd)
{
	tls_info(t);
	t->pfd = fd;
	t->relaying = true;
	LIST_INSERT_HEAD(&tls_relays, t, entry);
	if ((t->up == NULL && (t->up = malloc(TLS_BUF)) == NULL) ||
	    (t->down == NULL && (t->down = malloc(TLS_BUF)) == NULL))
		return false;
	t->cw.fd = t->cfd;
	t->cw.fn = tls_relay_io;
	t->cw.arg = t;
	t->pw.fd = t->pfd;
	t->pw.fn = tls_relay_io;
	t->pw.arg = t;
	t->c_in = t->c_out = t->p_in = t->p_out = true;
	/* Edge-triggered: every wakeup pumps both ways until they block. */
	return loop_watch(&t->cw, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) == 0 &&
	    loop_watch(&t->pw, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) == 0;
}

int
tls_relay(struct tls *t, bool nonblock)
{
	int pair[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
		close(t->cfd); /* taken, as it would have been */
		t->cfd = -1;
		return -1;
	}
	if (tls_nonblock(pair[0]) != 0 || (nonblock && tls_nonblock(pair[1]) != 0)) {
		close(pair[0]);
		close(pair[1]);
		close(t->cfd);
		t->cfd = -1;
		return -1;
	}
	if (!tls_relay_to(t, pair[0])) {
		close(pair[1]);
		return -1;
	}
	return pair[1];
}

void
tls_relay_start(struct tls *t)
{
	if (!tls_pump(t))
		tls_free(t);
}

bool
tls_attach(struct tls *t, int fd, const struct tls_hooks *hooks, void *arg)
{
	t->hooks = hooks;
	t->hook_arg = arg;
	if (!tls_relay_to(t, fd))
		return false;
	/* What came with the handshake goes at once; an end now is told
	 * from the loop, not from inside the caller. */
	if (!tls_pump(t)) {
		t->linger.fn = tls_linger_over;
		t->linger.arg = t;
		loop_timer_set(&t->linger, 0);
	}
	return true;
}

void
tls_bytes(const struct tls *t, uint64_t *up, uint64_t *down)
{
	*up = t->up_bytes;
	*down = t->down_bytes;
}

void
tls_close_all(void)
{
	while (!LIST_EMPTY(&tls_relays))
		tls_free(LIST_FIRST(&tls_relays));
}
