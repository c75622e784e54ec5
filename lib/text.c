#include "text.h"

static int is_control(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

void text_copy(char *dst, size_t dstsz, const char *src, size_t len, char repl)
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

size_t text_bidi_len(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3;
	return 0;
}
