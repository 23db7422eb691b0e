/* One tar entry into the target root.
 *
 * The rules that keep a layer inside its root: the entry's name is cleaned (leading '/'
 * dropped, ".." refused), its parent directory is resolved (and created) inside the root, and
 * the entry itself is made with an *at() call on that parent that never follows the last
 * component: an existing file or symlink is unlinked first, files are created O_EXCL|O_NOFOLLOW,
 * so nothing is ever written through a symlink. Hardlink targets are resolved the same way.
 * The root itself can only be given a directory's attributes. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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
#include "berth/util.h"
#include "unpack.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
#define XATTRS_MAX 1024
#define XATTR_VALUE_MAX 65536

/* ---- names ---- */

int clean_path(const char *raw, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = raw; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > size)
				return -ENAMETOOLONG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		p += strspn(p, "/");
	}
	out[o] = '\0';
	return 0;
}

const char *printable(const char *s, char *buf, size_t size)
{
	size_t o = 0, i = 0;

	for (; s && s[i] && o + 4 < size; i++)
		buf[o++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s && s[i] && size > 4) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static int fail(struct unpack *u, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "layer entry \"<name>\": <reason>" */
static int fail(struct unpack *u, int code, const char *fmt, ...)
{
	char msg[320], name[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return berth_error_set(u->err, code, "layer entry \"%s\": %s", printable(u->path, name, sizeof(name)),
			       msg);
}

static int fail_errno(struct unpack *u, int code, const char *what)
{
	return fail(u, code, "%s: %s", what, strerror(-code));
}

/* Split the cleaned u->path into its directory and last component (both into @dir/@base). */
static void split(const char *path, char *dir, size_t size, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		dir[0] = '\0';
		*base = path;
		return;
	}
	snprintf(dir, size, "%.*s", (int)(slash - path), path);
	*base = slash + 1;
}

static bool starts_whiteout(const char *name, size_t len)
{
	return len >= 4 && strncmp(name, WHITEOUT_PREFIX, 4) == 0;
}

/* ---- bookkeeping for APPLY ---- */

static int remember(struct unpack *u, const char *path)
{
	char buf[PATH_MAX];
	char *slash;

	if (u->o->mode != IMAGE_UNPACK_APPLY)
		return 0;
	if (strset_add(&u->written, path) < 0)
		return berth_error_set(u->err, -ENOMEM, "out of memory");
	snprintf(buf, sizeof(buf), "%s", path);
	while ((slash = strrchr(buf, '/'))) {
		*slash = '\0';
		int r = strset_add(&u->above, buf);
		if (r < 0)
			return berth_error_set(u->err, -ENOMEM, "out of memory");
		if (r == 0)
			break; /* its parents are in already */
	}
	return 0;
}

static int defer_dir(struct unpack *u, const char *path, mode_t mode, const struct timespec times[2])
{
	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
		struct deferred_dir *d = realloc(u->dirs, cap * sizeof(*d));

		if (!d)
			return berth_error_set(u->err, -ENOMEM, "out of memory");
		u->dirs = d;
		u->cap_dirs = cap;
	}
	u->dirs[u->n_dirs].path = strdup(path);
	if (!u->dirs[u->n_dirs].path)
		return berth_error_set(u->err, -ENOMEM, "out of memory");
	u->dirs[u->n_dirs].mode = mode;
	u->dirs[u->n_dirs].times[0] = times[0];
	u->dirs[u->n_dirs].times[1] = times[1];
	u->n_dirs++;
	return 0;
}

/* ---- attributes ---- */

static void entry_times(struct archive_entry *e, struct timespec times[2])
{
	if (archive_entry_mtime_is_set(e)) {
		times[1].tv_sec = archive_entry_mtime(e);
		times[1].tv_nsec = archive_entry_mtime_nsec(e);
	} else {
		clock_gettime(CLOCK_REALTIME, &times[1]);
	}
	if (archive_entry_atime_is_set(e)) {
		times[0].tv_sec = archive_entry_atime(e);
		times[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		times[0] = times[1];
	}
}

static bool xattr_refused(const char *name)
{
	/* overlayfs reads these to decide what a lower dir hides or redirects to: only berth writes
	 * them, from whiteouts, never a layer. */
	return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

static int apply_xattrs(struct unpack *u, int fd, struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;
	int n = archive_entry_xattr_reset(e);

	if (n > XATTRS_MAX)
		return fail(u, -E2BIG, "more than %d extended attributes", XATTRS_MAX);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!name || !name[0])
			continue;
		if (xattr_refused(name)) {
			log_debug("layer entry \"%s\": dropping xattr %s", u->path, name);
			continue;
		}
		if (size > XATTR_VALUE_MAX)
			return fail(u, -E2BIG, "extended attribute %s is larger than %d bytes", name,
				    XATTR_VALUE_MAX);
		if (fsetxattr(fd, name, value, size, 0) == 0)
			continue;
		if (errno == EOPNOTSUPP || (errno == EPERM && !u->chown_ok)) {
			log_debug("layer entry \"%s\": xattr %s not set: %m", u->path, name);
			continue;
		}
		return fail(u, -errno, "set extended attribute %s: %s", name, strerror(errno));
	}
	return 0;
}

/* Owner, mode, xattrs and times of a regular file, on its descriptor. chown first: it clears
 * set-id bits and file capabilities, which the mode and xattrs then set again. */
static int apply_file_attrs(struct unpack *u, int fd, struct archive_entry *e)
{
	struct timespec times[2];
	int r;

	if (u->chown_ok && fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return fail_errno(u, -errno, "chown");
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return fail_errno(u, -errno, "chmod");
	r = apply_xattrs(u, fd, e);
	if (r < 0)
		return r;
	entry_times(e, times);
	if (futimens(fd, times) < 0)
		return fail_errno(u, -errno, "set times");
	return 0;
}

/* Owner and times of a symlink or a device node, by name in its parent (never followed). */
static int apply_link_attrs(struct unpack *u, int parent, const char *base, struct archive_entry *e,
			    bool chmod)
{
	struct timespec times[2];

	if (u->chown_ok &&
	    fchownat(parent, base, archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return fail_errno(u, -errno, "chown");
	if (chmod && fchmodat(parent, base, archive_entry_perm(e) & 07777, 0) < 0)
		return fail_errno(u, -errno, "chmod");
	entry_times(e, times);
	if (utimensat(parent, base, times, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_errno(u, -errno, "set times");
	return 0;
}

/* ---- what is already there ---- */

enum existing { EXIST_NONE, EXIST_DIR, EXIST_REMOVED, EXIST_REMOVED_WHITEOUT };

/* Make room for a new entry @base in @parent: a directory stays when @want_dir, anything else is
 * removed (a directory with its whole tree, never crossing a mount). */
static int clear_existing(struct unpack *u, int parent, const char *base, bool want_dir, enum existing *ret)
{
	struct stat st;
	int r;

	*ret = EXIST_NONE;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return fail_errno(u, -errno, "stat");
	}
	if (S_ISDIR(st.st_mode) && want_dir) {
		*ret = EXIST_DIR;
		return 0;
	}
	r = S_ISDIR(st.st_mode) ? rm_rf_at(parent, base) : (unlinkat(parent, base, 0) < 0 ? -errno : 0);
	if (r < 0)
		return fail_errno(u, r, "remove the existing entry");
	*ret = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0) ? EXIST_REMOVED_WHITEOUT : EXIST_REMOVED;
	return 0;
}

static int set_opaque(struct unpack *u, int dir_fd)
{
	if (fsetxattr(dir_fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
		return fail_errno(u, -errno, "mark the directory opaque (" OVERLAY_OPAQUE_XATTR ")");
	return 0;
}

/* ---- entry types ---- */

static int write_data(struct unpack *u, int fd, struct archive_entry *e)
{
	int64_t size = archive_entry_size(e), end = 0;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(u->a, &buf, &len, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *p = buf;

		if (off < 0 || (int64_t)len > size || off > size - (int64_t)len)
			return fail(u, -EINVAL, "data beyond the entry's size");
		while (len > 0) {
			ssize_t n = pwrite(fd, p, len, off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return fail_errno(u, -errno, "write");
			p += n;
			off += n;
			len -= (size_t)n;
		}
		end = off > end ? off : end;
	}
	if (r != ARCHIVE_EOF)
		return fail(u, -EIO, "read: %s",
			    archive_error_string(u->a) ? archive_error_string(u->a) : "failed");
	/* A sparse file ends in a hole. */
	if (end < size && ftruncate(fd, size) < 0)
		return fail_errno(u, -errno, "truncate");
	return 0;
}

static int make_file(struct unpack *u, int parent, const char *base, struct archive_entry *e)
{
	_cleanup_close_ int fd = -EBADF;
	int64_t size = archive_entry_size(e);
	enum existing ex;
	int r;

	if (size < 0)
		size = 0;
	if ((uint64_t)size > u->max_bytes - u->bytes)
		return fail(u, -EFBIG, "the layer's files exceed %llu bytes",
			    (unsigned long long)u->max_bytes);
	u->bytes += (uint64_t)size;
	r = clear_existing(u, parent, base, false, &ex);
	if (r < 0)
		return r;
	fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail_errno(u, -errno, "create");
	r = write_data(u, fd, e);
	if (r == 0)
		r = apply_file_attrs(u, fd, e);
	return r;
}

static int make_dir(struct unpack *u, int parent, const char *base, struct archive_entry *e)
{
	_cleanup_close_ int fd = -EBADF;
	struct timespec times[2];
	enum existing ex;
	int r;

	r = clear_existing(u, parent, base, true, &ex);
	if (r < 0)
		return r;
	if (ex != EXIST_DIR && mkdirat(parent, base, 0700) < 0)
		return fail_errno(u, -errno, "mkdir");
	fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(u, -errno, "open");
	if (u->chown_ok && fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return fail_errno(u, -errno, "chown");
	r = apply_xattrs(u, fd, e);
	/* A whiteout and a directory of the same name in one layer: the directory replaces what
	 * the lower layers had there, so overlayfs must not merge it with them. */
	if (r == 0 && ex == EXIST_REMOVED_WHITEOUT && u->o->mode == IMAGE_UNPACK_OVERLAY)
		r = set_opaque(u, fd);
	if (r < 0)
		return r;
	entry_times(e, times);
	return defer_dir(u, u->path, archive_entry_perm(e) & 07777, times);
}

static int make_symlink(struct unpack *u, int parent, const char *base, struct archive_entry *e)
{
	const char *target = archive_entry_symlink(e);
	enum existing ex;
	int r;

	if (!target || !target[0])
		return fail(u, -EINVAL, "symlink without a target");
	if (strlen(target) > u->max_name)
		return fail(u, -ENAMETOOLONG, "symlink target longer than %zu bytes", u->max_name);
	r = clear_existing(u, parent, base, false, &ex);
	if (r < 0)
		return r;
	if (symlinkat(target, parent, base) < 0)
		return fail_errno(u, -errno, "symlink");
	return apply_link_attrs(u, parent, base, e, false);
}

static int make_node(struct unpack *u, int parent, const char *base, struct archive_entry *e, mode_t type)
{
	dev_t dev = type == S_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
	enum existing ex;
	int r;

	r = clear_existing(u, parent, base, false, &ex);
	if (r < 0)
		return r;
	if (mknodat(parent, base, type | 0600, dev) < 0) {
		/* Without privileges device nodes cannot be made; an unprivileged unpack goes on
		 * without them, as umoci's rootless mode does. */
		if (errno == EPERM && (!u->chown_ok || u->o->skip_devices) && type != S_IFIFO) {
			log_debug("layer entry \"%s\": device node skipped (no privilege)", u->path);
			return 1;
		}
		return fail_errno(u, -errno, "mknod");
	}
	return apply_link_attrs(u, parent, base, e, true);
}

/* ---- hardlinks ---- */

static int link_from(struct unpack *u, int tparent, const char *tbase, int parent, const char *base)
{
	enum existing ex;
	int r = clear_existing(u, parent, base, false, &ex);

	if (r < 0)
		return r;
	if (linkat(tparent, tbase, parent, base, 0) < 0)
		return fail_errno(u, -errno, "link");
	return 0;
}

/* The target in the layers below (overlay mode): the topmost that has it, unless a whiteout
 * above hides it. */
static int link_from_lower(struct unpack *u, const char *tdir, const char *tbase, int parent,
			   const char *base)
{
	for (size_t i = 0; i < u->o->n_lower; i++) {
		_cleanup_close_ int tp =
		    inroot_open(u->o->lower_fds[i], tdir, O_PATH | O_DIRECTORY, true, u->o->no_openat2);
		struct stat st;

		if (tp < 0 || fstatat(tp, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
			break; /* whited out */
		if (S_ISDIR(st.st_mode))
			return fail(u, -EPERM, "hardlink to a directory");
		return link_from(u, tp, tbase, parent, base);
	}
	return -ENOENT;
}

static int make_hardlink(struct unpack *u, int parent, const char *base, const char *raw_target)
{
	char target[PATH_MAX], tdir[PATH_MAX], shown[160];
	_cleanup_close_ int tp = -EBADF;
	const char *tbase;
	struct stat st;
	int r;

	if (strlen(raw_target) > u->max_name)
		return fail(u, -ENAMETOOLONG, "hardlink target longer than %zu bytes", u->max_name);
	r = clean_path(raw_target, target, sizeof(target));
	if (r == -EINVAL)
		return fail(u, r, "hardlink target \"%s\" refers to a parent directory (\"..\")",
			    printable(raw_target, shown, sizeof(shown)));
	if (r < 0 || !target[0])
		return fail(u, r < 0 ? r : -EINVAL, "invalid hardlink target \"%s\"",
			    printable(raw_target, shown, sizeof(shown)));
	if (strcmp(target, u->path) == 0)
		return 0;
	split(target, tdir, sizeof(tdir), &tbase);
	tp = inroot_open(u->root_fd, tdir, O_PATH | O_DIRECTORY, true, u->o->no_openat2);
	if (tp >= 0 && fstatat(tp, tbase, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return fail(u, -EPERM, "hardlink to a directory");
		return link_from(u, tp, tbase, parent, base);
	}
	if (u->o->mode == IMAGE_UNPACK_OVERLAY) {
		r = link_from_lower(u, tdir, tbase, parent, base);
		if (r != -ENOENT)
			return r;
	}
	return fail(u, -ENOENT, "hardlink target \"%s\" is not in the layer or below it",
		    printable(target, shown, sizeof(shown)));
}

/* ---- whiteouts ---- */

/* Remove @name (at @path) from @dir_fd unless this layer wrote it; keep a directory this
 * layer wrote into but remove what lower layers left in it. */
static int prune(struct unpack *u, int dir_fd, char *path, size_t size, const char *name)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t len = strlen(path);
	struct stat st;
	int fd, r = 0;

	if (!strset_has(&u->written, path) && !strset_has(&u->above, path)) {
		r = rm_rf_at(dir_fd, name);
		return r < 0 ? fail_errno(u, r, "apply the whiteout") : 0;
	}
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return fail_errno(u, -errno, "open a directory to apply the whiteout");
	}
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (len + strlen(de->d_name) + 2 > size)
			return fail(u, -ENAMETOOLONG, "path too long while applying the whiteout");
		snprintf(path + len, size - len, "%s%s", len ? "/" : "", de->d_name);
		r = prune(u, dirfd(d), path, size, de->d_name);
		path[len] = '\0';
	}
	return r;
}

static int apply_whiteout(struct unpack *u, const char *dir, const char *victim)
{
	_cleanup_close_ int parent = -EBADF;
	char path[PATH_MAX];
	struct stat st;

	if (u->o->mode == IMAGE_UNPACK_APPLY) {
		parent = inroot_open(u->root_fd, dir, O_PATH | O_DIRECTORY, true, u->o->no_openat2);
		if (parent == -ENOENT)
			return 0; /* nothing below to hide */
		if (parent < 0)
			return fail_errno(u, parent, "resolve the parent directory");
		snprintf(path, sizeof(path), "%s%s%s", dir, dir[0] ? "/" : "", victim);
		return prune(u, parent, path, sizeof(path), victim);
	}
	parent = inroot_mkdirs(u->root_fd, dir, u->o->no_openat2, u->chown_ok, NULL, NULL);
	if (parent < 0)
		return fail_errno(u, parent, "resolve the parent directory");
	if (fstatat(parent, victim, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		_cleanup_close_ int fd = -EBADF;

		/* This layer has the name itself: only a directory needs to hide the lower one. */
		if (!S_ISDIR(st.st_mode))
			return 0;
		fd = openat(parent, victim, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		return fd < 0 ? fail_errno(u, -errno, "open") : set_opaque(u, fd);
	}
	if (mknodat(parent, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return fail_errno(u, -errno, "create the overlay whiteout");
	return 0;
}

static int apply_opaque(struct unpack *u, const char *dir)
{
	_cleanup_close_ int fd = -EBADF, dfd = -EBADF;
	_cleanup_closedir_ DIR *d = NULL;
	char path[PATH_MAX];
	struct dirent *de;
	size_t len;
	int r = 0;

	if (u->o->mode == IMAGE_UNPACK_OVERLAY) {
		fd = inroot_mkdirs(u->root_fd, dir, u->o->no_openat2, u->chown_ok, NULL, NULL);
		if (fd < 0)
			return fail_errno(u, fd, "resolve the directory");
		dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return dfd < 0 ? fail_errno(u, -errno, "open the directory") : set_opaque(u, dfd);
	}
	/* Everything the lower layers have in @dir goes, whatever this layer wrote there before or
	 * writes after the marker stays. */
	dfd = inroot_open(u->root_fd, dir, O_RDONLY | O_DIRECTORY, true, u->o->no_openat2);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0 || !(d = fdopendir(dfd)))
		return fail_errno(u, dfd < 0 ? dfd : -errno, "open the directory");
	dfd = -EBADF; /* owned by d now */
	snprintf(path, sizeof(path), "%s", dir);
	len = strlen(path);
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path + len, sizeof(path) - len, "%s%s", len ? "/" : "", de->d_name);
		r = prune(u, dirfd(d), path, sizeof(path), de->d_name);
		path[len] = '\0';
	}
	return r;
}

/* ".wh.NAME" and ".wh..wh..opq" (any type but a directory). */
static int whiteout_entry(struct unpack *u, const char *dir, const char *base, mode_t type)
{
	const char *victim = base + strlen(WHITEOUT_PREFIX);

	if (type == AE_IFDIR)
		return fail(u, -EINVAL, "a directory with a whiteout name");
	if (strcmp(base, WHITEOUT_OPAQUE) == 0)
		return apply_opaque(u, dir);
	/* Other ".wh..wh." names are aufs bookkeeping, meaningless here. */
	if (strncmp(base, WHITEOUT_PREFIX WHITEOUT_PREFIX, 8) == 0)
		return 0;
	if (!victim[0] || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
		return fail(u, -EINVAL, "whiteout of \"%s\" would remove its own directory", victim);
	return apply_whiteout(u, dir, victim);
}

/* ---- attributes of implicit parents (overlay) ---- */

/* A parent this layer does not list takes the attributes of the same directory in the layers
 * below: in the merged view the upper directory's attributes win, so a plain 0755 would turn a
 * lower /tmp 1777 into 0755. */
static void lower_dir_attrs(void *data, const char *path, struct inroot_dir_attrs *ret)
{
	struct unpack *u = data;

	for (size_t i = 0; i < u->o->n_lower; i++) {
		_cleanup_close_ int fd =
		    inroot_open(u->o->lower_fds[i], path, O_PATH, false, u->o->no_openat2);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		if (!S_ISDIR(st.st_mode))
			return;
		ret->mode = st.st_mode & 07777;
		ret->uid = st.st_uid;
		ret->gid = st.st_gid;
		ret->mtime = st.st_mtim;
		ret->set = true;
		return;
	}
}

/* ---- one entry ---- */

static int check_name(struct unpack *u, const char *raw)
{
	char shown[160];
	int r;

	if (strlen(raw) > u->max_name) {
		snprintf(u->path, sizeof(u->path), "%.*s", 100, raw);
		return fail(u, -ENAMETOOLONG, "name longer than %zu bytes", u->max_name);
	}
	r = clean_path(raw, u->path, sizeof(u->path));
	if (r < 0) {
		snprintf(u->path, sizeof(u->path), "%s", printable(raw, shown, sizeof(shown)));
		return fail(u, r,
			    r == -EINVAL ? "refers to a parent directory (\"..\")"
					 : "a path component is longer than 255 bytes");
	}
	/* Only the last component may carry a whiteout name. */
	for (const char *p = u->path; *p;) {
		size_t n = strcspn(p, "/");

		if (p[n] == '/' && starts_whiteout(p, n))
			return fail(u, -EINVAL, "a directory with a whiteout name");
		p += n + (p[n] == '/');
	}
	return 0;
}

static int root_entry(struct unpack *u, struct archive_entry *e, mode_t type)
{
	_cleanup_close_ int fd = -EBADF;
	struct timespec times[2];
	int r;

	if (type != AE_IFDIR || archive_entry_hardlink(e))
		return fail(u, -EPERM, "would replace the root directory with a non-directory");
	fd = openat(u->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(u, -errno, "open the root");
	if (u->chown_ok && fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
		return fail_errno(u, -errno, "chown");
	r = apply_xattrs(u, fd, e);
	if (r < 0)
		return r;
	entry_times(e, times);
	return defer_dir(u, "", archive_entry_perm(e) & 07777, times);
}

static int make_entry(struct unpack *u, int parent, const char *base, struct archive_entry *e, mode_t type)
{
	const char *hardlink = archive_entry_hardlink(e);

	if (hardlink)
		return make_hardlink(u, parent, base, hardlink);
	switch (type) {
	case AE_IFREG:
		return make_file(u, parent, base, e);
	case AE_IFDIR:
		return make_dir(u, parent, base, e);
	case AE_IFLNK:
		return make_symlink(u, parent, base, e);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return make_node(u, parent, base, e,
				 type == AE_IFCHR   ? S_IFCHR
				 : type == AE_IFBLK ? S_IFBLK
						    : S_IFIFO);
	case AE_IFSOCK:
		log_debug("layer entry \"%s\": socket skipped", u->path);
		return 1;
	default:
		return fail(u, -EINVAL, "unsupported entry type 0%o", (unsigned)type);
	}
}

int unpack_entry(struct unpack *u, struct archive_entry *e)
{
	_cleanup_close_ int parent = -EBADF;
	const char *raw = archive_entry_pathname(e), *base;
	mode_t type = archive_entry_filetype(e);
	char dir[PATH_MAX];
	int r;

	if (!raw) {
		snprintf(u->path, sizeof(u->path), "#%llu", (unsigned long long)u->entries);
		return fail(u, -EINVAL, "entry without a name");
	}
	r = check_name(u, raw);
	if (r < 0)
		return r;
	if (!u->path[0])
		return root_entry(u, e, type);
	split(u->path, dir, sizeof(dir), &base);
	if (starts_whiteout(base, strlen(base)))
		return whiteout_entry(u, dir, base, type);
	parent =
	    inroot_mkdirs(u->root_fd, dir, u->o->no_openat2, u->chown_ok,
			  u->o->mode == IMAGE_UNPACK_OVERLAY && u->o->n_lower ? lower_dir_attrs : NULL, u);
	if (parent < 0)
		return fail_errno(u, parent,
				  parent == -ENOTDIR ? "a parent is not a directory"
						     : "resolve the parent directory");
	r = make_entry(u, parent, base, e, type);
	if (r < 0)
		return r;
	return r == 1 ? 0 : remember(u, u->path);
}

/* ---- the end of a layer ---- */

int unpack_finish(struct unpack *u)
{
	struct strset done = {0};
	int r = 0;

	for (size_t i = u->n_dirs; i-- > 0 && r == 0;) {
		struct deferred_dir *d = &u->dirs[i];
		_cleanup_close_ int fd = -EBADF;

		/* The last entry for a directory wins. */
		int added = strset_add(&done, d->path);
		if (added <= 0) {
			r = added < 0 ? berth_error_set(u->err, -ENOMEM, "out of memory") : 0;
			continue;
		}
		fd = inroot_open(u->root_fd, d->path, O_RDONLY | O_DIRECTORY, false, u->o->no_openat2);
		if (fd < 0)
			continue; /* replaced or removed by a later entry */
		if (fchmod(fd, d->mode) < 0 || futimens(fd, d->times) < 0) {
			snprintf(u->path, sizeof(u->path), "%s", d->path);
			r = fail_errno(u, -errno, "set the directory's mode and times");
		}
	}
	strset_free(&done);
	return r;
}

void unpack_free(struct unpack *u)
{
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	u->dirs = NULL;
	u->n_dirs = u->cap_dirs = 0;
	strset_free(&u->written);
	strset_free(&u->above);
}
