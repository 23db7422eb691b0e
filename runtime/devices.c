/* Device nodes inside the container: the default set in a /dev the config mounts (null, zero, full,
 * random, urandom, tty and the usual links), then linux.devices. In a user namespace mknod(2) of a
 * device is not allowed: the host's node is bind-mounted onto an empty file instead, as runc does. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "internal.h"

struct node {
	const char *path; /* absolute, inside the container; also the host node to bind in a userns */
	mode_t mode;      /* S_IF* | permissions */
	dev_t rdev;
	uid_t uid;
	gid_t gid;
};

static const struct {
	const char *name;
	unsigned int major, minor;
} default_devices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const struct {
	const char *name, *target;
} default_links[] = {
    {"fd", "/proc/self/fd"},
    {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"},
};

/* Split "/dev/net/tun" into its parent directory (opened inside the root, created if missing) and
 * its last component. */
static int open_parent(const struct mount_ctx *ctx, const char *path, int *ret_dirfd, const char **ret_name)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = (size_t)(slash - path);

	if (slash[1] == '\0')
		return -EINVAL;
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	*ret_name = slash + 1;
	return rootfs_resolve(ctx->rootfd, n ? dir : "/", ROOTFS_RESOLVE_MKDIR | mount_ctx_resolve_flags(ctx),
			      O_PATH | O_DIRECTORY, ret_dirfd);
}

/* Bind the host's node @n->path onto an empty file at the same place in the container. The host
 * node must be the device asked for, so a different file is never exposed. */
static int bind_node(const struct mount_ctx *ctx, int dirfd, const char *name, const struct node *n,
		     struct berth_error *err)
{
	_cleanup_close_ int srcfd = open(n->path, O_PATH | O_CLOEXEC), dstfd = -EBADF;
	struct stat st;
	int fd;

	if (srcfd < 0)
		return berth_error_setf_errno(err, -errno, "open host device %s", n->path);
	if (fstat(srcfd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "stat host device %s", n->path);
	if ((st.st_mode & S_IFMT) != (n->mode & S_IFMT) || st.st_rdev != n->rdev)
		return berth_error_set(err, -ENODEV, "host %s is not device %u:%u", n->path, major(n->rdev),
				       minor(n->rdev));
	fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		return 0; /* already there: left as it is, like an existing mknod */
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "create %s", n->path);
	close(fd);
	dstfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (dstfd < 0)
		return berth_error_setf_errno(err, -errno, "open %s", n->path);
	return mounts_bind(
	    ctx, &(struct bind_req){.srcfd = srcfd, .dstfd = dstfd, .path = n->path, .userns_fd = -EBADF},
	    NULL, err);
}

/* Who owns a node mknod makes: the caller's fsuid and fsgid (euid/egid here). devices_setup runs
 * with umask 0, so mknod sets the mode asked for and only special bits need a chmod. */
struct creator {
	uid_t uid;
	gid_t gid;
};

static int create_node_at(const struct mount_ctx *ctx, int dirfd, const char *name, const struct node *n,
			  const struct creator *me, struct berth_error *err)
{
	bool fifo = S_ISFIFO(n->mode);

	if (ctx->userns && !fifo)
		return bind_node(ctx, dirfd, name, n, err);
	if (mknodat(dirfd, name, n->mode, n->rdev) < 0) {
		if (errno == EEXIST)
			return 0;
		if (errno == EPERM && !fifo)
			return bind_node(ctx, dirfd, name, n, err);
		return berth_error_setf_errno(err, -errno, "mknod %s", n->path);
	}
	/* the node is new, so neither call can follow a symlink */
	if ((n->mode & 07000) && fchmodat(dirfd, name, n->mode & 07777, 0) < 0)
		return berth_error_setf_errno(err, -errno, "chmod %s", n->path);
	if ((n->uid != me->uid || n->gid != me->gid) &&
	    fchownat(dirfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_error_setf_errno(err, -errno, "chown %s", n->path);
	return 0;
}

static int create_node(const struct mount_ctx *ctx, const struct node *n, const struct creator *me,
		       struct berth_error *err)
{
	_cleanup_close_ int dirfd = -EBADF;
	const char *name;
	int r = open_parent(ctx, n->path, &dirfd, &name);
	if (r < 0)
		return berth_error_setf_errno(err, r, "open parent directory of %s", n->path);
	return create_node_at(ctx, dirfd, name, n, me, err);
}

static int populate_defaults(const struct mount_ctx *ctx, int devfd, const struct creator *me,
			     struct berth_error *err)
{
	char path[32];

	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		snprintf(path, sizeof(path), "/dev/%s", default_devices[i].name);
		struct node n = {
		    .path = path,
		    .mode = S_IFCHR | 0666,
		    .rdev = makedev(default_devices[i].major, default_devices[i].minor),
		};
		if (create_node_at(ctx, devfd, default_devices[i].name, &n, me, err) < 0)
			return berth_error_prefix(err, "default devices");
	}
	return 0;
}

static int symlink_new(int devfd, const char *target, const char *name, struct berth_error *err)
{
	if (symlinkat(target, devfd, name) < 0 && errno != EEXIST)
		return berth_error_setf_errno(err, -errno, "symlink /dev/%s -> %s", name, target);
	return 0;
}

/* /dev/fd, stdio and core links; /dev/ptmx points into the devpts instance mounted on /dev/pts. */
static int populate_links(int devfd, struct berth_error *err)
{
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(default_links); i++) {
		r = symlink_new(devfd, default_links[i].target, default_links[i].name, err);
		if (r < 0)
			return r;
	}
	/* only where the kernel has one, as runc: the link would dangle otherwise */
	if (faccessat(AT_FDCWD, "/proc/kcore", F_OK, 0) == 0) {
		r = symlink_new(devfd, "/proc/kcore", "core", err);
		if (r < 0)
			return r;
	}
	if (unlinkat(devfd, "ptmx", 0) < 0 && errno != ENOENT)
		return berth_error_setf_errno(err, -errno, "remove /dev/ptmx");
	return symlink_new(devfd, "pts/ptmx", "ptmx", err);
}

