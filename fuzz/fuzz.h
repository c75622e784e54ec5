/* fuzz.h - what the libFuzzer harnesses share: a check that aborts (so
 * libFuzzer saves the input) and exact-size copies of the input (so
 * AddressSanitizer sees a read one byte past it). */
#ifndef SW_FUZZ_H
#define SW_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the code under test promises; a failure is a finding. */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* A fixed-size string field holds its NUL. */
#define FUZZ_CHECK_STR(field) FUZZ_CHECK(memchr(field, '\0', sizeof(field)))

/* The size bytes of data in a malloc'd block of exactly that size (one
 * byte for an empty input). */
static inline char *fuzz_bytes(const uint8_t *data, size_t size)
{
	char *p = malloc(size > 0 ? size : 1);

	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

/* The size bytes of data and a NUL, in a block of exactly that size. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);

	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);
	p[size] = '\0';
	return p;
}

#endif
