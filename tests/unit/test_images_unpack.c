/* images/unpack*.c and resolve.c: layer tars built here with libarchive's writer, unpacked into a
 * temporary root, and the tree checked: every entry type with its mode, owner, times and xattrs;
 * whiteouts and opaque directories in both modes and in every position; hardlinks across
 * layers; the overlay view of unpacked layers; and one hostile layer per escape class, each run
 * with openat2 and with the component walk, asserting that the error names the entry and that
 * nothing beside the root changed. Owner, device node and trusted.* checks need root and are
 * skipped without it. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../images/internal.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/sha256.h"

static bool is_root;

/* ---- building layers ---- */

struct ent {
	const char *name;
	mode_t type; /* AE_IFREG (default), AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFBLK, AE_IFIFO */
	mode_t perm;
	const char *data;
	const char *link;     /* symlink target */
	const char *hardlink; /* hardlink target */
	unsigned uid, gid;
	time_t mtime;
	unsigned major, minor;
	const char *xname, *xvalue; /* one xattr */
	size_t xlen;
	int64_t size; /* declared size when no data (bounds tests) */
};

/* A tar (pax) of @n entries in a memfd, optionally compressed; positioned at 0. */
static int make_layer(const struct ent *ents, size_t n, const char *filter)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	struct archive *a = archive_write_new();

	assert_true(fd >= 0 && a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (filter && strcmp(filter, "gzip") == 0)
		assert_true(archive_write_add_filter_gzip(a) >= ARCHIVE_WARN);
	if (filter && strcmp(filter, "zstd") == 0)
		assert_true(archive_write_add_filter_zstd(a) >= ARCHIVE_WARN);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const struct ent *e = &ents[i];
		struct archive_entry *ae = archive_entry_new();
		mode_t type = e->type ? e->type : AE_IFREG;

		archive_entry_set_pathname(ae, e->name);
		archive_entry_set_filetype(ae, type);
		archive_entry_set_perm(ae, e->perm ? e->perm : (type == AE_IFDIR ? 0755 : 0644));
		archive_entry_set_uid(ae, e->uid);
		archive_entry_set_gid(ae, e->gid);
		archive_entry_set_mtime(ae, e->mtime ? e->mtime : 1000000000, 0);
		if (e->link)
			archive_entry_set_symlink(ae, e->link);
		if (e->hardlink)
			archive_entry_set_hardlink(ae, e->hardlink);
		if (type == AE_IFCHR || type == AE_IFBLK) {
			archive_entry_set_rdevmajor(ae, e->major);
			archive_entry_set_rdevminor(ae, e->minor);
		}
		if (e->xname)
			archive_entry_xattr_add_entry(ae, e->xname, e->xvalue,
						      e->xlen ? e->xlen : strlen(e->xvalue));
		archive_entry_set_size(ae, e->data ? (int64_t)strlen(e->data) : e->size);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e->data)
			assert_int_equal(archive_write_data(a, e->data, strlen(e->data)),
					 (ssize_t)strlen(e->data));
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* ---- the fixture: <base>/root is the target, <base>/outside holds a victim ---- */

struct fx {
	char base[64], root[96], outside[96], victim[128];
	int root_fd;
	bool fallback; /* the component walk instead of openat2 */
};

