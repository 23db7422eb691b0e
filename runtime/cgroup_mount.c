/* A config "cgroup"/"cgroup2" mount: the container sees its own cgroup, never the host's tree.
 *
 * - v1 (hybrid or legacy host, type "cgroup"): a tmpfs at the destination and, in it, one directory
 *   per hierarchy bound to the container's cgroup there ("memory", "pids", "unified", ...), with a
 *   symlink per controller of a combined hierarchy ("cpu" -> "cpu,cpuacct"), then the tmpfs made
 *   read-only unless "rw" was asked. This is the layout runc (mountCgroupV1) and crun give, so
 *   programs that read /sys/fs/cgroup/memory/memory.limit_in_bytes or /sys/fs/cgroup/pids/pids.max
 *   find their own limits. Hierarchies the container was not placed in (the "systemd" named one)
 *   are not shown: binding the caller's cgroup there would show host cgroup names.
 * - v2 (a pure v2 host, or type "cgroup2"): with a cgroup namespace, a cgroup2 mount, whose root is
 *   the namespace's root, i.e. the container's cgroup; without one, a bind of the container's own
 *   cgroup2 directory (a fresh cgroup2 mount would show the host's whole tree). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

/* Bind the cgroup directory @srcfd onto @path (inside the rootfs), created as a directory. */
static int bind_cgroup_dir(const struct mount_ctx *ctx, int srcfd, const char *path, unsigned long flags,
			   int *ret_mntfd, struct berth_error *err)
{
	_cleanup_close_ int dstfd = -EBADF;
	struct bind_req req = {
	    .srcfd = srcfd,
	    .path = path,
	    .attr_set = mount_ms_to_attr(flags),
	    .userns_fd = -EBADF,
	};
	int r = rootfs_resolve(ctx->rootfd, path, ROOTFS_RESOLVE_MKDIR | mount_ctx_resolve_flags(ctx), O_PATH,
			       &dstfd);

	if (r < 0)
		return berth_error_setf_errno(err, r, "create mount point %s", path);
	req.dstfd = dstfd;
	return mounts_bind(ctx, &req, ret_mntfd, err);
}

/* "cpu" -> "cpu,cpuacct" and "cpuacct" -> "cpu,cpuacct" next to a combined hierarchy. */
static int link_controllers(int dirfd, const char *name, struct berth_error *err)
{
	char part[NAME_MAX + 1];

	if (!strchr(name, ','))
		return 0;
	for (const char *p = name; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 0 && len < sizeof(part)) {
			memcpy(part, p, len);
			part[len] = '\0';
			if (symlinkat(name, dirfd, part) < 0 && errno != EEXIST)
				return berth_error_setf_errno(err, -errno, "symlink %s -> %s", part, name);
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

/* One hierarchy of the v1 view: bind it below @dest and add its controller symlinks. */
static int view_one(const struct mount_ctx *ctx, int tmpfs_dirfd, const char *dest, size_t index,
		    unsigned long flags, struct berth_error *err)
{
	_cleanup_close_ int srcfd = -EBADF;
	const char *name = NULL;
	bool unified = false;
	char path[PATH_MAX];
	int r = cgroup_open_view(ctx->cg, index, &name, &unified, &srcfd);

	if (r < 0)
		return r == -ERANGE ? r : berth_error_setf_errno(err, r, "open the container's cgroup");
	if (!name) /* a cgroup2 root: not part of a v1 layout */
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", strcmp(dest, "/") ? dest : "", name) >=
	    sizeof(path))
		return berth_error_set(err, -ENAMETOOLONG, "cgroup mount path too long");
	r = bind_cgroup_dir(ctx, srcfd, path, flags, NULL, err);
	if (r < 0) {
		berth_error_prefix(err, "bind cgroup %s", name);
		return r;
	}
	return unified ? 0 : link_controllers(tmpfs_dirfd, name, err);
}

static int mount_v1_view(const struct mount_ctx *ctx, int dstfd, const char *dest, unsigned long flags,
			 int *ret_mntfd, struct berth_error *err)
{
	_cleanup_close_ int mntfd = -EBADF, dirfd = -EBADF;
	int r = mounts_fs(ctx, "tmpfs", "tmpfs", flags & ~(unsigned long)MS_RDONLY, "mode=755", dstfd, dest,
			  &mntfd, err);

	if (r < 0)
		return r;
	r = rootfs_resolve(ctx->rootfd, dest, mount_ctx_resolve_flags(ctx), O_PATH | O_DIRECTORY, &dirfd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "open the cgroup tmpfs");
	for (size_t i = 0;; i++) {
		r = view_one(ctx, dirfd, dest, i, flags, err);
		if (r == -ERANGE)
			break;
		if (r < 0)
			return r;
	}
	/* read-only last: the directories and symlinks above are made in it first */
	if (flags & MS_RDONLY) {
		r = mounts_setattr(ctx, mntfd, MOUNT_ATTR_RDONLY, 0, false, err);
		if (r < 0)
			return r;
	}
	if (ret_mntfd)
		*ret_mntfd = TAKE_FD(mntfd);
	return 0;
}

/* The container's own cgroup2 directory: index 0 when there is a unified hierarchy. */
static int mount_v2_view(const struct mount_ctx *ctx, const char *source, int dstfd, const char *dest,
			 unsigned long flags, const char *data, int *ret_mntfd, struct berth_error *err)
{
	_cleanup_close_ int srcfd = -EBADF;
	const char *name = NULL;
	bool unified = false;
	int r;

	if (ctx->new_cgroupns) {
		r = mounts_fs(ctx, source, "cgroup2", flags, data, dstfd, dest, ret_mntfd, err);
		if (r != -EPERM && r != -EBUSY)
			return r;
		berth_error_clear(err); /* e.g. a user namespace that does not own the cgroupns */
	}
	r = cgroup_open_view(ctx->cg, 0, &name, &unified, &srcfd);
	if (r == 0 && !unified)
		r = -ENOENT;
	if (r < 0)
		return berth_error_setf_errno(err, r, "open the container's cgroup2 directory");
	return bind_cgroup_dir(ctx, srcfd, dest, flags, ret_mntfd, err);
}

int cgroup_mount_view(const struct mount_ctx *ctx, const char *source, const char *type, unsigned long flags,
		      const char *data, int dstfd, const char *dest, int *ret_mntfd, struct berth_error *err)
{
	bool v1_host = ctx->cg->layout != CGROUP_LAYOUT_UNIFIED;

	if (v1_host && strcmp(type, "cgroup") == 0)
		return mount_v1_view(ctx, dstfd, dest, flags, ret_mntfd, err);
	if (!ctx->cg->has_unified)
		return berth_error_set(err, -ENOENT, "a cgroup2 mount needs a cgroup2 hierarchy on the host");
	return mount_v2_view(ctx, source, dstfd, dest, flags, data, ret_mntfd, err);
}
