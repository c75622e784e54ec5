#include "ini.h"

#include <stdlib.h>
#include <string.h>

#define INI_SECTION_MAX 64

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* s without leading and trailing blanks (in place). */
static char *trim(char *s)
{
	size_t n;

	while (blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int section_line(char *s, char *section, struct err *e)
{
	size_t n = strlen(s);
	char *name;

	if (s[n - 1] != ']') {
		err_set(e, "a section header must end with ']'");
		return -1;
	}
	s[n - 1] = '\0';
	name = trim(s + 1);
	if (name[0] == '\0' || strlen(name) >= INI_SECTION_MAX) {
		err_set(e, "a section name must be 1 to %d characters",
			INI_SECTION_MAX - 1);
		return -1;
	}
	strcpy(section, name);
	return 0;
}

static int key_line(char *s, const char *section, ini_fn fn, void *arg,
		    struct err *e)
{
	char *eq = strchr(s, '=');
	char *key;

	if (eq == NULL) {
		err_set(e, "not a 'key = value' line or a [section] header");
		return -1;
	}
	*eq = '\0';
	key = trim(s);
	if (key[0] == '\0') {
		err_set(e, "a line without a key before '='");
		return -1;
	}
	if (section[0] == '\0') {
		err_set(e, "key '%s' comes before any [section] header", key);
		return -1;
	}
	return fn(arg, section, key, trim(eq + 1), e);
}

static int one_line(char *line, size_t len, char *section, ini_fn fn, void *arg,
		    struct err *e)
{
	char *s;

	if (strlen(line) != len) {
		err_set(e, "a NUL byte in the line");
		return -1;
	}
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	s = trim(line);
	if (s[0] == '\0' || s[0] == '#' || s[0] == ';')
		return 0;
	if (s != line) {
		err_set(e, "a line starting with a blank: continuation lines "
			   "are not allowed, put the value on one line");
		return -1;
	}
	if (s[0] == '[')
		return section_line(s, section, e);
	return key_line(s, section, fn, arg, e);
}

int ini_read(FILE *f, ini_fn fn, void *arg, struct err *e)
{
	char section[INI_SECTION_MAX] = "";
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int n = 0, ret = 0;

	while ((len = getline(&line, &cap, f)) >= 0) {
		n++;
		/* A UTF-8 byte order mark, as some editors write it. */
		if (n == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
			memmove(line, line + 3, (size_t)(len -= 3) + 1);
		if (one_line(line, (size_t)len, section, fn, arg, e)) {
			ret = n;
			break;
		}
	}
	if (ret == 0 && ferror(f)) {
		err_set(e, "read error");
		ret = n + 1;
	}
	free(line);
	return ret;
}