static int device_node(const struct oci_device *d, const char *path, struct node *ret,
		       struct berth_error *err)
{
	mode_t type;

	switch (d->type) {
	case 'c':
	case 'u':
		type = S_IFCHR;
		break;
	case 'b':
		type = S_IFBLK;
		break;
	case 'p':
		type = S_IFIFO;
		break;
	default:
		return berth_error_set(err, -EINVAL, "unknown device type '%c'", d->type);
	}
	*ret = (struct node){
	    .path = path,
	    .mode = type | (d->has_file_mode ? (d->file_mode & 07777) : 0666),
	    .rdev = type == S_IFIFO ? 0 : makedev((unsigned int)d->major, (unsigned int)d->minor),
	    .uid = d->has_uid ? d->uid : 0,
	    .gid = d->has_gid ? d->gid : 0,
	};
	return 0;
}

static int create_linux_devices(const struct mount_ctx *ctx, const struct oci_linux *lx,
				const struct creator *me, struct berth_error *err)
{
	for (size_t i = 0; i < lx->n_devices; i++) {
		const struct oci_device *d = &lx->devices[i];
		char path[PATH_MAX];
		struct node n = {0};
		int r;

		if (rootfs_path_clean(d->path, path, sizeof(path)) < 0 || strcmp(path, "/") == 0)
			return berth_error_set(err, -EINVAL, "linux.devices[%zu]: invalid path '%s'", i,
					       d->path ? d->path : "");
		r = device_node(d, path, &n, err);
		if (r >= 0)
			r = create_node(ctx, &n, me, err);
		if (r < 0)
			return berth_error_prefix(err, "linux.devices[%zu] (%s)", i, d->path);
	}
	return 0;
}

static int dev_readonly(const struct mount_ctx *ctx, struct berth_error *err)
{
	_cleanup_close_ int devfd = -EBADF;
	int r;

	r = rootfs_resolve(ctx->rootfd, "/dev", mount_ctx_resolve_flags(ctx), O_PATH | O_DIRECTORY, &devfd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "open /dev");
	r = mounts_setattr(ctx, devfd, MOUNT_ATTR_RDONLY, 0, false, err);
	if (r < 0)
		return berth_error_prefix(err, "make /dev read-only");
	return 0;
}

static int devices_populate(const struct mount_ctx *ctx, const struct oci_config *config,
			    const struct oci_mount *dev, const struct creator *me, struct berth_error *err)
{
	int r;
	if (dev) {
		_cleanup_close_ int devfd = -EBADF;
		r = rootfs_resolve(ctx->rootfd, "/dev", ROOTFS_RESOLVE_MKDIR | mount_ctx_resolve_flags(ctx),
				   O_PATH | O_DIRECTORY, &devfd);
		if (r < 0)
			return berth_error_setf_errno(err, r, "open /dev");
		r = populate_defaults(ctx, devfd, me, err);
		if (r == 0)
			r = populate_links(devfd, err);
		if (r < 0)
			return r;
	}
	return config->has_linux ? create_linux_devices(ctx, &config->linux_, me, err) : 0;
}

int devices_setup(const struct mount_ctx *ctx, const struct oci_config *config, struct berth_error *err)
{
	bool readonly = false;
	const struct oci_mount *dev = mounts_find_dev(config, &readonly);
	const struct creator me = {geteuid(), getegid()};
	mode_t old_umask = umask(0);
	int r = devices_populate(ctx, config, dev, &me, err);
	umask(old_umask);
	if (r < 0)
		return r;
	return dev && readonly ? dev_readonly(ctx, err) : 0;
}
