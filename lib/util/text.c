#include "text.h"

#include <string.h>

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

/* The length of the well-formed UTF-8 sequence at s (2 to 4 bytes), or
 * 0: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s)
{
	size_t need;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 2, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 3, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need + 1;
}

size_t text_hostile_len(const char *str, int lines)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	if (s[0] < 0x80) {
		if (lines && (s[0] == '\n' || s[0] == '\t'))
			return 0;
		return is_control(s[0]) && s[0] != '\0' ? 1 : 0;
	}
	if ((n = text_bidi_len(str)) > 0)
		return n;
	return utf8_len(s) == 0 ? 1 : 0;
}

void text_escape(char *dst, size_t dstsz, const char *src, int lines)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t n = 0, h, keep;

	if (dstsz == 0)
		return;
	while (*s != '\0') {
		h = text_hostile_len((const char *)s, lines);
		keep = h == 0 && *s >= 0x80 ? utf8_len(s) : 1;
		if (h == 0) {
			if (n + keep >= dstsz)
				break;
			while (keep-- > 0)
				dst[n++] = (char)*s++;
			continue;
		}
		if (n + 4 * h >= dstsz)
			break;
		while (h-- > 0) {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[*s >> 4];
			dst[n++] = hex[*s++ & 0xf];
		}
	}
	dst[n] = '\0';
}

void text_redact(char *s, size_t size, const char *needle, size_t len)
{
	static const char mark[] = "[redacted]";
	const size_t ml = sizeof(mark) - 1;
	char *from = s, *p;

	if (needle == NULL || len < 8)
		return;
	while ((p = memmem(from, strlen(from), needle, len)) != NULL) {
		size_t off = (size_t)(p - s);
		size_t tail = strlen(p + len);

		if (off + ml >= size) {
			s[off] = '\0';
			break;
		}
		if (off + ml + tail >= size)
			tail = size - off - ml - 1;
		memmove(p + ml, p + len, tail);
		memcpy(p, mark, ml);
		p[ml + tail] = '\0';
		from = p + ml;
	}
}
