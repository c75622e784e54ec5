#include "secmem.h"

#include <sodium.h>

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
