/* x509_openssl.c - RSA keys, certificates, client assertions and proofs
 * with OpenSSL (x509.h), in the network module. */
#include <malloc.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secmem.h"
#include "x509.h"

#define SECURE_HEAP_SIZE (1 << 18)
#define SECURE_HEAP_MIN	 32
#define ASSERTION_LIFE_S 300
#define JWT_PART_MAX	 1024

static pthread_once_t heap_once = PTHREAD_ONCE_INIT;

/* OpenSSL's own allocations, wiped when freed: its encoders and decoders
 * pass a key through plain heap buffers that they free unwiped. */
static void wipe_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (p == NULL)
		return;
	secmem_wipe(p, malloc_usable_size(p));
	free(p);
}

static void *plain_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return malloc(n);
}

/* Move to a new block and wipe the old one (realloc would leave it). */
static void *wipe_realloc(void *p, size_t n, const char *file, int line)
{
	void *q;
	size_t old;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		wipe_free(p, file, line);
		return NULL;
	}
	if ((q = malloc(n)) == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	wipe_free(p, file, line);
	return q;
}

/* OpenSSL's secure heap: the key's numbers are allocated there (locked,
 * wiped when freed). */
static void heap_init(void)
{
	CRYPTO_secure_malloc_init(SECURE_HEAP_SIZE, SECURE_HEAP_MIN);
}

static void start(void)
{
	pthread_once(&heap_once, heap_init);
}

int x509_process_init(void)
{
	/* Only possible before OpenSSL's first allocation. */
	if (!CRYPTO_set_mem_functions(plain_malloc, wipe_realloc, wipe_free))
		return -1;
	start();
	return 0;
}

/* The DER of a key into guarded memory. */
static int key_der(EVP_PKEY *pk, struct vbuf *ret, struct err *e)
{
	int n = i2d_PrivateKey(pk, NULL);
	unsigned char *p;

	if (n <= 0 || vbuf_alloc(ret, (size_t)n)) {
		err_set(e, "cannot encode the private key");
		return -1;
	}
	p = (unsigned char *)ret->p;
	if (i2d_PrivateKey(pk, &p) != n) {
		vbuf_free(ret);
		err_set(e, "cannot encode the private key");
		return -1;
	}
	return 0;
}

static EVP_PKEY *key_load(const struct x509_key *key, struct err *e)
{
	const unsigned char *p = (const unsigned char *)key->der.p;
	EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, (long)key->der.len);

	if (pk == NULL)
		err_set(e, "the stored private key does not decode");
	return pk;
}

static int cert_der(X509 *x, uint8_t **ret, size_t *ret_len, struct err *e)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	uint8_t *out;

	if (n <= 0 || (out = malloc((size_t)n)) == NULL) {
		OPENSSL_free(der);
		err_set(e, "cannot encode the certificate");
		return -1;
	}
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*ret = out;
	*ret_len = (size_t)n;
	return 0;
}

static X509 *cert_load(const uint8_t *cert, size_t len, struct err *e)
{
	const unsigned char *p = cert;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	if (x == NULL)
		err_set(e, "the stored certificate does not decode");
	return x;
}

/* Fill the fields of a new certificate for pk, and sign it. */
static int cert_fill(X509 *x, EVP_PKEY *pk, const char *cn, int days,
		     int64_t now)
{
	unsigned char serial[16];
	BIGNUM *bn;
	X509_NAME *name = X509_get_subject_name(x);
	char subject[X509_SUBJECT_MAX];
	int ok;

	secmem_random(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	snprintf(subject, sizeof(subject), "secretwatch %s", cn);
	ok = bn != NULL && X509_set_version(x, 2) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	     ASN1_TIME_set(X509_getm_notBefore(x), (time_t)now) != NULL &&
	     ASN1_TIME_set(X509_getm_notAfter(x),
			   (time_t)(now + (int64_t)days * 86400)) != NULL &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)subject, -1, -1,
					0) &&
	     X509_set_issuer_name(x, name) && X509_set_pubkey(x, pk) &&
	     X509_sign(x, pk, EVP_sha256()) > 0;
	BN_free(bn);
	return ok ? 0 : -1;
}

int x509_generate(const char *cn, int bits, int days, int64_t now,
		  struct x509_key *ret_key, uint8_t **ret_cert, size_t *ret_len,
		  struct err *e)
{
	EVP_PKEY *pk;
	X509 *x = NULL;
	int rc = -1;

