/* exclude.h - [sweep] exclude: the applications a tenant sweep leaves
 * out, named by application (client) ID or by a display-name pattern
 * in which * matches any run of characters and ? any one. */
#ifndef SW_EXCLUDE_H
#define SW_EXCLUDE_H

#include <stdbool.h>

#include "err.h"

/* Check a comma-separated list of application IDs and patterns (each
 * may be in double quotes, which keep commas and blanks). Returns 0, or
 * -1 with e naming the first entry that is neither, such as one with
 * [ ] { } or a backslash: only * and ? are wildcards. */
int exclude_check(const char *list, struct err *e);

/* Whether the application app_id (its display name name) is in list, a
 * list exclude_check accepted. Names match case-insensitively. */
bool exclude_match(const char *list, const char *app_id, const char *name);

#endif