static struct fx F;

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void put(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	snprintf(F.base, sizeof(F.base), "/tmp/berth-unpack-XXXXXX");
	assert_non_null(mkdtemp(F.base));
	snprintf(F.root, sizeof(F.root), "%s/root", F.base);
	snprintf(F.outside, sizeof(F.outside), "%s/outside", F.base);
	snprintf(F.victim, sizeof(F.victim), "%s/victim", F.outside);
	assert_int_equal(mkdir(F.root, 0755), 0);
	assert_int_equal(mkdir(F.outside, 0755), 0);
	put(F.victim, "precious");
	F.root_fd = open(F.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(F.root_fd >= 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (F.root_fd >= 0)
		close(F.root_fd);
	nftw(F.base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* A fresh, empty root (for the second resolver of a test). */
static void reset_root(void)
{
	close(F.root_fd);
	nftw(F.root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(mkdir(F.root, 0755), 0);
	F.root_fd = open(F.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(F.root_fd >= 0);
}

static int unpack_into(int root_fd, const struct ent *ents, size_t n, enum image_unpack_mode mode,
		       struct image_unpack_opts *extra, struct berth_error *err)
{
	struct image_unpack_opts o = extra ? *extra : (struct image_unpack_opts){0};
	int fd = make_layer(ents, n, NULL), r;

	o.mode = mode;
	o.no_chown = !is_root;
	o.no_openat2 = F.fallback;
	if (!extra)
		o.expect_size = -1;
	memset(err, 0, sizeof(*err));
	r = image_layer_unpack(root_fd, fd, &o, NULL, err);
	close(fd);
	return r;
}

static int unpack(const struct ent *ents, size_t n, enum image_unpack_mode mode, struct berth_error *err)
{
	return unpack_into(F.root_fd, ents, n, mode, NULL, err);
}

static bool exists(const char *rel)
{
	struct stat st;
	return fstatat(F.root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void read_rel(const char *rel, char *buf, size_t size)
{
	int fd = openat(F.root_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

/* Nothing beside root/ changed: <base> holds root and outside, outside holds only the victim,
 * whose content and link count are as made. */
static void assert_outside_intact(void)
{
	char buf[64];
	struct stat st;
	DIR *d;
	struct dirent *de;
	int n = 0;

	d = opendir(F.base);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (strcmp(de->d_name, "root") != 0 && strcmp(de->d_name, "outside") != 0)
			fail_msg("unexpected entry beside the root: %s", de->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 2);
	d = opendir(F.outside);
	assert_non_null(d);
	n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (strcmp(de->d_name, "victim") != 0)
			fail_msg("unexpected entry outside: %s", de->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
	assert_int_equal(lstat(F.victim, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_nlink, 1);
	int fd = open(F.victim, O_RDONLY | O_CLOEXEC);
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	assert_string_equal(buf, "precious");
	assert_int_equal(lstat(F.root, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* Run the block with openat2, then again on an empty root with the component walk. */
#define FOR_BOTH_RESOLVERS                                                                                   \
	for (int pass_ = 0; pass_ < 2 && ((F.fallback = pass_ == 1), 1); pass_++, reset_root())

/* ---- entry types and attributes ---- */

static void test_entry_types(void **state)
{
	(void)state;
	const struct ent layer[] = {
	    {.name = "./", .type = AE_IFDIR, .perm = 0755},
	    {.name = "dir", .type = AE_IFDIR, .perm = 0710, .uid = 1000, .gid = 1001, .mtime = 1234567890},
	    {.name = "dir/file",
	     .data = "hello",
	     .perm = 04751,
	     .uid = 1000,
	     .gid = 1001,
	     .mtime = 1111111111},
	    {.name = "dir/link",
	     .type = AE_IFLNK,
	     .link = "file",
	     .uid = 1002,
	     .gid = 1003,
	     .mtime = 1222222222},
	    {.name = "dir/hard", .hardlink = "dir/file"},
	    {.name = "fifo", .type = AE_IFIFO, .perm = 0600},
	    {.name = "null", .type = AE_IFCHR, .perm = 0666, .major = 1, .minor = 3},
	    {.name = "loop", .type = AE_IFBLK, .perm = 0660, .major = 7, .minor = 0},
	    {.name = "empty", .data = ""},
	};
	struct berth_error err;
	struct stat st, st2;
	char buf[64];

	FOR_BOTH_RESOLVERS
	{
		assert_int_equal(unpack(layer, ARRAY_SIZE(layer), IMAGE_UNPACK_APPLY, &err), 0);
		read_rel("dir/file", buf, sizeof(buf));
		assert_string_equal(buf, "hello");
		assert_int_equal(fstatat(F.root_fd, "dir/file", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st.st_mode & 0777, 0751);
		if (is_root)
			assert_int_equal(st.st_mode & 07000, 04000);
		assert_int_equal(st.st_mtim.tv_sec, 1111111111);
		assert_int_equal(fstatat(F.root_fd, "dir", &st2, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st2.st_mode & 07777, 0710);
		/* Set after its children were made. */
		assert_int_equal(st2.st_mtim.tv_sec, 1234567890);
		assert_int_equal(readlinkat(F.root_fd, "dir/link", buf, sizeof(buf)), 4);
		assert_int_equal(fstatat(F.root_fd, "dir/hard", &st2, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st2.st_ino, st.st_ino);
		assert_int_equal(st.st_nlink, 2);
		assert_int_equal(fstatat(F.root_fd, "fifo", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISFIFO(st.st_mode));
		assert_int_equal(fstatat(F.root_fd, "empty", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st.st_size, 0);
		if (is_root) {
			assert_int_equal(fstatat(F.root_fd, "dir/file", &st, AT_SYMLINK_NOFOLLOW), 0);
			assert_int_equal(st.st_uid, 1000);
			assert_int_equal(st.st_gid, 1001);
			assert_int_equal(fstatat(F.root_fd, "dir/link", &st, AT_SYMLINK_NOFOLLOW), 0);
			assert_int_equal(st.st_uid, 1002);
			assert_int_equal(st.st_mtim.tv_sec, 1222222222);
			assert_int_equal(fstatat(F.root_fd, "null", &st, AT_SYMLINK_NOFOLLOW), 0);
			assert_true(S_ISCHR(st.st_mode));
			assert_int_equal(st.st_rdev, makedev(1, 3));
			assert_int_equal(st.st_mode & 07777, 0666);
			assert_int_equal(fstatat(F.root_fd, "loop", &st, AT_SYMLINK_NOFOLLOW), 0);
			assert_true(S_ISBLK(st.st_mode));
			assert_int_equal(st.st_rdev, makedev(7, 0));
		}
	}
}

static void test_xattrs(void **state)
{
	(void)state;
	/* A VFS_CAP_REVISION_2 capability set: cap_net_bind_service, effective. */
	struct vfs_cap_data cap = {.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE};
	cap.data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
	const struct ent layer[] = {
	    {.name = "user", .data = "x", .xname = "user.berth.test", .xvalue = "value"},
	    {.name = "cap",
	     .data = "x",
	     .perm = 0755,
	     .xname = "security.capability",
	     .xvalue = (const char *)&cap,
	     .xlen = sizeof(cap)},
	    {.name = "opq", .type = AE_IFDIR, .xname = "trusted.overlay.opaque", .xvalue = "y"},
	    {.name = "redir", .data = "x", .xname = "trusted.overlay.redirect", .xvalue = "/etc"},
	    {.name = "uopq", .type = AE_IFDIR, .xname = "user.overlay.opaque", .xvalue = "y"},
	};
	struct berth_error err;
	char buf[64];

	assert_int_equal(unpack(layer, ARRAY_SIZE(layer), IMAGE_UNPACK_OVERLAY, &err), 0);
	int fd = openat(F.root_fd, "user", O_RDONLY | O_CLOEXEC);
	ssize_t n = fgetxattr(fd, "user.berth.test", buf, sizeof(buf));
	close(fd);
	if (n >= 0 || errno != EOPNOTSUPP) {
		assert_int_equal(n, 5);
		assert_memory_equal(buf, "value", 5);
	}
	/* Never from a layer, whatever the mode. */
	char path[256];
	snprintf(path, sizeof(path), "%s/opq", F.root);
	assert_true(lgetxattr(path, "trusted.overlay.opaque", buf, sizeof(buf)) < 0);
	snprintf(path, sizeof(path), "%s/redir", F.root);
	assert_true(lgetxattr(path, "trusted.overlay.redirect", buf, sizeof(buf)) < 0);
	snprintf(path, sizeof(path), "%s/uopq", F.root);
	assert_true(lgetxattr(path, "user.overlay.opaque", buf, sizeof(buf)) < 0);
	if (is_root) {
		struct vfs_cap_data got;
		snprintf(path, sizeof(path), "%s/cap", F.root);
		n = lgetxattr(path, "security.capability", &got, sizeof(got));
		assert_true(n >= (ssize_t)XATTR_CAPS_SZ_2);
		assert_int_equal(got.data[0].permitted, 1u << CAP_NET_BIND_SERVICE);
	}
}

/* ---- whiteouts and opaque directories ---- */

static const struct ent lower_layer[] = {
    {.name = "a", .type = AE_IFDIR},     {.name = "a/x", .data = "x"},
    {.name = "a/y", .data = "y"},        {.name = "b", .type = AE_IFDIR},
    {.name = "b/z", .data = "z"},        {.name = "d", .type = AE_IFDIR},
    {.name = "d/old", .data = "old"},    {.name = "d/sub", .type = AE_IFDIR},
    {.name = "d/sub/old2", .data = "o"}, {.name = "tmp", .type = AE_IFDIR, .perm = 01777},
};

static void test_apply_whiteouts(void **state)
{
	(void)state;
	const struct ent upper[] = {
	    {.name = "a/.wh.x", .data = ""},
	    {.name = ".wh.b", .data = ""},
	    /* this layer's own file survives a whiteout of the same name after it */
	    {.name = "a/new", .data = "n"},
	    {.name = "a/.wh.new", .data = ""},
	};
	struct berth_error err;

	FOR_BOTH_RESOLVERS
	{
		assert_int_equal(unpack(lower_layer, ARRAY_SIZE(lower_layer), IMAGE_UNPACK_APPLY, &err), 0);
		assert_int_equal(unpack(upper, ARRAY_SIZE(upper), IMAGE_UNPACK_APPLY, &err), 0);
		assert_false(exists("a/x"));
		assert_true(exists("a/y"));
		assert_true(exists("a/new"));
		assert_false(exists("b"));
		assert_false(exists("a/.wh.x"));
		assert_false(exists(".wh.b"));
	}
}

static void check_opaque_result(void)
{
	assert_false(exists("d/old"));
	assert_false(exists("d/sub/old2"));
	assert_true(exists("d/new"));
	assert_true(exists("d/sub/new2"));
	assert_false(exists("d/.wh..wh..opq"));
	assert_true(exists("a/x"));
}

static void test_apply_opaque_positions(void **state)
{
	(void)state;
	const struct ent first[] = {
	    {.name = "d/.wh..wh..opq", .data = ""},
	    {.name = "d/new", .data = "n"},
	    {.name = "d/sub", .type = AE_IFDIR},
	    {.name = "d/sub/new2", .data = "n"},
	};
	const struct ent last[] = {
	    {.name = "d/new", .data = "n"},
	    {.name = "d/sub", .type = AE_IFDIR},
	    {.name = "d/sub/new2", .data = "n"},
	    {.name = "d/.wh..wh..opq", .data = ""},
	};
	struct berth_error err;

	FOR_BOTH_RESOLVERS
	{
		assert_int_equal(unpack(lower_layer, ARRAY_SIZE(lower_layer), IMAGE_UNPACK_APPLY, &err), 0);
		assert_int_equal(unpack(first, ARRAY_SIZE(first), IMAGE_UNPACK_APPLY, &err), 0);
		check_opaque_result();
		reset_root();
		assert_int_equal(unpack(lower_layer, ARRAY_SIZE(lower_layer), IMAGE_UNPACK_APPLY, &err), 0);
		assert_int_equal(unpack(last, ARRAY_SIZE(last), IMAGE_UNPACK_APPLY, &err), 0);
		check_opaque_result();
	}
}

static bool is_whiteout(const char *rel)
{
	struct stat st;
	return fstatat(F.root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
	       st.st_rdev == makedev(0, 0);
}

static bool is_opaque(const char *rel)
{
	char path[256], v[4];
	snprintf(path, sizeof(path), "%s/%s", F.root, rel);
	return lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

static void test_overlay_markers(void **state)
{
	(void)state;
	const struct ent layer[] = {
	    {.name = "a/.wh.x", .data = ""},
	    {.name = "d/.wh..wh..opq", .data = ""},
	    {.name = "d/new", .data = "n"},
	    /* whiteout then a directory of the same name: the directory replaces the lower one */
	    {.name = ".wh.b", .data = ""},
	    {.name = "b", .type = AE_IFDIR},
	    /* a directory then a whiteout of it: the same */
	    {.name = "e", .type = AE_IFDIR},
	    {.name = ".wh.e", .data = ""},
	    /* a file then its whiteout: the file stays */
	    {.name = "f", .data = "f"},
	    {.name = ".wh.f", .data = ""},
	};
	struct berth_error err;

	if (!is_root)
		skip();
	FOR_BOTH_RESOLVERS
	{
		assert_int_equal(unpack(layer, ARRAY_SIZE(layer), IMAGE_UNPACK_OVERLAY, &err), 0);
		assert_true(is_whiteout("a/x"));
		assert_true(is_opaque("d"));
		assert_true(exists("d/new"));
		assert_false(exists("d/.wh..wh..opq"));
		assert_true(is_opaque("b"));
		assert_true(is_opaque("e"));
		assert_false(is_whiteout("f"));
		assert_true(exists("f"));
	}
}

/* ---- layers stacked by overlayfs ---- */

/* Unpack @lower then @upper as two overlay lower dirs, mount them read-only in a private mount
 * namespace and run @check on the merged view in the child. */
static void with_overlay(const struct ent *lower, size_t nl, const struct ent *upper, size_t nu,
			 bool (*check)(const char *merged))
{
	char l1[128], l2[128], merged[128], opts[512];
	struct berth_error err;
	int fd1, fd2, status;
	pid_t pid;

	snprintf(l1, sizeof(l1), "%s/root/l1", F.base);
	snprintf(l2, sizeof(l2), "%s/root/l2", F.base);
	snprintf(merged, sizeof(merged), "%s/root/merged", F.base);
	assert_int_equal(mkdir(l1, 0755), 0);
	assert_int_equal(mkdir(l2, 0755), 0);
	assert_int_equal(mkdir(merged, 0755), 0);
	fd1 = open(l1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd2 = open(l2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(unpack_into(fd1, lower, nl, IMAGE_UNPACK_OVERLAY, NULL, &err), 0);
	struct image_unpack_opts o = {.lower_fds = &fd1, .n_lower = 1, .expect_size = -1};
	if (unpack_into(fd2, upper, nu, IMAGE_UNPACK_OVERLAY, &o, &err) != 0)
		fail_msg("unpack: %s", err.msg);
	snprintf(opts, sizeof(opts), "lowerdir=%s:%s", l2, l1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("overlay", merged, "overlay", MS_RDONLY, opts) < 0)
			_exit(2);
		_exit(check(merged) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fd1);
	close(fd2);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static bool at(const char *merged, const char *rel, struct stat *st)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", merged, rel);
	return lstat(p, st) == 0;
}

static bool check_merged(const char *m)
{
	struct stat st, st2;

	return !at(m, "a/x", &st) && at(m, "a/y", &st) && !at(m, "b/z", &st) && at(m, "b", &st) &&
	       !at(m, "d/old", &st) && !at(m, "d/sub", &st) && at(m, "d/new", &st) &&
	       /* an implicit parent keeps the lower directory's mode */
	       at(m, "tmp", &st) && (st.st_mode & 07777) == 01777 && at(m, "tmp/t", &st2) &&
	       /* a hardlink to a file of the layer below */
	       at(m, "a/hard", &st2) && at(m, "a/y", &st) && st.st_ino == st2.st_ino;
}

static void test_overlay_view(void **state)
{
	(void)state;
	const struct ent upper[] = {
	    {.name = "a/.wh.x", .data = ""},        {.name = ".wh.b", .data = ""},
	    {.name = "b", .type = AE_IFDIR},        {.name = "d/new", .data = "n"},
	    {.name = "d/.wh..wh..opq", .data = ""}, {.name = "tmp/t", .data = "t"},
	    {.name = "a/hard", .hardlink = "a/y"},
	};

	if (!is_root)
		skip();
	with_overlay(lower_layer, ARRAY_SIZE(lower_layer), upper, ARRAY_SIZE(upper), check_merged);
}

/* ---- hostile layers ---- */

static void expect_refused(const struct ent *layer, size_t n, enum image_unpack_mode mode, const char *entry,
			   const char *reason)
{
	struct berth_error err;
	char quoted[300];
	int r = unpack(layer, n, mode, &err);

	if (r >= 0)
		fail_msg("layer with \"%s\" was accepted (fallback=%d)", entry, F.fallback);
	snprintf(quoted, sizeof(quoted), "\"%s\"", entry);
	if (!strstr(err.msg, quoted) || (reason && !strstr(err.msg, reason)))
		fail_msg("error \"%s\" does not name %s / %s", err.msg, quoted, reason ? reason : "");
	assert_outside_intact();
}

static void test_escape_dotdot(void **state)
{
	(void)state;
	char hl[200];
	snprintf(hl, sizeof(hl), "../outside/victim");
	const struct ent names[][1] = {
	    {{.name = "../outside/evil", .data = "x"}},
	    {{.name = "a/../../outside/evil", .data = "x"}},
	    {{.name = "../outside/", .type = AE_IFDIR}},
	    {{.name = "..", .type = AE_IFLNK, .link = "/"}},
	};
	const struct ent hard[] = {{.name = "hl", .hardlink = hl}};

	FOR_BOTH_RESOLVERS
	{
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			expect_refused(names[i], 1, IMAGE_UNPACK_APPLY, names[i][0].name, "parent directory");
		expect_refused(hard, 1, IMAGE_UNPACK_APPLY, "hl", "parent directory");
	}
}

static void test_escape_absolute(void **state)
{
	(void)state;
	char name[128], host[128];
	struct berth_error err;

	/* Absolute names are taken relative to the root. */
	snprintf(name, sizeof(name), "/berth-unpack-test-%d", (int)getpid());
	snprintf(host, sizeof(host), "%s", name);
	const struct ent layer[] = {{.name = name, .data = "confined"}};
	FOR_BOTH_RESOLVERS
	{
		assert_int_equal(unpack(layer, 1, IMAGE_UNPACK_APPLY, &err), 0);
		assert_true(exists(name + 1));
		assert_int_equal(access(host, F_OK), -1);
		assert_outside_intact();
	}
}

static void test_escape_symlink_parent(void **state)
{
	(void)state;
	char evil[300];
	struct berth_error err;

	/* A symlink to the host directory (absolute): inside the root that path does not exist. */
	const struct ent abs_link[] = {
	    {.name = "link", .type = AE_IFLNK, .link = F.outside},
	    {.name = "link/evil", .data = "x"},
	};
	/* A symlink climbing out with "..": it stops at the root. */
	const struct ent up_link[] = {
	    {.name = "up", .type = AE_IFLNK, .link = "../../../../.."},
	    {.name = "up/evil", .data = "x"},
	};
	/* A symlink to "/", then the host path below it: confined to the root's copy of it. */
	snprintf(evil, sizeof(evil), "slash%s/evil", F.outside);
	const struct ent slash[] = {
	    {.name = "slash", .type = AE_IFLNK, .link = "/"},
	    {.name = evil, .data = "x"},
	};
	FOR_BOTH_RESOLVERS
	{
		expect_refused(abs_link, ARRAY_SIZE(abs_link), IMAGE_UNPACK_APPLY, "link/evil", NULL);
		reset_root();
		assert_int_equal(unpack(up_link, ARRAY_SIZE(up_link), IMAGE_UNPACK_APPLY, &err), 0);
		assert_true(exists("evil"));
		assert_outside_intact();
		reset_root();
		assert_int_equal(unpack(slash, ARRAY_SIZE(slash), IMAGE_UNPACK_APPLY, &err), 0);
		assert_true(exists(F.outside + 1));
		assert_outside_intact();
	}
}

static void test_escape_write_through_symlink(void **state)
{
	(void)state;
	struct berth_error err;
	struct stat st;
	/* A symlink at the file's own name: the file replaces it, the target is not touched. */
	const struct ent layer[] = {
	    {.name = "victim", .type = AE_IFLNK, .link = F.victim},
	    {.name = "victim", .data = "overwritten"},
	    {.name = "rel", .type = AE_IFLNK, .link = "../outside/victim"},
	    {.name = "rel", .data = "overwritten"},
	    {.name = "dirlink", .type = AE_IFLNK, .link = F.outside},
	    {.name = "dirlink", .type = AE_IFDIR},
	};
	FOR_BOTH_RESOLVERS
	{
		assert_int_equal(unpack(layer, ARRAY_SIZE(layer), IMAGE_UNPACK_APPLY, &err), 0);
		assert_int_equal(fstatat(F.root_fd, "victim", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(fstatat(F.root_fd, "dirlink", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_outside_intact();
	}
}

static void test_escape_hardlink(void **state)
{
	(void)state;
	/* Targets outside the layer: absolute (confined, so not found), and through a symlinked
	 * directory pointing at the host. */
	const struct ent abs_target[] = {{.name = "hl", .hardlink = F.victim}};
	const struct ent via_link[] = {
	    {.name = "d", .type = AE_IFLNK, .link = F.outside},
	    {.name = "hl", .hardlink = "d/victim"},
	};
	const struct ent to_dir[] = {
	    {.name = "dir", .type = AE_IFDIR},
	    {.name = "hl", .hardlink = "dir"},
	};
	FOR_BOTH_RESOLVERS
	{
		expect_refused(abs_target, 1, IMAGE_UNPACK_APPLY, "hl", "not in the layer");
		reset_root();
		expect_refused(via_link, ARRAY_SIZE(via_link), IMAGE_UNPACK_APPLY, "hl", "not in the layer");
		reset_root();
		expect_refused(to_dir, ARRAY_SIZE(to_dir), IMAGE_UNPACK_APPLY, "hl", "directory");
	}
}

static void test_escape_root_replacement(void **state)
{
	(void)state;
	/* CVE-2021-29136: a layer whose "." is a symlink to "/". */
	const struct ent layers[][2] = {
	    {{.name = ".", .type = AE_IFLNK, .link = "/"}, {.name = "etc/evil", .data = "x"}},
	    {{.name = "./", .type = AE_IFLNK, .link = F.outside}, {.name = "evil", .data = "x"}},
	    {{.name = ".", .data = "file"}, {.name = "x", .data = "x"}},
	    {{.name = "a", .data = "a"}, {.name = ".", .hardlink = "a"}},
	};
	const char *names[] = {"", "", "", ""};

	FOR_BOTH_RESOLVERS
	{
		for (size_t i = 0; i < ARRAY_SIZE(layers); i++) {
			expect_refused(layers[i], 2, IMAGE_UNPACK_APPLY, names[i], "replace the root");
			expect_refused(layers[i], 2, IMAGE_UNPACK_OVERLAY, names[i], "replace the root");
		}
	}
}

static void test_escape_whiteouts(void **state)
{
	(void)state;
	struct berth_error err;
	const struct ent self[][1] = {
	    {{.name = "a/.wh.", .data = ""}},
	    {{.name = "a/.wh..", .data = ""}},
	    {{.name = "a/.wh...", .data = ""}},
	};
	const char *shown[] = {"a/.wh.", "a/.wh..", "a/.wh..."};
	/* Whiteouts and opaque markers below a symlink to the host: resolved in the root, where the
	 * directory does not exist, so nothing is removed anywhere. */
	const struct ent via_link[] = {
	    {.name = "d", .type = AE_IFLNK, .link = F.outside},
	    {.name = "d/.wh.victim", .data = ""},
	    {.name = "d/.wh..wh..opq", .data = ""},
	    {.name = "up", .type = AE_IFLNK, .link = "../outside"},
	    {.name = "up/.wh.victim", .data = ""},
	    {.name = "up/.wh..wh..opq", .data = ""},
	};
	const struct ent wh_dir[] = {{.name = "x/.wh.d", .type = AE_IFDIR}};
	const struct ent wh_parent[] = {{.name = ".wh.d/file", .data = "x"}};

	FOR_BOTH_RESOLVERS
	{
		for (size_t i = 0; i < ARRAY_SIZE(self); i++)
			expect_refused(self[i], 1, IMAGE_UNPACK_APPLY, shown[i], "its own directory");
		assert_int_equal(unpack(via_link, ARRAY_SIZE(via_link), IMAGE_UNPACK_APPLY, &err), 0);
		assert_outside_intact();
		reset_root();
		if (is_root) {
			/* refused or a no-op: either way nothing outside changes */
			(void)unpack(via_link, ARRAY_SIZE(via_link), IMAGE_UNPACK_OVERLAY, &err);
			assert_outside_intact();
			reset_root();
		}
		expect_refused(wh_dir, 1, IMAGE_UNPACK_APPLY, "x/.wh.d", "whiteout name");
		expect_refused(wh_parent, 1, IMAGE_UNPACK_APPLY, ".wh.d/file", "whiteout name");
	}
}

/* ---- bounds ---- */

static void test_bounds(void **state)
{
	(void)state;
	struct berth_error err;
	char longname[400], longcomp[300];
	const struct ent five[] = {{.name = "1", .data = ""},
				   {.name = "2", .data = ""},
				   {.name = "3", .data = ""},
				   {.name = "4", .data = ""},
				   {.name = "5", .data = ""}};
	const struct ent big[] = {{.name = "small", .data = "12345"},
				  {.name = "big", .data = "0123456789abcdef"}};

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (size_t i = 50; i < sizeof(longname) - 1; i += 50)
		longname[i] = '/';
	memset(longcomp, 'c', sizeof(longcomp) - 1);
	longcomp[sizeof(longcomp) - 1] = '\0';
	const struct ent named[] = {{.name = longname, .data = ""}};
	const struct ent comp[] = {{.name = longcomp, .data = ""}};
	const struct ent link[] = {{.name = "l", .type = AE_IFLNK, .link = longname}};

	struct image_unpack_opts o = {.max_entries = 3, .expect_size = -1};
	assert_int_equal(unpack_into(F.root_fd, five, 5, IMAGE_UNPACK_APPLY, &o, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "more than 3 entries"));
	reset_root();
	o = (struct image_unpack_opts){.max_bytes = 10, .expect_size = -1};
	assert_int_equal(unpack_into(F.root_fd, big, 2, IMAGE_UNPACK_APPLY, &o, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "\"big\""));
	reset_root();
	o = (struct image_unpack_opts){.max_name = 128, .expect_size = -1};
	assert_int_equal(unpack_into(F.root_fd, named, 1, IMAGE_UNPACK_APPLY, &o, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "longer than 128 bytes"));
	assert_int_equal(unpack_into(F.root_fd, link, 1, IMAGE_UNPACK_APPLY, &o, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "\"l\""));
	assert_int_equal(unpack(comp, 1, IMAGE_UNPACK_APPLY, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "255 bytes"));
	assert_outside_intact();
}

/* ---- digests ---- */

static void digest_of_fd(int fd, char out[IMAGE_DIGEST_SIZE])
{
	struct berth_sha256 c;
	uint8_t d[BERTH_SHA256_SIZE];
	char buf[4096], hex[BERTH_SHA256_HEX_SIZE];
	ssize_t n;

	berth_sha256_init(&c);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		berth_sha256_update(&c, buf, (size_t)n);
	berth_sha256_final(&c, d);
	berth_sha256_hex(d, hex);
	snprintf(out, IMAGE_DIGEST_SIZE, "sha256:%s", hex);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

static void test_verification(void **state)
{
	(void)state;
	const struct ent layer[] = {{.name = "etc", .type = AE_IFDIR},
				    {.name = "etc/os-release", .data = "ID=test\n"}};
	const char *filters[] = {NULL, "gzip", "zstd"};
	char plain_digest[IMAGE_DIGEST_SIZE], digest[IMAGE_DIGEST_SIZE];
	struct image_unpack_result res;
	struct berth_error err;
	struct stat st;

	int plain = make_layer(layer, 2, NULL);
	digest_of_fd(plain, plain_digest);
	close(plain);
	for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
		int fd = make_layer(layer, 2, filters[i]);
		struct image_unpack_opts o = {.expect_size = -1, .no_chown = !is_root};

		digest_of_fd(fd, digest);
		assert_int_equal(fstat(fd, &st), 0);
		/* the right digest, size and diff_id */
		o.expect_digest = digest;
		o.expect_size = st.st_size;
		o.expect_diff_id = plain_digest;
		reset_root();
		assert_int_equal(image_layer_unpack(F.root_fd, fd, &o, &res, &err), 0);
		assert_string_equal(res.digest, digest);
		assert_string_equal(res.diff_id, plain_digest);
		assert_int_equal(res.blob_size, (uint64_t)st.st_size);
		assert_int_equal(res.entries, 2);
		assert_true(exists("etc/os-release"));
		/* a digest the caller verified: a plain blob is its own diff_id, a compressed one
		 * still has its tar stream hashed */
		struct image_unpack_opts v = {
		    .expect_size = -1, .no_chown = !is_root, .verified_digest = digest, .want_digests = true};
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		assert_int_equal(image_layer_unpack(-1, fd, &v, &res, &err), 0);
		assert_string_equal(res.digest, digest);
		assert_string_equal(res.diff_id, plain_digest);
		/* each one wrong */
		o.expect_diff_id = digest[7] == '0' ? "sha256:1" : "sha256:0";
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		assert_int_equal(image_layer_unpack(-1, fd, &o, NULL, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "image config says"));
		o.expect_diff_id = plain_digest;
		o.expect_size = st.st_size + 1;
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		assert_int_equal(image_layer_unpack(-1, fd, &o, NULL, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "descriptor says"));
		o.expect_size = st.st_size - 1;
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		assert_true(image_layer_unpack(-1, fd, &o, NULL, &err) < 0);
		assert_non_null(strstr(err.msg, "larger than"));
		o.expect_size = st.st_size;
		o.expect_digest = plain_digest[7] == digest[7] ? "sha256:x" : plain_digest;
		if (filters[i]) {
			assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
			assert_int_equal(image_layer_unpack(-1, fd, &o, NULL, &err), -EBADMSG);
			assert_non_null(strstr(err.msg, "content has digest"));
		}
		/* a truncated blob */
		if (filters[i]) {
			assert_int_equal(ftruncate(fd, st.st_size / 2), 0);
			assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
			o = (struct image_unpack_opts){.expect_size = -1, .no_chown = !is_root};
			reset_root();
			assert_true(image_layer_unpack(F.root_fd, fd, &o, NULL, &err) < 0);
			assert_true(err.msg[0] != '\0');
		}
		close(fd);
	}
	/* not a tar at all */
	int junk = memfd_create("junk", MFD_CLOEXEC);
	assert_int_equal(write(junk, "this is not a tar archive, not at all, no", 41), 41);
	assert_int_equal(lseek(junk, 0, SEEK_SET), 0);
	struct image_unpack_opts o = {.expect_size = -1};
	assert_true(image_layer_unpack(F.root_fd, junk, &o, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "layer"));
	close(junk);
}

/* ---- the resolver: the component walk agrees with openat2 ---- */

static void test_resolver_agreement(void **state)
{
	(void)state;
	const struct ent tree[] = {
	    {.name = "a", .type = AE_IFDIR},
	    {.name = "a/b", .type = AE_IFDIR},
	    {.name = "a/b/f", .data = "f"},
	    {.name = "abs", .type = AE_IFLNK, .link = "/a/b"},
	    {.name = "rel", .type = AE_IFLNK, .link = "a/b"},
	    {.name = "a/up", .type = AE_IFLNK, .link = "../../../.."},
	    {.name = "a/b/loop", .type = AE_IFLNK, .link = "loop"},
	    {.name = "out", .type = AE_IFLNK, .link = F.outside},
	    {.name = "chain", .type = AE_IFLNK, .link = "a/up/rel/../b/f"},
	};
	const char *paths[] = {"a/b/f",    "abs/f",      "rel/f",    "a/up/a/b/f",    "a/up",
			       "a/b/loop", "out/victim", "chain",    "a/../../a/b/f", "abs/../b/f",
			       "",         "a/b/f/x",    "missing/x"};
	struct berth_error err;
	struct stat s1, s2;

	assert_int_equal(unpack(tree, ARRAY_SIZE(tree), IMAGE_UNPACK_APPLY, &err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		for (int follow = 0; follow <= 1; follow++) {
			int a = inroot_open(F.root_fd, paths[i], O_PATH, follow, false);
			int b = inroot_open(F.root_fd, paths[i], O_PATH, follow, true);

			if ((a < 0) != (b < 0) || (a < 0 && a != b))
				fail_msg("%s (follow=%d): openat2 %d, walk %d", paths[i], follow, a, b);
			if (a >= 0) {
				assert_int_equal(fstat(a, &s1), 0);
				assert_int_equal(fstat(b, &s2), 0);
				if (s1.st_ino != s2.st_ino)
					fail_msg("%s (follow=%d): different files", paths[i], follow);
				close(a);
				close(b);
			}
		}
	}
	assert_outside_intact();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_entry_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_whiteouts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_opaque_positions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlay_markers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlay_view, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escape_dotdot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escape_absolute, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escape_symlink_parent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escape_write_through_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escape_hardlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escape_root_replacement, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escape_whiteouts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verification, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolver_agreement, setup, teardown),
	};

	is_root = geteuid() == 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