	start();
	pk = EVP_RSA_gen((unsigned)bits);
	if (pk == NULL || (x = X509_new()) == NULL ||
	    cert_fill(x, pk, cn, days, now)) {
		err_set(e, "cannot make an RSA key and certificate");
		goto out;
	}
	if (key_der(pk, &ret_key->der, e))
		goto out;
	rc = cert_der(x, ret_cert, ret_len, e);
	if (rc)
		x509_key_free(ret_key);
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

static int check_pair(EVP_PKEY *pk, X509 *x, struct err *e)
{
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pk) < 2048) {
		err_set(e, "the key is not an RSA key of 2048 bits or more, "
			   "which Entra needs for client assertions");
		return -1;
	}
	if (X509_check_private_key(x, pk) != 1) {
		err_set(e, "the key does not belong to the certificate (their "
			   "public keys differ): give the key the certificate "
			   "was made for");
		return -1;
	}
	return 0;
}

int x509_import_pem(const struct vbuf *key_pem, const char *cert_pem,
		    size_t cert_len, struct x509_key *ret_key,
		    uint8_t **ret_cert, size_t *ret_len, struct err *e)
{
	BIO *kb, *cb;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	int rc = -1;

	start();
	kb = BIO_new_mem_buf(key_pem->p, (int)key_pem->len);
	cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
	if (kb != NULL)
		pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, (void *)"");
	if (cb != NULL)
		x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	if (pk == NULL)
		err_set(e, "the key file holds no unencrypted PEM private key");
	else if (x == NULL)
		err_set(e, "the certificate file holds no PEM certificate");
	else if (check_pair(pk, x, e) == 0 &&
		 key_der(pk, &ret_key->der, e) == 0) {
		rc = cert_der(x, ret_cert, ret_len, e);
		if (rc)
			x509_key_free(ret_key);
	}
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

static void hex_upper(const unsigned char *p, size_t n, char *out)
{
	static const char d[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int asn1_epoch(const ASN1_TIME *t, int64_t *ret)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

/* The subject as the portal shows it: "CN=secretwatch mail". */
static void subject_str(X509 *x, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n = 0;

	out[0] = '\0';
	if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
					    XN_FLAG_RFC2253) >= 0)
		n = BIO_get_mem_data(b, &data);
	if (n > 0)
		snprintf(out, size, "%.*s", (int)n, data);
	BIO_free(b);
}

int x509_cert_info(const uint8_t *cert, size_t len, struct x509_info *ret,
		   struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;
	X509 *x = cert_load(cert, len, e);
	EVP_PKEY *pub;
	int rc = -1;

	if (x == NULL)
		return -1;
	memset(ret, 0, sizeof(*ret));
	subject_str(x, ret->subject, sizeof(ret->subject));
	pub = X509_get0_pubkey(x);
	ret->key_bits = pub != NULL ? EVP_PKEY_get_bits(pub) : 0;
	if (asn1_epoch(X509_get0_notBefore(x), &ret->not_before) ||
	    asn1_epoch(X509_get0_notAfter(x), &ret->not_after) ||
	    !X509_digest(x, EVP_sha1(), md, &n))
		goto out;
	hex_upper(md, n, ret->sha1_hex);
	if (!X509_digest(x, EVP_sha256(), md, &n))
		goto out;
	hex_upper(md, n, ret->sha256_hex);
	rc = 0;
out:
	if (rc)
		err_set(e, "cannot read the certificate's dates or digests");
	X509_free(x);
	return rc;
}

int x509_cert_pem(const uint8_t *cert, size_t len, char **ret_pem,
		  struct err *e)
{
	X509 *x = cert_load(cert, len, e);
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (x != NULL && b != NULL && PEM_write_bio_X509(b, x) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	X509_free(x);
	if (out == NULL)
		err_set(e, "cannot write the certificate as PEM");
	*ret_pem = out;
	return out != NULL ? 0 : -1;
}

int x509_key_pem(const struct x509_key *key, struct vbuf *ret, struct err *e)
{
	EVP_PKEY *pk;
	BIO *b;
	char *data;
	long n = 0;
	int rc = -1;

	start();
	if ((pk = key_load(key, e)) == NULL)
		return -1;
	/* A secure-heap memory BIO: the PEM is wiped when it is freed. */
	b = BIO_new(BIO_s_secmem());
	if (b != NULL &&
	    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0 &&
	    vbuf_alloc(ret, (size_t)n) == 0) {
		memcpy(ret->p, data, (size_t)n);
		rc = 0;
	}
	BIO_free(b);
	EVP_PKEY_free(pk);
	if (rc)
		err_set(e, "cannot write the private key as PEM");
	return rc;
}

/* Unpadded base64url of n bytes at in into out (room for 4n/3 + 4). */
static size_t b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqr"
				"stuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[(v >> 18) & 63];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = a[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = '\0';
	return o;
}

