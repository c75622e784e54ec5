/* path.h - file names taken apart. */
#ifndef SW_PATH_H
#define SW_PATH_H

#include <stddef.h>

/* The directory part of path into out (size > 0), as dirname(3) gives it:
 * "." for a bare name, "/" for a name in the root; path is left as it
 * is. Returns 0, or -1 when out is too small (out then holds ""). */
int path_dir(const char *path, char *out, size_t size);

#endif
