#include "path.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

int path_dir(const char *path, char *out, size_t size)
{
	const char *dir;

	if ((size_t)snprintf(out, size, "%s", path) >= size) {
		out[0] = '\0';
		return -1;
	}
	dir = dirname(out);
	if (strlen(dir) >= size) {
		out[0] = '\0';
		return -1;
	}
	memmove(out, dir, strlen(dir) + 1);
	return 0;
}
