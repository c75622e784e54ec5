/* exclude.c - [sweep] exclude (exclude.h). */
#include "exclude.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "validate.h"

#define ENTRY_MAX 256

/* The next entry of the list at *p into out (quotes taken off, blanks
 * around it trimmed); false at the end, or for an entry too long or an
 * unclosed quote (*bad set). */
static bool next_entry(const char **p, char *out, bool *bad)
{
	const char *s = *p;
	size_t n = 0;
	bool quoted;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0')
		return false;
	quoted = *s == '"';
	for (s += quoted; *s != '\0' && (quoted ? *s != '"' : *s != ','); s++) {
		if (n + 1 >= ENTRY_MAX) {
			*bad = true;
			return false;
		}
		out[n++] = *s;
	}
	if (quoted && *s != '"') {
		*bad = true;
		return false;
	}
	while (!quoted && n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	*p = s + (*s != '\0');
	return true;
}

int exclude_check(const char *list, struct err *e)
{
	char entry[ENTRY_MAX];
	bool bad = false;

	while (next_entry(&list, entry, &bad)) {
		if (entry[0] == '\0' || strpbrk(entry, "[]{}\\") != NULL) {
			err_set(e,
				"'%.60s' is not an application ID or a name "
				"pattern: only * and ? are wildcards (no [..], "
				"{..} or backslashes)",
				entry);
			return -1;
		}
	}
	if (bad) {
		err_set(e,
			"an entry is over %d characters or its quote is not "
			"closed",
			ENTRY_MAX - 1);
		return -1;
	}
	return 0;
}

/* Whether pattern (* and ?) matches all of s, ignoring case. */
static bool glob(const char *pat, const char *s)
{
	const char *star = NULL, *back = NULL;

	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			back = s;
		} else if (*pat == '?' || tolower((unsigned char)*pat) ==
					      tolower((unsigned char)*s)) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++back;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

bool exclude_match(const char *list, const char *app_id, const char *name)
{
	char entry[ENTRY_MAX];
	struct err ignored;
	bool bad = false;

	while (next_entry(&list, entry, &bad)) {
		if (validate_guid(entry, "application ID", &ignored) == 0) {
			if (strcasecmp(entry, app_id) == 0)
				return true;
		} else if (glob(entry, name)) {
			return true;
		}
	}
	return false;
}