/* A random GUID (version 4) for jti. */
static void guid(char out[37])
{
	unsigned char b[16];

	secmem_random(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* "<b64url header>.<b64url claims>" into out (JWT_PART_MAX * 2). */
static int signing_input(X509 *x, enum x509_alg alg, const char *claims,
			 char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;
	char thumb[EVP_MAX_MD_SIZE * 2], json[JWT_PART_MAX];
	size_t off;

	if (!X509_digest(x, alg == X509_PS256 ? EVP_sha256() : EVP_sha1(), md,
			 &n))
		return -1;
	b64url(md, n, thumb);
	snprintf(json, sizeof(json),
		 "{\"alg\":\"%s\",\"typ\":\"JWT\",\"%s\":\"%s\"}",
		 x509_alg_name(alg), alg == X509_PS256 ? "x5t#S256" : "x5t",
		 thumb);
	off = b64url((const unsigned char *)json, strlen(json), out);
	out[off++] = '.';
	b64url((const unsigned char *)claims, strlen(claims), out + off);
	return 0;
}

/* The signature over in, with pk, as alg says. */
static int sign(EVP_PKEY *pk, enum x509_alg alg, const char *in,
		unsigned char *sig, size_t *sig_len)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok;

	ok = mc != NULL &&
	     EVP_DigestSignInit(mc, &pc, EVP_sha256(), NULL, pk) == 1;
	if (ok && alg == X509_PS256)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) ==
			 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(
			 pc, RSA_PSS_SALTLEN_DIGEST) == 1;
	ok = ok && EVP_DigestSign(mc, sig, sig_len, (const unsigned char *)in,
				  strlen(in)) == 1;
	EVP_MD_CTX_free(mc);
	return ok ? 0 : -1;
}

/* A JWT of claims (JSON) signed with key, its header naming cert. */
static int jwt_signed(const struct x509_key *key, const uint8_t *cert,
		      size_t cert_len, enum x509_alg alg, const char *claims,
		      struct vbuf *ret, struct err *e)
{
	char in[JWT_PART_MAX * 2];
	unsigned char sig[1024];
	size_t sig_len = sizeof(sig), n;
	EVP_PKEY *pk;
	X509 *x;
	int rc = -1;

	start();
	if ((x = cert_load(cert, cert_len, e)) == NULL)
		return -1;
	if ((pk = key_load(key, e)) == NULL) {
		X509_free(x);
		return -1;
	}
	if (signing_input(x, alg, claims, in) == 0 &&
	    EVP_PKEY_get_size(pk) <= (int)sizeof(sig) &&
	    sign(pk, alg, in, sig, &sig_len) == 0) {
		n = strlen(in);
		if (vbuf_alloc(ret, n + 1 + (sig_len * 4 + 2) / 3) == 0) {
			memcpy(ret->p, in, n);
			ret->p[n] = '.';
			ret->len = n + 1 + b64url(sig, sig_len, ret->p + n + 1);
			rc = 0;
		}
	}
	if (rc)
		err_set(e, "cannot sign a JWT with the certificate's key");
	EVP_PKEY_free(pk);
	X509_free(x);
	return rc;
}

int x509_assertion(const struct x509_key *key, const uint8_t *cert,
		   size_t cert_len, enum x509_alg alg, const char *aud,
		   const char *client_id, int64_t now, struct vbuf *ret,
		   struct err *e)
{
	char json[JWT_PART_MAX], jti[37];

	guid(jti);
	if (strpbrk(aud, "\"\\") != NULL || strpbrk(client_id, "\"\\") ||
	    snprintf(json, sizeof(json),
		     "{\"aud\":\"%s\",\"iss\":\"%s\",\"sub\":\"%s\","
		     "\"jti\":\"%s\",\"nbf\":%lld,\"iat\":%lld,\"exp\":%lld}",
		     aud, client_id, client_id, jti, (long long)now,
		     (long long)now, (long long)(now + ASSERTION_LIFE_S)) >=
		(int)sizeof(json)) {
		err_set(e, "cannot sign a client assertion with the "
			   "certificate's key");
		return -1;
	}
	return jwt_signed(key, cert, cert_len, alg, json, ret, e);
}

int x509_proof(const struct x509_key *key, const uint8_t *cert, size_t cert_len,
	       const char *app_object_id, int64_t now, struct vbuf *ret,
	       struct err *e)
{
	char json[JWT_PART_MAX];

	if (strpbrk(app_object_id, "\"\\") != NULL) {
		err_set(e, "not an application object ID");
		return -1;
	}
	snprintf(json, sizeof(json),
		 "{\"aud\":\"" X509_PROOF_AUD "\",\"iss\":\"%s\","
		 "\"nbf\":%lld,\"exp\":%lld}",
		 app_object_id, (long long)now,
		 (long long)(now + X509_PROOF_LIFE_S));
	return jwt_signed(key, cert, cert_len, X509_RS256, json, ret, e);
}
