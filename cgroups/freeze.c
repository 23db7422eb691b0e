/* Freezing: cgroup.freeze in the unified tree where it exists (also on hybrid hosts, where
 * it works without any controller), else the v1 freezer. */
#include <errno.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

/* The "frozen" key of cgroup.events: 1 or 0, -errno when unreadable or missing. */
static int events_frozen(int fd)
{
	char buf[512];
	int r = cg_read(fd, "cgroup.events", buf, sizeof(buf));
	if (r < 0)
		return r;
	for (char *line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "frozen ", 7) == 0)
			return line[7] == '1';
	}
	return -ENOENT;
}

/* Open the unified cgroup directory if it exists and supports cgroup.freeze (Linux 5.2+). */
static int open_unified_freezer(const struct cgroup *cg)
{
	struct cg_hier h;
	char buf[16];

	if (!cg_find_unified(cg, &h))
		return -ENOENT;
	_cleanup_close_ int fd = cg_open(cg, &h);
	if (fd < 0)
		return fd;
	int r = cg_read(fd, "cgroup.freeze", buf, sizeof(buf));
	return r < 0 ? r : TAKE_FD(fd);
}

static int open_v1_freezer(const struct cgroup *cg)
{
	struct cg_hier h;

	if (!cg_find_v1(cg, "freezer", &h))
		return -ENOENT;
	return cg_open(cg, &h);
}

int cgroup_is_frozen(const struct cgroup *cg, bool *ret_frozen)
{
	_cleanup_close_ int ufd = open_unified_freezer(cg);
	_cleanup_close_ int vfd = open_v1_freezer(cg);
	char buf[32];
	bool frozen = false;

	if (ufd < 0 && vfd < 0)
		return ufd != -ENOENT ? ufd : vfd;
	if (ufd >= 0) {
		int r = cg_read(ufd, "cgroup.freeze", buf, sizeof(buf));
		if (r < 0)
			return r;
		/* cgroup.events also reports a cgroup frozen through an ancestor. */
		frozen = strcmp(buf, "1") == 0 || events_frozen(ufd) == 1;
	}
	/* A container paused through the v1 freezer (by an older runtime) is paused too. */
	if (!frozen && vfd >= 0 && cg_read(vfd, "freezer.state", buf, sizeof(buf)) >= 0)
		frozen = strcmp(buf, "FROZEN") == 0;
	*ret_frozen = frozen;
	return 0;
}

int cgroup_frozen_dir(const struct cgroup *cg, char *buf, size_t size)
{
	struct cg_hier h;
	char v[32];

	if (cg_find_unified(cg, &h)) {
		_cleanup_close_ int fd = cg_open(cg, &h);
		if (fd >= 0 && cg_read(fd, "cgroup.freeze", v, sizeof(v)) >= 0 && strcmp(v, "1") == 0)
			return cg_relpath(&h, buf, size);
	}
	if (cg_find_v1(cg, "freezer", &h)) {
		_cleanup_close_ int fd = cg_open(cg, &h);
		if (fd >= 0 && cg_read(fd, "freezer.state", v, sizeof(v)) >= 0 && strcmp(v, "FROZEN") == 0)
			return cg_relpath(&h, buf, size);
	}
	return -ENOENT;
}

static int freeze_unified(int fd, bool freeze)
{
	unsigned delay = 1000;
	uint64_t deadline = cg_now_ms() + CG_WAIT_MS;
	int r = cg_write(fd, "cgroup.freeze", freeze ? "1" : "0", false);

	while (r >= 0) {
		r = events_frozen(fd);
		if (r == freeze)
			return 0;
		if (r >= 0 && cg_now_ms() >= deadline)
			return -ETIMEDOUT;
		cg_backoff(&delay);
	}
	return r;
}

/* v1: FREEZING can get stuck when a task is in an uninterruptible sleep; writing FROZEN
 * again retries the freeze, as runc does. */
static int freeze_v1(int fd, bool freeze)
{
	const char *want = freeze ? "FROZEN" : "THAWED";
	unsigned delay = 1000;
	uint64_t deadline = cg_now_ms() + CG_WAIT_MS;
	char buf[32];

	for (;;) {
		int r = cg_write(fd, "freezer.state", want, false);
		if (r >= 0)
			r = cg_read(fd, "freezer.state", buf, sizeof(buf));
		if (r < 0)
			return r;
		if (strcmp(buf, want) == 0)
			return 0;
		if (cg_now_ms() >= deadline)
			return -ETIMEDOUT;
		cg_backoff(&delay);
	}
}

int cg_thaw_v1(const struct cgroup *cg)
{
	_cleanup_close_ int fd = open_v1_freezer(cg);
	char buf[32];

	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	if (cg_read(fd, "freezer.state", buf, sizeof(buf)) < 0 || strcmp(buf, "THAWED") == 0)
		return 0;
	return freeze_v1(fd, false);
}

int cgroup_freeze(const struct cgroup *cg, bool freeze, struct berth_error *err)
{
	const char *what = freeze ? "freeze" : "thaw";
	_cleanup_close_ int ufd = open_unified_freezer(cg);
	int r;

	if (ufd >= 0) {
		r = freeze_unified(ufd, freeze);
		if (r < 0 && freeze)
			freeze_unified(ufd, false); /* leave it running rather than half frozen */
		/* Also undo a pause made through the v1 freezer, or the processes stay stopped. */
		if (r >= 0 && !freeze)
			r = cg_thaw_v1(cg);
	} else {
		_cleanup_close_ int vfd = open_v1_freezer(cg);
		if (vfd < 0)
			return berth_error_setf_errno(err, ufd != -ENOENT ? ufd : vfd,
						      "%s cgroup '%s': no usable freezer", what, cg->path);
		r = freeze_v1(vfd, freeze);
		if (r < 0 && freeze)
			freeze_v1(vfd, false);
	}
	if (r == -ETIMEDOUT)
		return berth_error_set(err, r, "%s cgroup '%s': the kernel did not report it %s within %d ms",
				       what, cg->path, freeze ? "frozen" : "thawed", CG_WAIT_MS);
	if (r < 0)
		return berth_error_setf_errno(err, r, "%s cgroup '%s'", what, cg->path);
	return 0;
}
