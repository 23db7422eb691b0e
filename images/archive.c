/* One-file tar archives of directory trees, and confined extraction (include/berth/archive.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth/archive.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/resolve.h"
#include "berth/util.h"

#define COPY_BUF (64 * 1024)
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* ---- writing ---- */

static int set_filter(struct archive *a, const char *out_path, struct berth_error *err)
{
	int r = ARCHIVE_OK;
	if (ends_with(out_path, ".gz"))
		r = archive_write_add_filter_gzip(a);
	else if (ends_with(out_path, ".zst"))
		r = archive_write_add_filter_zstd(a);
	if (r != ARCHIVE_OK)
		return berth_error_set(err, -ENOTSUP, "archive '%s': compression not available: %s", out_path,
				       archive_error_string(a));
	return 0;
}

static int copy_file_data(struct archive *w, const char *path, struct berth_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "archive: open '%s'", path);
	_cleanup_free_ char *buf = malloc(COPY_BUF);
	if (!buf)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (;;) {
		ssize_t n = read(fd, buf, COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_error_setf_errno(err, -errno, "archive: read '%s'", path);
		if (n == 0)
			return 0;
		if (archive_write_data(w, buf, (size_t)n) != n)
			return berth_error_set(err, -EIO, "archive: write '%s': %s", path,
					       archive_error_string(w));
	}
}

/* Store the tree at @m->path under @m->prefix. */
static int write_dir(struct archive *w, const struct archive_dir_member *m, struct berth_error *err)
{
	struct archive *disk = archive_read_disk_new();
	struct archive_entry *e = archive_entry_new();
	size_t base = strlen(m->path);
	int r = 0;

	if (!disk || !e) {
		r = berth_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_standard_lookup(disk);
	if (archive_read_disk_open(disk, m->path) != ARCHIVE_OK) {
		r = berth_error_set(err, -ENOENT, "archive: cannot read '%s': %s", m->path,
				    archive_error_string(disk));
		goto out;
	}
	for (;;) {
		archive_entry_clear(e);
		int ar = archive_read_next_header2(disk, e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = berth_error_set(err, -EIO, "archive: walk '%s': %s", m->path,
					    archive_error_string(disk));
			goto out;
		}
		archive_read_disk_descend(disk);
		_cleanup_free_ char *src = strdup(archive_entry_pathname(e));
		const char *rel = src + (strlen(src) >= base ? base : strlen(src));
		while (*rel == '/')
			rel++;
		char name[PATH_MAX];
		if (!*rel && !*m->prefix)
			continue; /* the top directory itself, at the top: nothing to name */
		snprintf(name, sizeof(name), "%s%s%s", m->prefix, *m->prefix && *rel ? "/" : "", rel);
		if (archive_entry_filetype(e) == AE_IFSOCK) {
			/* tar cannot carry a socket; a process bound to it is CRIU's business */
			log_debug("archive: skipping the socket '%s'", src);
			continue;
		}
		archive_entry_set_pathname(e, name);
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			r = berth_error_set(err, -EIO, "archive: add '%s': %s", src, archive_error_string(w));
			goto out;
		}
		if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
			r = copy_file_data(w, src, err);
			if (r < 0)
				goto out;
		}
	}
out:
	if (disk)
		archive_read_free(disk);
	archive_entry_free(e);
	return r;
}

