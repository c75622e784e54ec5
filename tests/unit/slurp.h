/* slurp.h - read a whole file, for the unit tests and tests/unit/fakeserv.h. */
#ifndef SW_TEST_SLURP_H
#define SW_TEST_SLURP_H

#include <stdio.h>
#include <stdlib.h>

/* The file's bytes, NUL-terminated and malloc'd (free it), or NULL when it
 * cannot be opened or memory runs out. Read in chunks to the end, so a
 * file that is still being written is read as far as it goes. */
static inline char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *p;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			if ((p = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

#endif
