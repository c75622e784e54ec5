/* num.h - the one range-checked integer parser. */
#ifndef SW_NUM_H
#define SW_NUM_H

#include <stdint.h>

/* Parse all of s as a decimal integer in [min, max]. Returns 0 and sets
 * *ret, or -1 (no partial reads, no leading '+' or spaces). */
int num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret);

#endif