int archive_write_dirs(const char *out_path, const struct archive_dir_member *dirs, size_t n,
		       struct berth_error *err)
{
	char tmp[PATH_MAX];
	struct archive *w;
	int r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", out_path) >= (int)sizeof(tmp))
		return berth_error_set(err, -ENAMETOOLONG, "archive '%s': path too long", out_path);
	w = archive_write_new();
	if (!w)
		return berth_error_set(err, -ENOMEM, "out of memory");
	archive_write_set_format_pax_restricted(w);
	r = set_filter(w, out_path, err);
	if (r == 0 && archive_write_open_filename(w, tmp) != ARCHIVE_OK)
		r = berth_error_set(err, -EIO, "archive: create '%s': %s", tmp, archive_error_string(w));
	for (size_t i = 0; r == 0 && i < n; i++)
		r = write_dir(w, &dirs[i], err);
	if (archive_write_close(w) != ARCHIVE_OK && r == 0)
		r = berth_error_set(err, -EIO, "archive: finish '%s': %s", tmp, archive_error_string(w));
	archive_write_free(w);
	if (r == 0 && rename(tmp, out_path) < 0)
		r = berth_error_setf_errno(err, -errno, "archive: rename to '%s'", out_path);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* ---- confined extraction ---- */

int archive_member_name_check(const char *name)
{
	if (!name || !*name || name[0] == '/' || strlen(name) >= PATH_MAX)
		return -EINVAL;
	for (const char *p = name; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (!slash)
			break;
		p = slash + 1;
	}
	return 0;
}

/* Open (creating directories as needed) the parent directory of @name inside @rootfd with the
 * in-root resolver, and point *ret_leaf at the last component. */
static int open_parent(int rootfd, char *name, int *ret_fd, const char **ret_leaf)
{
	char *slash = strrchr(name, '/');
	int r;

	while (slash && slash[1] == '\0') { /* "dir/" */
		*slash = '\0';
		slash = strrchr(name, '/');
	}
	if (!slash) {
		*ret_leaf = name;
		return inroot_resolve(rootfd, ".", 0, O_PATH | O_DIRECTORY, NULL, ret_fd);
	}
	*slash = '\0';
	r = inroot_resolve(rootfd, name, INROOT_MKDIR | INROOT_MK_LITERAL, O_PATH | O_DIRECTORY, NULL,
			   ret_fd);
	*slash = '/';
	*ret_leaf = slash + 1;
	return r;
}

static int write_member_data(struct archive *a, int fd, const char *name, const struct archive_limits *lim,
			     uint64_t *total, struct berth_error *err)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	uint64_t written = 0;

	for (;;) {
		int ar = archive_read_data_block(a, &buf, &size, &off);
		if (ar == ARCHIVE_EOF)
			return 0;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
			return berth_error_set(err, -EIO, "archive member '%s': %s", name,
					       archive_error_string(a));
		written += size;
		*total += size;
		if (written > lim->max_member || *total > lim->max_total)
			return berth_error_set(err, -EFBIG, "archive member '%s': larger than the limit",
					       name);
		if (off < 0 || pwrite(fd, buf, size, off) != (ssize_t)size)
			return berth_error_setf_errno(err, -errno, "archive member '%s': write", name);
	}
}

/* Remove whatever is at @leaf (not a directory) so that the member replaces it. */
static void clear_leaf(int dirfd, const char *leaf)
{
	struct stat st;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		unlinkat(dirfd, leaf, 0);
}

/* Is @name inside the overlay upper tree @tree ("<tree>/<something>")? */
static bool in_tree(const char *name, const char *tree)
{
	size_t n = tree ? strlen(tree) : 0;
	return n && strncmp(name, tree, n) == 0 && name[n] == '/' && name[n + 1] != '\0';
}

static bool is_whiteout(struct archive_entry *e)
{
	return archive_entry_filetype(e) == AE_IFCHR && archive_entry_rdevmajor(e) == 0 &&
	       archive_entry_rdevminor(e) == 0;
}

/* An opaque directory of an overlay upper tree: trusted.overlay.opaque="y" is the one xattr kept
 * (overlayfs's other trusted.overlay.* name things on the dumping host: origin file handles,
 * redirects). */
static int set_opaque(struct archive_entry *e, int dfd, const char *leaf, const char *name,
		      struct berth_error *err)
{
	const char *key;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
		if (!key || strcmp(key, OVERLAY_OPAQUE_XATTR) != 0 || size != 1 ||
		    *(const char *)value != 'y') {
			log_debug("archive member '%s': dropping the xattr %s", name, key ? key : "");
			continue;
		}
		_cleanup_close_ int fd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
			return berth_error_setf_errno(
			    err, -errno, "archive member '%s': mark it opaque (" OVERLAY_OPAQUE_XATTR ")",
			    name);
	}
	return 0;
}

