/* secmem.h - secure memory and randomness for the code outside the vault.
 *
 * The one place besides vault.c that speaks to libsodium: guarded
 * allocations for plaintext (a secret, a token, a form that carries one),
 * wiping, constant-time comparison, random bytes and the base64url decoder
 * used on access tokens. Everything else includes this header, never
 * <sodium.h>.
 */
#ifndef SW_SECMEM_H
#define SW_SECMEM_H

#include <stddef.h>

/* Initialise libsodium. Safe to call more than once and from several
 * threads. Returns 0 or -1. */
int secmem_init(void);

/* len bytes of guarded memory (guard pages, locked, not dumped), or NULL.
 * Free with secmem_free. */
void *secmem_alloc(size_t len);
/* Wipe and free memory from secmem_alloc; p may be NULL. */
void secmem_free(void *p);

/* Zero len bytes at p in a way the compiler does not remove. */
void secmem_wipe(void *p, size_t len);

/* 1 when the len bytes at a and b are equal, else 0, in a time that does
 * not depend on where they differ. */
int secmem_equal(const void *a, const void *b, size_t len);

/* Fill buf with len random bytes from the kernel's generator. */
void secmem_random(void *buf, size_t len);
/* Fill out with (size - 1) / 2 random bytes as lower-case hex and a
 * NUL (size 33: 16 bytes, 32 digits). size must be at least 1. */
void secmem_random_hex(char *out, size_t size);

/* A buffer in guarded memory that grows as bytes are appended (a reply
 * body that may hold a token or a secret), NUL-terminated after len
 * bytes. The blocks it leaves behind are wiped. Zero-initialise it. */
struct secbuf {
	char *p;
	size_t len;
	size_t cap;
};

/* Append the n bytes at data. Returns 0, 1 when the buffer would pass
 * max bytes (nothing appended), or -1 when memory runs out. */
int secbuf_append(struct secbuf *b, const void *data, size_t n, size_t max);

/* Wipe and free the buffer; b may be empty or NULL. */
void secbuf_free(struct secbuf *b);

/* Decode len characters of unpadded base64url at s into at most cap bytes
 * at bin; *ret_len is the decoded length. Returns 0, or -1 when s is not
 * base64url or does not fit. */
int secmem_base64url_decode(unsigned char *bin, size_t cap, const char *s,
			    size_t len, size_t *ret_len);

/* Decode len characters of standard base64 (RFC 4648 section 4, padded
 * or not) at s into at most cap bytes at bin, *ret_len set. Returns 0,
 * or -1 when s is not base64 or does not fit. */
int secmem_base64_decode(unsigned char *bin, size_t cap, const char *s,
			 size_t len, size_t *ret_len);

#endif
