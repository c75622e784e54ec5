#include "text.h"

static int is_control(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

void text_copy(char *dst, size_t dstsz, const char *src, size_t len,
	       char repl)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < dstsz; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[n++] = is_control(ch) ? repl : (char)ch;
	}
	if (dstsz > 0)
		dst[n] = '\0';
}

int text_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (is_control((unsigned char)s[i]))
			return 1;
	return 0;
}

void text_scrub(char *s, char repl)
{
	for (; *s != '\0'; s++)
		if (is_control((unsigned char)*s))
			*s = repl;
}

void text_oneline(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t n = 0;
	int space = 1; /* drops leading blanks */

	if (dstsz == 0)
		return;
	for (size_t i = 0; i < len && src[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)src[i];

		if (is_control(ch) || ch == ' ') {
			if (space)
				continue;
			ch = ' ';
			space = 1;
		} else {
			space = 0;
		}
		if (n + 1 >= dstsz)
			break;
		dst[n++] = (char)ch;
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}