static int check_type(struct archive_entry *e, const char *name, bool overlay, struct berth_error *err)
{
	mode_t type = archive_entry_filetype(e);
	if (archive_entry_hardlink(e) || type == AE_IFREG || type == AE_IFDIR || type == AE_IFLNK)
		return 0;
	if (overlay && (type == AE_IFIFO || is_whiteout(e)))
		return 0;
	if (overlay)
		return berth_error_set(err, -EINVAL,
				       "archive member '%s': in an overlay upper dir the only device nodes "
				       "accepted are whiteouts (0:0 character devices); sockets are refused",
				       name);
	return berth_error_set(err, -EINVAL,
			       "archive member '%s': device nodes, fifos and sockets are refused", name);
}

static int extract_one(struct archive *a, struct archive_entry *e, int rootfd,
		       const struct archive_limits *lim, const char *overlay_tree, uint64_t *total,
		       struct berth_error *err)
{
	char name[PATH_MAX];
	const char *leaf = NULL;
	_cleanup_close_ int dfd = -EBADF;
	mode_t type = archive_entry_filetype(e);
	mode_t perm = archive_entry_perm(e);
	const char *hl = archive_entry_hardlink(e);
	int r;

	snprintf(name, sizeof(name), "%s", archive_entry_pathname(e));
	if (archive_member_name_check(name) < 0)
		return berth_error_set(
		    err, -EINVAL, "archive member '%s': the name must be relative and must not contain '..'",
		    name);
	if (archive_entry_size(e) < 0 || (uint64_t)archive_entry_size(e) > lim->max_member)
		return berth_error_set(err, -EFBIG,
				       "archive member '%s': size %lld is over the limit of %llu bytes", name,
				       (long long)archive_entry_size(e), (unsigned long long)lim->max_member);
	if (hl && archive_member_name_check(hl) < 0)
		return berth_error_set(
		    err, -EINVAL, "archive member '%s': hard link target '%s' is not confined", name, hl);
	bool overlay = in_tree(name, overlay_tree);
	r = check_type(e, name, overlay, err);
	if (r < 0)
		return r;
	char tmpname[PATH_MAX];
	snprintf(tmpname, sizeof(tmpname), "%s", name);
	r = open_parent(rootfd, tmpname, &dfd, &leaf);
	if (r < 0)
		return berth_error_setf_errno(err, r, "archive member '%s': parent directory", name);
	if (!*leaf || strcmp(leaf, ".") == 0)
		return 0; /* the top directory */

