/* cgroup_destroy(): remove the container's leaf cgroup from every hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

static int rmdir_leaf(const struct cgroup *cg, const struct cg_hier *h)
{
	char rel[CG_RELPATH_MAX];
	int r = cg_relpath(h, rel, sizeof(rel));

	if (r < 0)
		return r;
	if (unlinkat(cg->root_fd, rel, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	return -errno;
}

/* Only the leaf goes: parents such as /berth-test are shared with other containers.
 * cgroupfs answers EBUSY while processes (or child cgroups) remain: kill what is listed and
 * retry until @deadline, since dying processes leave the list only after they exit. */
static int destroy_in(const struct cgroup *cg, const struct cg_hier *h, bool *killed, uint64_t deadline)
{
	unsigned delay = 1000;

	for (;;) {
		int r = rmdir_leaf(cg, h);
		if (r != -EBUSY || cg_now_ms() >= deadline)
			return r;
		if (!*killed) {
			/* Once for the whole cgroup: cgroup.kill, and thawing a v1 freezer. */
			cgroup_signal_all(cg, SIGKILL, NULL);
			*killed = true;
		} else {
			_cleanup_close_ int fd = cg_open(cg, h);
			if (fd >= 0)
				cg_kill_listed(fd, SIGKILL);
		}
		cg_backoff(&delay);
	}
}

int cgroup_destroy(const struct cgroup *cg, struct berth_error *err)
{
	struct cg_hier h[CG_HIER_MAX];
	size_t n = cg_hierarchies(cg, h);
	uint64_t deadline = cg_now_ms() + CG_WAIT_MS;
	bool killed = false;
	int ret = 0;

	/* Keep going after a failure so one stuck hierarchy does not leave the others behind. */
	for (size_t i = 0; i < n; i++) {
		int r = destroy_in(cg, &h[i], &killed, deadline);
		if (r == -EBUSY && ret == 0)
			ret =
			    berth_error_set(err, r,
					    "remove cgroup '%s' in hierarchy '%s': it still has processes or "
					    "child cgroups after %d ms",
					    h[i].path, h[i].dir ? h[i].dir : "unified", CG_WAIT_MS);
		else if (r < 0 && ret == 0)
			ret = berth_error_setf_errno(err, r, "remove cgroup '%s' in hierarchy '%s'",
						     h[i].path, h[i].dir ? h[i].dir : "unified");
	}
	return ret;
}
