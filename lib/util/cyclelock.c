#include "cyclelock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct cyclelock {
	int fd;
};

static int open_lock_file(const char *database, struct err *e)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s.cycle", database) >=
	    (int)sizeof(path)) {
		err_set(e, "database path too long: %s", database);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		err_set(e,
			"cannot open the cycle lock %s: %s; run as the "
			"user that owns the database",
			path, strerror(errno));
	return fd;
}

int cyclelock_take(const char *database, bool wait, struct cyclelock **ret,
		   struct err *e)
{
	struct cyclelock *l;
	int fd = open_lock_file(database, e);

	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		int why = errno;
		if (why == EINTR && wait)
			continue;
		close(fd);
		if (why == EWOULDBLOCK)
			return 1;
		err_set(e, "cannot lock %s.cycle: %s", database, strerror(why));
		return -1;
	}
	l = malloc(sizeof(*l));
	if (l == NULL) {
		close(fd);
		err_set(e, "out of memory");
		return -1;
	}
	l->fd = fd;
	*ret = l;
	return 0;
}

void cyclelock_release(struct cyclelock *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	free(l);
}
