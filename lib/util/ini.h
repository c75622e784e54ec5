/* ini.h - a strict reader of INI files: "[section]" headers and
 * "key = value" lines, with blank lines and whole-line comments ('#' or
 * ';') between them.
 *
 * Lines have no length limit. Keys and values are trimmed of blanks.
 * Everything else is an error: a line that is neither, a key before any
 * section, a line that starts with a blank (a continuation line in other
 * readers, silently joined there), a NUL byte. Which keys exist and
 * whether one may repeat is the caller's to decide.
 */
#ifndef SW_INI_H
#define SW_INI_H

#include <stdio.h>

#include "err.h"

/* Called for each "key = value" line; the strings live until it returns.
 * Returns 0 to go on, -1 (with e filled) to stop. */
typedef int (*ini_fn)(void *arg, const char *section, const char *key,
		      const char *value, struct err *e);

/* Read f to its end. Returns 0, or the number (from 1) of the line that
 * failed, with e saying why (and the callback's words when it failed). */
int ini_read(FILE *f, ini_fn fn, void *arg, struct err *e);

#endif
