/* tmpcopyup: copy what the image has at a tmpfs mount's destination into the new tmpfs.
 *
 * The source is a directory descriptor opened before the tmpfs hid it. Every entry below it is
 * reached by name from its parent's descriptor with O_NOFOLLOW (symlinks are copied as links and
 * never followed), and nothing on another filesystem is entered, so the copy cannot read anything
 * outside the image directory it started from, whatever the image holds. The copy is bounded in
 * bytes, entries and depth. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "tmpcopyup.h"

#define COPY_BUF_SIZE (64 * 1024)
#define XATTR_LIST_MAX_BYTES (64 * 1024)
#define XATTR_VALUE_MAX_BYTES (64 * 1024)

const struct tmpcopyup_limits tmpcopyup_default_limits = {
    .max_bytes = 1ULL << 30,
    .max_entries = 100000,
    .max_depth = 64,
};

struct copy {
	const struct tmpcopyup_limits *lim;
	struct berth_error *err;
	uint64_t bytes, entries;
	dev_t dev;           /* the source directory's filesystem: no other is entered */
	uint64_t mnt_id;     /* ... nor another mount of it (a bind); 0: unknown */
	char path[PATH_MAX]; /* the entry being copied, relative to the source (for messages) */
	char buf[COPY_BUF_SIZE];
	char xnames[XATTR_LIST_MAX_BYTES];
	char xvalue[XATTR_VALUE_MAX_BYTES];
};

static int fail(struct copy *c, int r, const char *what)
{
	return berth_error_setf_errno(c->err, r, "tmpcopyup: %s '%s'", what, c->path[0] ? c->path : ".");
}

/* Append "/name" to c->path; returns the old length for path_pop. */
static size_t path_push(struct copy *c, const char *name)
{
	size_t len = strlen(c->path);

	snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "", name);
	return len;
}

