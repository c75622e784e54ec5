/* vault.h - the master key and AEAD encryption of secret values.
 *
 * XChaCha20-Poly1305 (libsodium), a fresh random nonce per encryption and
 * associated data that binds each blob to its row. A blob is
 * version(1) || nonce(24) || ciphertext || tag(16). Plaintext lives only in
 * struct vbuf (guarded sodium memory, wiped on free).
 */
#ifndef SW_VAULT_H
#define SW_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VAULT_KEY_LEN 32
#define VAULT_AD_MAX  128

struct vault;

/* A plaintext buffer in guarded memory, NUL-terminated after len bytes. */
struct vbuf {
	char *p;
	size_t len;
};

/* Initialise libsodium, disable core dumps and ptrace attach. Call first
 * in every program. Returns 0 or -1. */
int vault_process_init(struct err *e);

/* Allocate room for len bytes (+ NUL). Returns 0 or -1. */
int vbuf_alloc(struct vbuf *b, size_t len);
/* Wipe and free; b may be empty. */
void vbuf_free(struct vbuf *b);

/* The key file to use: $CREDENTIALS_DIRECTORY/master.key when systemd
 * passes credentials, else configured. Points into static or cfg memory. */
const char *vault_key_path(const char *configured);

/* Create a new random key file at path (0600; its directory 0700 when
 * created). Sets *ret_created to 0 when one exists already (left as is). */
int vault_key_create(const char *path, int *ret_created, struct err *e);

/* vault_open flags: the key may be readable by its group and owned by
 * another user ([store] key_group_read = yes). */
#define VAULT_SHARED 1u

/* Read the key file; refuses a missing, short, non-regular (a FIFO too,
 * without blocking) or world-accessible file, and unless flags has
 * VAULT_SHARED or systemd passed it ($CREDENTIALS_DIRECTORY), a
 * group-accessible one or one owned by another user than this one (root
 * excepted), with a message that says what to do. */
int vault_open(const char *path, unsigned flags, struct vault **ret,
	       struct err *e);

/* A vault with a fresh random key (for rekey). */
int vault_generate(struct vault **ret, struct err *e);

/* Replacing a key in two steps, so a database commit can sit between:
 * vault_stage writes v's key to "<path>.new" (0600, fsynced), and
 * vault_install renames it over path. vault_unstage removes it. */
int vault_stage(const struct vault *v, const char *path, struct err *e);
int vault_install(const char *path, struct err *e);
void vault_unstage(const char *path);
/* "<path>.new" into out; -1 when it does not fit. */
int vault_staged_path(const char *path, char *out, size_t size);

/* Wipe and free; v may be NULL. */
void vault_free(struct vault *v);

/* Encrypt len bytes under the associated data ad. *ret_blob is malloc'd
 * (ciphertext is not secret); free it with free(). */
int vault_encrypt(const struct vault *v, const void *pt, size_t len,
		  const char *ad, uint8_t **ret_blob, size_t *ret_len,
		  struct err *e);

/* Decrypt a blob made with the same key and ad into *ret (guarded). Fails
 * with a clear message when the key or the row does not match. */
int vault_decrypt(const struct vault *v, const uint8_t *blob, size_t len,
		  const char *ad, struct vbuf *ret, struct err *e);

/* The key-check value: a blob that only this key opens. */
int vault_kcv_make(const struct vault *v, uint8_t **ret_blob, size_t *ret_len,
		   struct err *e);
/* 0 when blob was made by vault_kcv_make with the same key, else -1. */
int vault_kcv_check(const struct vault *v, const uint8_t *blob, size_t len);

/* Associated data of a secret row and of a cached token. */
void vault_ad_secret(char out[VAULT_AD_MAX], int64_t credential_id,
		     int64_t secret_id);
void vault_ad_token(char out[VAULT_AD_MAX], int64_t secret_id,
		    const char *scope);

struct cJSON;
/* Zero every string in a parsed JSON tree before it is freed (a token
 * reply holds the access token). j may be NULL. */
void vault_json_wipe(struct cJSON *j);

/* Constant-time equality of two buffers of length len. */
int vault_equal(const void *a, const void *b, size_t len);

#endif