	if (hl) {
		char hname[PATH_MAX];
		snprintf(hname, sizeof(hname), "%s", hl);
		_cleanup_close_ int src = -EBADF;
		r = inroot_resolve(rootfd, hname, 0, O_PATH | O_NOFOLLOW, NULL, &src);
		if (r < 0)
			return berth_error_setf_errno(err, r, "archive member '%s': hard link target '%s'",
						      name, hl);
		clear_leaf(dfd, leaf);
		if (linkat(src, "", dfd, leaf, AT_EMPTY_PATH) < 0)
			return berth_error_setf_errno(err, -errno, "archive member '%s': link", name);
		return 0;
	}
	switch (type) {
	case AE_IFDIR:
		if (mkdirat(dfd, leaf, perm) < 0 && errno != EEXIST)
			return berth_error_setf_errno(err, -errno, "archive member '%s': mkdir", name);
		break;
	case AE_IFLNK: {
		/* A malformed archive can carry a symlink entry without a target (found by fuzzing). */
		const char *target = archive_entry_symlink(e);
		if (!target || !*target)
			return berth_error_set(err, -EINVAL, "archive member '%s': symlink without a target",
					       name);
		clear_leaf(dfd, leaf);
		if (symlinkat(target, dfd, leaf) < 0)
			return berth_error_setf_errno(err, -errno, "archive member '%s': symlink", name);
		break;
	}
	case AE_IFCHR: /* a whiteout (check_type) */
	case AE_IFIFO:
		clear_leaf(dfd, leaf);
		if (mknodat(dfd, leaf, type | (perm & 0777), type == AE_IFCHR ? makedev(0, 0) : 0) < 0)
			return berth_error_setf_errno(err, -errno, "archive member '%s': mknod", name);
		break;
	default: {
		clear_leaf(dfd, leaf);
		_cleanup_close_ int fd =
		    openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return berth_error_setf_errno(err, -errno, "archive member '%s': create", name);
		r = write_member_data(a, fd, name, lim, total, err);
		if (r < 0)
			return r;
		if (ftruncate(fd, archive_entry_size(e)) < 0 || fchmod(fd, perm) < 0)
			return berth_error_setf_errno(err, -errno, "archive member '%s': finish", name);
		if (geteuid() == 0 &&
		    fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
			return berth_error_setf_errno(err, -errno, "archive member '%s': set the owner",
						      name);
		return 0;
	}
	}
	if (geteuid() == 0 && fchownat(dfd, leaf, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
				       AT_SYMLINK_NOFOLLOW) < 0)
		return berth_error_setf_errno(err, -errno, "archive member '%s': set the owner", name);
	if (type == AE_IFDIR && fchmodat(dfd, leaf, perm, 0) < 0)
		return berth_error_setf_errno(err, -errno, "archive member '%s': set the mode", name);
	if (type == AE_IFDIR && overlay)
		return set_opaque(e, dfd, leaf, name, err);
	return 0;
}

int archive_extract_confined(const char *in_path, int dirfd, const struct archive_limits *lim,
			     struct berth_error *err)
{
	return archive_extract_confined_overlay(in_path, dirfd, lim, NULL, err);
}

static int open_reader(const char *in_path, struct archive **ret, struct berth_error *err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return berth_error_set(err, -ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, in_path, COPY_BUF) != ARCHIVE_OK) {
		int r = berth_error_set(err, -EINVAL, "archive '%s': %s", in_path, archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* The next member's header: 1, 0 at the end, or -EINVAL naming the archive. */
static int next_entry(struct archive *a, const char *in_path, struct archive_entry **e,
		      struct berth_error *err)
{
	int ar = archive_read_next_header(a, e);
	if (ar == ARCHIVE_EOF)
		return 0;
	if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
		return berth_error_set(err, -EINVAL, "archive '%s': %s", in_path, archive_error_string(a));
	return 1;
}
int archive_read_member(const char *in_path, const char *name, size_t max, char **ret_data, size_t *ret_len,
			struct berth_error *err)
{
	struct archive_entry *e;
	struct archive *a = NULL;
	int r = open_reader(in_path, &a, err);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (;;) {
		int ar = next_entry(a, in_path, &e, err);
		if (ar <= 0) {
			r = ar < 0 ? ar : r;
			break;
		}
		const char *p = archive_entry_pathname(e);
		if (!p || strcmp(p, name) != 0 || archive_entry_filetype(e) != AE_IFREG)
			continue;
		la_int64_t size = archive_entry_size(e);
		if (size < 0 || (uint64_t)size > max) {
			r = berth_error_set(err, -EFBIG, "archive member '%s': larger than %zu bytes", name,
					    max);
			break;
		}
		char *buf = malloc((size_t)size + 1);
		if (!buf) {
			r = berth_error_set(err, -ENOMEM, "out of memory");
			break;
		}
		la_ssize_t n = archive_read_data(a, buf, (size_t)size);
		if (n != size) {
			free(buf);
			r = berth_error_set(err, -EIO, "archive member '%s': %s", name,
					    n < 0 ? archive_error_string(a) : "truncated");
			break;
		}
		buf[size] = '\0';
		*ret_data = buf;
		*ret_len = (size_t)size;
		r = 0;
		break;
	}
	archive_read_free(a);
	if (r == -ENOENT)
		return berth_error_set(err, -ENOENT, "archive '%s' has no member '%s'", in_path, name);
	return r;
}

int archive_extract_confined_overlay(const char *in_path, int dirfd, const struct archive_limits *lim,
				     const char *overlay_tree, struct berth_error *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	uint64_t total = 0, members = 0;
	int r = open_reader(in_path, &a, err);

	if (r < 0)
		return r;
	for (;;) {
		int ar = next_entry(a, in_path, &e, err);
		if (ar == 0)
			break;
		if (ar < 0) {
			r = ar;
			goto out;
		}
		if (++members > lim->max_members) {
			r = berth_error_set(err, -EFBIG, "archive '%s': more than %llu members", in_path,
					    (unsigned long long)lim->max_members);
			goto out;
		}
		r = extract_one(a, e, dirfd, lim, overlay_tree, &total, err);
		if (r < 0)
			goto out;
	}
out:
	archive_read_free(a);
	return r;
}
