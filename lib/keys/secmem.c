#include "secmem.h"

#include <sodium.h>
#include <string.h>

int secmem_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void *secmem_alloc(size_t len)
{
	return sodium_malloc(len);
}

void secmem_free(void *p)
{
	if (p != NULL)
		sodium_free(p); /* wipes before freeing */
}

void secmem_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

int secmem_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

void secmem_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void secmem_random_hex(char *out, size_t size)
{
	unsigned char rnd[64];
	size_t n = (size - 1) / 2;

	if (n > sizeof(rnd))
		n = sizeof(rnd);
	randombytes_buf(rnd, n);
	sodium_bin2hex(out, n * 2 + 1, rnd, n);
	sodium_memzero(rnd, sizeof(rnd));
}

int secmem_base64url_decode(unsigned char *bin, size_t cap, const char *s,
			    size_t len, size_t *ret_len)
{
	return sodium_base642bin(bin, cap, s, len, NULL, ret_len, NULL,
				 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0
		   ? 0
		   : -1;
}

int secmem_base64_decode(unsigned char *bin, size_t cap, const char *s,
			 size_t len, size_t *ret_len)
{
	int variant = len > 0 && s[len - 1] == '='
			  ? sodium_base64_VARIANT_ORIGINAL
			  : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;

	return sodium_base642bin(bin, cap, s, len, NULL, ret_len, NULL,
				 variant) == 0
		   ? 0
		   : -1;
}

int secbuf_append(struct secbuf *b, const void *data, size_t n, size_t max)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (n > max || b->len + n > max)
		return 1;
	if (b->len + n + 1 > b->cap) {
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = secmem_alloc(cap)) == NULL)
			return -1;
		if (b->p != NULL) {
			memcpy(p, b->p, b->len);
			secmem_free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void secbuf_free(struct secbuf *b)
{
	if (b == NULL)
		return;
	secmem_free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}