static void path_pop(struct copy *c, size_t len)
{
	c->path[len] = '\0';
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int copy_content(struct copy *c, int srcfd, int dstfd)
{
	for (;;) {
		ssize_t n = read(srcfd, c->buf, sizeof(c->buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(c, -errno, "read");
		if (n == 0)
			return 0;
		c->bytes += (uint64_t)n;
		if (c->bytes > c->lim->max_bytes)
			return berth_error_set(c->err, -EFBIG,
					       "tmpcopyup: more than %llu bytes to copy (at '%s')",
					       (unsigned long long)c->lim->max_bytes, c->path);
		r = write_all(dstfd, c->buf, (size_t)n);
		if (r < 0)
			return fail(c, r, "write");
	}
}

/* An attribute the target cannot hold is skipped: trusted.* needs CAP_SYS_ADMIN in the initial user
 * namespace, and a filesystem may not support a namespace (user.* on tmpfs before Linux 6.6). */
static int copy_xattr(struct copy *c, int srcfd, int dstfd, const char *name)
{
	ssize_t n = fgetxattr(srcfd, name, c->xvalue, sizeof(c->xvalue));

	if (n < 0 && (errno == ENODATA || errno == EOPNOTSUPP))
		return 0; /* removed meanwhile, or hidden */
	if (n < 0)
		return fail(c, -errno, "read extended attributes of");
	if (fsetxattr(dstfd, name, c->xvalue, (size_t)n, 0) == 0)
		return 0;
	if (errno == EOPNOTSUPP || (errno == EPERM && strncmp(name, "trusted.", 8) == 0)) {
		log_debug("tmpcopyup: '%s': extended attribute %s not copied: %s", c->path, name,
			  strerror(errno));
		return 0;
	}
	return berth_error_setf_errno(c->err, -errno, "tmpcopyup: set extended attribute %s on '%s'", name,
				      c->path);
}

static int copy_xattrs(struct copy *c, int srcfd, int dstfd)
{
	ssize_t n = flistxattr(srcfd, c->xnames, sizeof(c->xnames));

	if (n < 0 && errno == EOPNOTSUPP)
		return 0;
	if (n < 0)
		return fail(c, -errno, "list extended attributes of");
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(c->xnames + off) + 1) {
		char name[XATTR_NAME_MAX + 1];
		int r;

		snprintf(name, sizeof(name), "%s", c->xnames + off);
		r = copy_xattr(c, srcfd, dstfd, name);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Owner, extended attributes, mode, times, in that order: chown clears set-id bits and
 * security.capability, so those are written after it. */
static int finish_fd(struct copy *c, int srcfd, int dstfd, const struct stat *st)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	int r;

	if (fchown(dstfd, st->st_uid, st->st_gid) < 0)
		return fail(c, -errno, "set the owner of");
	r = copy_xattrs(c, srcfd, dstfd);
	if (r < 0)
		return r;
	if (fchmod(dstfd, st->st_mode & 07777) < 0)
		return fail(c, -errno, "set the mode of");
	if (futimens(dstfd, ts) < 0)
		return fail(c, -errno, "set the times of");
	return 0;
}

static uint64_t mount_id(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/* A bind mount from the same filesystem has the same st_dev: the mount id tells it apart. */
static bool other_mount(const struct copy *c, int fd)
{
	uint64_t id = c->mnt_id ? mount_id(fd) : 0;

	if (id && id != c->mnt_id) {
		log_debug("tmpcopyup: '%s' is another mount: not copied", c->path);
		return true;
	}
	return false;
}

/* Same type, same inode: what fstatat saw is what was opened. */
static bool same_file(int fd, const struct stat *st, mode_t type)
{
	struct stat now;

	return fstat(fd, &now) == 0 && (now.st_mode & S_IFMT) == type && now.st_dev == st->st_dev &&
	       now.st_ino == st->st_ino;
}

static int copy_file(struct copy *c, int srcdir, int dstdir, const char *name, const struct stat *st)
{
	_cleanup_close_ int src = -EBADF, dst = -EBADF;
	int r;

	/* O_NONBLOCK: if the entry was swapped for a fifo meanwhile, the open does not hang */
	src = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (src < 0)
		return fail(c, -errno, "open");
	if (!same_file(src, st, S_IFREG))
		return fail(c, -ESTALE, "changed while copying");
	if (other_mount(c, src))
		return 0;
	if (c->bytes + (uint64_t)st->st_size > c->lim->max_bytes)
		return berth_error_set(c->err, -EFBIG, "tmpcopyup: more than %llu bytes to copy (at '%s')",
				       (unsigned long long)c->lim->max_bytes, c->path);
	dst = openat(dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dst < 0)
		return fail(c, -errno, "create");
	r = copy_content(c, src, dst);
	if (r < 0)
		return r;
	return finish_fd(c, src, dst, st);
}

static int copy_symlink(struct copy *c, int srcdir, int dstdir, const char *name, const struct stat *st)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	char target[PATH_MAX];
	ssize_t n = readlinkat(srcdir, name, target, sizeof(target) - 1);

	if (n < 0)
		return fail(c, -errno, "read the link");
	target[n] = '\0';
	/* the target is text: it is written as it is and never resolved here */
	if (symlinkat(target, dstdir, name) < 0)
		return fail(c, -errno, "create the link");
	if (fchownat(dstdir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, -errno, "set the owner of");
	if (utimensat(dstdir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, -errno, "set the times of");
	return 0;
}

/* fifos, sockets and device nodes, as crun copies them (mknod). In a user namespace a device
 * node cannot be made: that fails with a message naming it. */
static int copy_node(struct copy *c, int dstdir, const char *name, const struct stat *st)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};

	if (mknodat(dstdir, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
		return fail(c, -errno, "create the node");
	if (fchownat(dstdir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, -errno, "set the owner of");
	if (fchmodat(dstdir, name, st->st_mode & 07777, 0) < 0)
		return fail(c, -errno, "set the mode of");
	if (utimensat(dstdir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, -errno, "set the times of");
	return 0;
}

static int copy_tree(struct copy *c, int srcfd, int dstfd, unsigned int depth);

static int copy_dir(struct copy *c, int srcdir, int dstdir, const char *name, const struct stat *st,
		    unsigned int depth)
{
	_cleanup_close_ int src = -EBADF, dst = -EBADF;
	int r;

	src = openat(srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return fail(c, -errno, "open");
	if (!same_file(src, st, S_IFDIR))
		return fail(c, -ESTALE, "changed while copying");
	if (other_mount(c, src))
		return 0;
	if (mkdirat(dstdir, name, 0700) < 0)
		return fail(c, -errno, "create the directory");
	dst = openat(dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return fail(c, -errno, "open the new directory");
	r = copy_tree(c, src, dst, depth + 1);
	if (r < 0)
		return r;
	return finish_fd(c, src, dst, st); /* last: the children changed its times */
}

static int copy_entry(struct copy *c, int srcfd, int dstfd, const char *name, unsigned int depth)
{
	struct stat st;

	if (++c->entries > c->lim->max_entries)
		return berth_error_set(c->err, -E2BIG, "tmpcopyup: more than %llu entries to copy (at '%s')",
				       (unsigned long long)c->lim->max_entries, c->path);
	if (fstatat(srcfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, -errno, "stat");
	if (st.st_dev != c->dev) {
		/* a mount point below the destination: not the image's content */
		log_debug("tmpcopyup: '%s' is on another filesystem: not copied", c->path);
		return 0;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return copy_file(c, srcfd, dstfd, name, &st);
	case S_IFDIR:
		return copy_dir(c, srcfd, dstfd, name, &st, depth);
	case S_IFLNK:
		return copy_symlink(c, srcfd, dstfd, name, &st);
	default:
		return copy_node(c, dstfd, name, &st);
	}
}

static int copy_tree(struct copy *c, int srcfd, int dstfd, unsigned int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (depth > c->lim->max_depth)
		return berth_error_set(c->err, -ELOOP, "tmpcopyup: more than %u directory levels (at '%s')",
				       c->lim->max_depth, c->path);
	fd = openat(srcfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(c, -errno, "open");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return fail(c, -errno, "read the directory");
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len;
		int r;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		len = path_push(c, de->d_name);
		r = copy_entry(c, srcfd, dstfd, de->d_name, depth);
		if (r < 0)
			return r;
		path_pop(c, len);
	}
	if (errno)
		return fail(c, -errno, "read the directory");
	return 0;
}

int tmpcopyup_copy(int srcfd, int dstfd, const struct tmpcopyup_limits *lim, struct berth_error *err)
{
	_cleanup_free_ struct copy *c = calloc(1, sizeof(*c));
	struct stat st;

	if (!c)
		return berth_error_set(err, -ENOMEM, "tmpcopyup: out of memory");
	c->lim = lim ? lim : &tmpcopyup_default_limits;
	c->err = err;
	if (fstat(srcfd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "tmpcopyup: stat the destination");
	if (!S_ISDIR(st.st_mode))
		return berth_error_set(err, -ENOTDIR, "tmpcopyup: the destination is not a directory");
	c->dev = st.st_dev;
	c->mnt_id = mount_id(srcfd);
	return copy_tree(c, srcfd, dstfd, 0);
}

int tmpcopyup_copy_root_attrs(int srcfd, int dstfd, bool keep_mode, bool keep_owner, struct berth_error *err)
{
	struct stat st;

	if (fstat(srcfd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "tmpcopyup: stat the destination");
	if (!keep_owner && fchown(dstfd, st.st_uid, st.st_gid) < 0)
		return berth_error_setf_errno(err, -errno, "tmpcopyup: set the owner of the tmpfs");
	if (!keep_mode && fchmod(dstfd, st.st_mode & 07777) < 0)
		return berth_error_setf_errno(err, -errno, "tmpcopyup: set the mode of the tmpfs");
	return 0;
}
