/* One lock per cgroup hierarchy for the commands that decide who uses a cgroup: create (is it
 * free? then place the init) and delete (is it empty? then remove it). Without it two containers
 * given one cgroupsPath race: one's delete removes or kills the cgroup the other is being placed
 * in ("write devices.allow: No such device"). The lock is an flock on the hierarchy's mount
 * directory (the first hierarchy: unified when there is one), which always exists, unlike the
 * leaf, which the other side may be removing. Held for milliseconds. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

int cgroup_lock(const struct cgroup *cg, unsigned int limit_ms, int *ret_fd, struct berth_error *err)
{
	struct cg_hier h[CG_HIER_MAX];
	_cleanup_close_ int fd = -EBADF;
	unsigned delay_us = 200;
	uint64_t deadline = cg_now_ms() + limit_ms;

	if (cg_hierarchies(cg, h) == 0)
		return berth_error_set(err, -ENOENT, "no cgroup hierarchy to lock");
	fd = cg_open_hier(cg, &h[0]);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "open the cgroup hierarchy '%s'",
					      h[0].dir ? h[0].dir : "/");
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return berth_error_setf_errno(err, -errno, "lock the cgroup hierarchy");
		if (cg_now_ms() >= deadline)
			return berth_error_set(err, -ETIMEDOUT,
					       "waited %u s for the cgroup lock (flock on the hierarchy "
					       "'%s') held by another berth",
					       limit_ms / 1000, h[0].dir ? h[0].dir : "/");
		cg_backoff(&delay_us);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}
