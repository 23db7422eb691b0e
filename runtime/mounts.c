/* config.json mounts: option parsing, the mount primitives (new mount API with a mount(2) on
 * /proc/self/fd/N fallback), and one config mount entry from destination to propagation.
 *
 * Every mount is made on a descriptor of a destination resolved inside the rootfs, never on a path
 * string, and is then looked up again by its in-root path to check that it is the mount there. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "internal.h"
#include "lsm.h"
#include "tmpcopyup.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

#define MOUNT_DATA_MAX 4096 /* mount(2) copies one page of data */
#define NO_ATIME_CHANGE (-1)

/* ---- options ---- */

enum opt_kind {
	OPT_SET,         /* MS_* flag on */
	OPT_CLEAR,       /* MS_* flag off */
	OPT_PROPAGATION, /* MS_SHARED.. (| MS_REC), applied after the mount */
	OPT_RSET,        /* MOUNT_ATTR_* on the whole tree */
	OPT_RCLEAR,      /* MOUNT_ATTR_* off on the whole tree */
	OPT_RATIME,      /* MOUNT_ATTR_ atime mode on the whole tree */
	OPT_IDMAP,
	OPT_RIDMAP,
	OPT_TMPCOPYUP,
	OPT_IGNORE,
	OPT_UNSUPPORTED,
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	unsigned long ms;
	uint64_t attr;
	int atime; /* the atime mode this option gives a bind mount, or NO_ATIME_CHANGE */
};

/* clang-format off */
#define SET(n, f) {n, OPT_SET, f, 0, NO_ATIME_CHANGE}
#define CLR(n, f) {n, OPT_CLEAR, f, 0, NO_ATIME_CHANGE}
#define SETA(n, f, a) {n, OPT_SET, f, 0, a}
#define CLRA(n, f, a) {n, OPT_CLEAR, f, 0, a}
#define PROP(n, f) {n, OPT_PROPAGATION, f, 0, NO_ATIME_CHANGE}
#define RSET(n, a) {n, OPT_RSET, 0, a, NO_ATIME_CHANGE}
#define RCLR(n, a) {n, OPT_RCLEAR, 0, a, NO_ATIME_CHANGE}
#define RATIME(n, a) {n, OPT_RATIME, 0, a, NO_ATIME_CHANGE}
#define OTHER(n, k) {n, k, 0, 0, NO_ATIME_CHANGE}
/* clang-format on */

static const struct opt_def opt_table[] = {
    SET("ro", MS_RDONLY),
    CLR("rw", MS_RDONLY),
    CLR("suid", MS_NOSUID),
    SET("nosuid", MS_NOSUID),
    CLR("dev", MS_NODEV),
    SET("nodev", MS_NODEV),
    CLR("exec", MS_NOEXEC),
    SET("noexec", MS_NOEXEC),
    SET("sync", MS_SYNCHRONOUS),
    CLR("async", MS_SYNCHRONOUS),
    SET("dirsync", MS_DIRSYNC),
    SET("remount", MS_REMOUNT),
    SET("mand", MS_MANDLOCK),
    CLR("nomand", MS_MANDLOCK),
    CLRA("atime", MS_NOATIME, MOUNT_ATTR_RELATIME),
    SETA("noatime", MS_NOATIME, MOUNT_ATTR_NOATIME),
    CLR("diratime", MS_NODIRATIME),
    SET("nodiratime", MS_NODIRATIME),
    SETA("relatime", MS_RELATIME, MOUNT_ATTR_RELATIME),
    CLR("norelatime", MS_RELATIME),
    SETA("strictatime", MS_STRICTATIME, MOUNT_ATTR_STRICTATIME),
    CLRA("nostrictatime", MS_STRICTATIME, MOUNT_ATTR_RELATIME),
    SET("lazytime", MS_LAZYTIME),
    CLR("nolazytime", MS_LAZYTIME),
    SET("silent", MS_SILENT),
    CLR("loud", MS_SILENT),
    SET("nosymfollow", MS_NOSYMFOLLOW),
    CLR("symfollow", MS_NOSYMFOLLOW),
    SET("bind", MS_BIND),
    SET("rbind", MS_BIND | MS_REC),
    PROP("shared", MS_SHARED),
    PROP("rshared", MS_SHARED | MS_REC),
    PROP("private", MS_PRIVATE),
    PROP("rprivate", MS_PRIVATE | MS_REC),
    PROP("slave", MS_SLAVE),
    PROP("rslave", MS_SLAVE | MS_REC),
    PROP("unbindable", MS_UNBINDABLE),
    PROP("runbindable", MS_UNBINDABLE | MS_REC),
    RSET("rro", MOUNT_ATTR_RDONLY),
    RCLR("rrw", MOUNT_ATTR_RDONLY),
    RSET("rnosuid", MOUNT_ATTR_NOSUID),
    RCLR("rsuid", MOUNT_ATTR_NOSUID),
    RSET("rnodev", MOUNT_ATTR_NODEV),
    RCLR("rdev", MOUNT_ATTR_NODEV),
    RSET("rnoexec", MOUNT_ATTR_NOEXEC),
    RCLR("rexec", MOUNT_ATTR_NOEXEC),
    RSET("rnodiratime", MOUNT_ATTR_NODIRATIME),
    RCLR("rdiratime", MOUNT_ATTR_NODIRATIME),
    RSET("rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW),
    RCLR("rsymfollow", MOUNT_ATTR_NOSYMFOLLOW),
    RATIME("rnoatime", MOUNT_ATTR_NOATIME),
    RATIME("ratime", MOUNT_ATTR_RELATIME),
    RATIME("rrelatime", MOUNT_ATTR_RELATIME),
    RATIME("rstrictatime", MOUNT_ATTR_STRICTATIME),
    RATIME("rnostrictatime", MOUNT_ATTR_RELATIME),
    /* "not relatime" names no mode: like runc, it changes nothing */
    OTHER("rnorelatime", OPT_IGNORE),
    OTHER("defaults", OPT_IGNORE),
    OTHER("idmap", OPT_IDMAP),
    OTHER("ridmap", OPT_RIDMAP),
    OTHER("tmpcopyup", OPT_TMPCOPYUP),
};

struct mount_spec {
	unsigned long flags; /* MS_* for mount(2), with MS_BIND/MS_REC/MS_REMOUNT */
	int atime;           /* MOUNT_ATTR_ atime mode for a bind, or NO_ATIME_CHANGE */
	uint64_t rattr_set, rattr_clr;
	unsigned long propagation;
	bool idmap, ridmap;
	bool tmpcopyup;
	const char *data_opt; /* the first option that went to the data string */
	char data[MOUNT_DATA_MAX];
};

static const struct opt_def *opt_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (strcmp(opt_table[i].name, name) == 0)
			return &opt_table[i];
	return NULL;
}

static int data_append(struct mount_spec *s, const char *opt, struct berth_error *err)
{
	size_t len = strlen(s->data), n = strlen(opt);

	if (len + (len ? 1 : 0) + n + 1 > sizeof(s->data))
		return berth_error_set(err, -E2BIG, "mount options are longer than %d bytes", MOUNT_DATA_MAX);
	if (len)
		s->data[len++] = ',';
	memcpy(s->data + len, opt, n + 1);
	if (!s->data_opt)
		s->data_opt = opt;
	return 0;
}

static void apply_opt(struct mount_spec *s, const struct opt_def *d)
{
	switch (d->kind) {
	case OPT_SET:
		s->flags |= d->ms;
		break;
	case OPT_CLEAR:
		s->flags &= ~d->ms;
		break;
	case OPT_PROPAGATION:
		s->propagation = d->ms;
		break;
	case OPT_RSET:
		s->rattr_set |= d->attr;
		s->rattr_clr &= ~d->attr;
		break;
	case OPT_RCLEAR:
		s->rattr_clr |= d->attr;
		s->rattr_set &= ~d->attr;
		break;
	case OPT_RATIME:
		/* mount_setattr changes the atime mode only when all of MOUNT_ATTR__ATIME is cleared */
		s->rattr_clr |= MOUNT_ATTR__ATIME;
		s->rattr_set = (s->rattr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | d->attr;
		break;
	case OPT_IDMAP:
		s->idmap = true;
		break;
	case OPT_RIDMAP:
		s->ridmap = true;
		break;
	case OPT_TMPCOPYUP:
		s->tmpcopyup = true;
		break;
	case OPT_IGNORE:
	case OPT_UNSUPPORTED:
		break;
	}
	if (d->atime != NO_ATIME_CHANGE)
		s->atime = d->atime;
}

static int parse_options(char *const *options, struct mount_spec *s, struct berth_error *err)
{
	memset(s, 0, sizeof(*s));
	s->atime = NO_ATIME_CHANGE;
	for (size_t i = 0; options && options[i]; i++) {
		const struct opt_def *d = opt_lookup(options[i]);
		int r;

		if (!d) {
			r = data_append(s, options[i], err);
			if (r < 0)
				return r;
			continue;
		}
		if (d->kind == OPT_UNSUPPORTED)
			return berth_error_set(err, -EOPNOTSUPP, "mount option '%s' is not supported",
					       d->name);
		apply_opt(s, d);
	}
	return 0;
}

int mounts_propagation_flags(const char *name, unsigned long *ret_flags)
{
	const struct opt_def *d = name ? opt_lookup(name) : NULL;

	if (!d || d->kind != OPT_PROPAGATION)
		return -EINVAL;
	*ret_flags = d->ms;
	return 0;
}

/* ---- flag conversions ---- */

uint64_t mount_ms_to_attr(unsigned long ms)
{
	uint64_t a = 0;

	a |= (ms & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0;
	a |= (ms & MS_NOSUID) ? MOUNT_ATTR_NOSUID : 0;
	a |= (ms & MS_NODEV) ? MOUNT_ATTR_NODEV : 0;
	a |= (ms & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0;
	a |= (ms & MS_NODIRATIME) ? MOUNT_ATTR_NODIRATIME : 0;
	a |= (ms & MS_NOSYMFOLLOW) ? MOUNT_ATTR_NOSYMFOLLOW : 0;
	return a;
}

static unsigned long attr_to_ms(uint64_t a)
{
	unsigned long ms = 0;

	ms |= (a & MOUNT_ATTR_RDONLY) ? MS_RDONLY : 0;
	ms |= (a & MOUNT_ATTR_NOSUID) ? MS_NOSUID : 0;
	ms |= (a & MOUNT_ATTR_NODEV) ? MS_NODEV : 0;
	ms |= (a & MOUNT_ATTR_NOEXEC) ? MS_NOEXEC : 0;
	ms |= (a & MOUNT_ATTR_NODIRATIME) ? MS_NODIRATIME : 0;
	ms |= (a & MOUNT_ATTR_NOSYMFOLLOW) ? MS_NOSYMFOLLOW : 0;
	return ms;
}

static unsigned long atime_attr_to_ms(uint64_t a)
{
	switch (a & MOUNT_ATTR__ATIME) {
	case MOUNT_ATTR_NOATIME:
		return MS_NOATIME;
	case MOUNT_ATTR_STRICTATIME:
		return MS_STRICTATIME;
	default:
		return MS_RELATIME;
	}
}

/* The per-mount flags a mount has now, as MS_* (what a MS_REMOUNT must repeat to keep them). */
static int current_ms_flags(int fd, unsigned long *ret)
{
	struct statvfs sv;
	unsigned long ms = 0;

	if (fstatvfs(fd, &sv) < 0)
		return -errno;
	ms |= (sv.f_flag & ST_RDONLY) ? MS_RDONLY : 0;
	ms |= (sv.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
	ms |= (sv.f_flag & ST_NODEV) ? MS_NODEV : 0;
	ms |= (sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
	ms |= (sv.f_flag & ST_NODIRATIME) ? MS_NODIRATIME : 0;
	ms |= (sv.f_flag & ST_NOSYMFOLLOW) ? MS_NOSYMFOLLOW : 0;
	if (sv.f_flag & ST_NOATIME)
		ms |= MS_NOATIME;
	else if (sv.f_flag & ST_RELATIME)
		ms |= MS_RELATIME;
	else
		ms |= MS_STRICTATIME;
	*ret = ms;
	return 0;
}

/* ---- primitives ---- */

/* "/proc/self/fd/N" for mount(2), once /proc is known to be procfs (after pivot it is the
 * container's, which may not be mounted at all). */
static int proc_fd_path(int fd, char *buf, size_t size)
{
	struct statfs sfs;

	if (statfs("/proc/self/fd", &sfs) < 0)
		return -errno;
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return -ENXIO;
	snprintf(buf, size, "/proc/self/fd/%d", fd);
	return 0;
}

static int proc_fd_path_err(int fd, char *buf, size_t size, struct berth_error *err)
{
	int r = proc_fd_path(fd, buf, size);

	if (r < 0)
		return berth_error_setf_errno(err, r, "mount through /proc/self/fd (is /proc mounted?)");
	return 0;
}

/* Resolve @path again and check which mount is there: the one with id @want, or when @want is 0
 * any mount but @old (0: no check; also when the kernel reports no mount ids). */
static int reopen_mount(const struct mount_ctx *ctx, const char *path, uint64_t want, uint64_t old,
			int *ret_mntfd, struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	uint64_t id;
	int r;

	/* Failing here means the path was changed (a component swapped for a symlink, renamed,
	 * removed) between resolving it for the mount and now: refuse, and say so. */
	r = rootfs_resolve(ctx->rootfd, path, mount_ctx_resolve_flags(ctx), O_PATH, &fd);
	if (r < 0)
		return berth_error_setf_errno(
		    err, r,
		    "the destination '%s' changed during set-up: it no longer resolves "
		    "inside the rootfs to the new mount",
		    path);
	if (rootfs_mount_id(fd, &id) == 0 && ((want && id != want) || (!want && old && id == old)))
		return berth_error_set(
		    err, -EXDEV,
		    "the destination '%s' changed during set-up: it now resolves inside the "
		    "rootfs to something other than the new mount",
		    path);
	if (ret_mntfd)
		*ret_mntfd = TAKE_FD(fd);
	return 0;
}

/* mount_setattr(2) adding restrictions; when clearing something fails with EPERM (a flag the kernel
 * locked because the mount came from a more privileged namespace) keep the current flags. */
static int setattr_keep_locked(int fd, uint64_t set, uint64_t clr, bool recursive)
{
	unsigned int at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	struct mount_attr a = {.attr_set = set, .attr_clr = clr};

	if (set == 0 && clr == 0)
		return 0; /* nothing to change: no syscall */
	if (mount_setattr(fd, "", at, &a, sizeof(a)) == 0)
		return 0;
	if (errno != EPERM || clr == 0)
		return -errno;
	a.attr_clr = 0;
	if (clr & MOUNT_ATTR__ATIME)
		a.attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
	if (a.attr_set == 0)
		return 0;
	if (mount_setattr(fd, "", at, &a, sizeof(a)) < 0)
		return -errno;
	return 0;
}

/* MS_BIND|MS_REMOUNT replaces every per-mount flag: start from the current ones so that only what
 * was asked changes, and if that fails add back everything the mount has (locked flags). */
static int remount_legacy(int mntfd, uint64_t set, uint64_t clr, struct berth_error *err)
{
	char p[64];
	unsigned long cur = 0, ms;
	int r;

	r = proc_fd_path_err(mntfd, p, sizeof(p), err);
	if (r < 0)
		return r;
	r = current_ms_flags(mntfd, &cur);
	if (r < 0)
		return berth_error_setf_errno(err, r, "statvfs");
	ms = (cur & ~attr_to_ms(clr)) | attr_to_ms(set);
	if (clr & MOUNT_ATTR__ATIME)
		ms = (ms & ~(unsigned long)(MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) |
		     atime_attr_to_ms(set);
	if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | ms, NULL) == 0)
		return 0;
	if (errno == EPERM && mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | ms | cur, NULL) == 0)
		return 0;
	return berth_error_setf_errno(err, -errno, "remount");
}

int mounts_setattr(const struct mount_ctx *ctx, int mntfd, uint64_t set, uint64_t clr, bool recursive,
		   struct berth_error *err)
{
	int r;

	if (set == 0 && clr == 0)
		return 0;
	if (!ctx->legacy) {
		r = setattr_keep_locked(mntfd, set, clr, recursive);
		if (r < 0)
			return berth_error_setf_errno(err, r, "mount_setattr");
		return 0;
	}
	if (recursive)
		return berth_error_set(err, -EOPNOTSUPP,
				       "recursive mount options need mount_setattr(2) (Linux 5.12)");
	return remount_legacy(mntfd, set, clr, err);
}

int mounts_propagate(const struct mount_ctx *ctx, int mntfd, unsigned long flags, struct berth_error *err)
{
	char p[64];
	int r;

	if (flags == 0)
		return 0;
	if (!ctx->legacy) {
		struct mount_attr a = {.propagation = flags & ~(unsigned long)MS_REC};
		unsigned int at = AT_EMPTY_PATH | ((flags & MS_REC) ? AT_RECURSIVE : 0);

		if (mount_setattr(mntfd, "", at, &a, sizeof(a)) < 0)
			return berth_error_setf_errno(err, -errno, "set propagation");
		return 0;
	}
	r = proc_fd_path_err(mntfd, p, sizeof(p), err);
	if (r < 0)
		return r;
	if (mount(NULL, p, NULL, flags, NULL) < 0)
		return berth_error_setf_errno(err, -errno, "set propagation");
	return 0;
}

int mounts_attach(const struct mount_ctx *ctx, int treefd, int dstfd, const char *path, int *ret_mntfd,
		  struct berth_error *err)
{
	uint64_t id = 0;

	if (move_mount(treefd, "", dstfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return berth_error_setf_errno(err, -errno, "move_mount");
	(void)rootfs_mount_id(treefd, &id);
	return reopen_mount(ctx, path, id, 0, ret_mntfd, err);
}

/* The requested attributes on the detached mount (tree) @tree. */
static int tree_attrs(int tree, const struct bind_req *req, struct berth_error *err)
{
	int r;

	if (req->idmap) {
		/* only a mount not attached anywhere yet can be idmapped */
		struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)req->userns_fd};

		if (mount_setattr(tree, "", AT_EMPTY_PATH | (req->idmap_recursive ? AT_RECURSIVE : 0), &a,
				  sizeof(a)) < 0)
			return berth_error_setf_errno(err, -errno, "idmap");
	}
	r = setattr_keep_locked(tree, req->attr_set, req->attr_clr, false);
	if (r < 0)
		return berth_error_setf_errno(err, r, "mount_setattr");
	if (req->rattr_set || req->rattr_clr) {
		struct mount_attr a = {.attr_set = req->rattr_set, .attr_clr = req->rattr_clr};

		if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
			return berth_error_setf_errno(err, -errno, "mount_setattr (recursive)");
	}
	return 0;
}

/* A detached copy of req->srcfd's mount (tree) with the requested attributes. */
static int clone_tree(const struct bind_req *req, int *ret_tree, struct berth_error *err)
{
	unsigned int rec = req->recursive ? AT_RECURSIVE : 0;
	_cleanup_close_ int tree =
	    open_tree(req->srcfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
	int r;

	if (tree < 0)
		return berth_error_setf_errno(err, -errno, "open_tree");
	r = tree_attrs(tree, req, err);
	if (r < 0)
		return r;
	*ret_tree = TAKE_FD(tree);
	return 0;
}

static int bind_legacy(const struct mount_ctx *ctx, const struct bind_req *req, int *ret_mntfd,
		       struct berth_error *err)
{
	_cleanup_close_ int mntfd = -EBADF;
	char src[64], dst[64];
	uint64_t before = 0;
	int r;

	if (req->idmap || req->rattr_set || req->rattr_clr)
		return berth_error_set(
		    err, -EOPNOTSUPP,
		    "idmapped mounts and recursive mount options need mount_setattr(2) (Linux 5.12)");
	r = proc_fd_path_err(req->srcfd, src, sizeof(src), err);
	if (r >= 0)
		r = proc_fd_path_err(req->dstfd, dst, sizeof(dst), err);
	if (r < 0)
		return r;
	(void)rootfs_mount_id(req->dstfd, &before);
	if (mount(src, dst, NULL, MS_BIND | (req->recursive ? MS_REC : 0), NULL) < 0)
		return berth_error_setf_errno(err, -errno, "bind mount");
	r = reopen_mount(ctx, req->path, 0, before, &mntfd, err);
	if (r < 0)
		return r;
	r = mounts_setattr(ctx, mntfd, req->attr_set, req->attr_clr, false, err);
	if (r < 0)
		return r;
	if (ret_mntfd)
		*ret_mntfd = TAKE_FD(mntfd);
	return 0;
}

int mounts_bind(const struct mount_ctx *ctx, const struct bind_req *req, int *ret_mntfd,
		struct berth_error *err)
{
	_cleanup_close_ int tree = -EBADF;
	int r;

	if (ctx->legacy)
		return bind_legacy(ctx, req, ret_mntfd, err);
	r = clone_tree(req, &tree, err);
	if (r < 0)
		return r;
	return mounts_attach(ctx, tree, req->dstfd, req->path, ret_mntfd, err);
}

int mounts_fs(const struct mount_ctx *ctx, const char *source, const char *type, unsigned long flags,
	      const char *data, int dstfd, const char *path, int *ret_mntfd, struct berth_error *err)
{
	char p[64];
	uint64_t before = 0;
	int r;

	r = proc_fd_path_err(dstfd, p, sizeof(p), err);
	if (r < 0)
		return r;
	(void)rootfs_mount_id(dstfd, &before);
	if (mount(source, p, type, flags, data && *data ? data : NULL) < 0)
		return berth_error_setf_errno(err, -errno, "mount %s", type);
	return reopen_mount(ctx, path, 0, (flags & MS_REMOUNT) ? 0 : before, ret_mntfd, err);
}

int mounts_tmpfs_ro(const struct mount_ctx *ctx, int dstfd, const char *path, struct berth_error *err)
{
	_cleanup_close_ int fs = -EBADF, mnt = -EBADF;

	if (ctx->legacy)
		return mounts_fs(ctx, "tmpfs", "tmpfs", MS_RDONLY, NULL, dstfd, path, NULL, err);
	/* the new API needs no /proc, which the container may not have */
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return berth_error_setf_errno(err, -errno, "fsopen tmpfs");
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return berth_error_setf_errno(err, -errno, "create tmpfs");
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (mnt < 0)
		return berth_error_setf_errno(err, -errno, "fsmount tmpfs");
	return mounts_attach(ctx, mnt, dstfd, path, NULL, err);
}

/* ---- idmapped mounts ---- */

static int write_id_map(int procfd, const char *file, const struct oci_id_mapping *maps, size_t n,
			struct berth_error *err)
{
	char buf[4096];
	size_t len = 0;
	_cleanup_close_ int fd = -EBADF;

	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", maps[i].container_id,
				 maps[i].host_id, maps[i].size);

		if (w < 0 || (size_t)w >= sizeof(buf) - len)
			return berth_error_set(err, -E2BIG, "idmap: too many %s entries", file);
		len += (size_t)w;
	}
	fd = openat(procfd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return berth_error_setf_errno(err, -errno, "idmap: write %s", file);
	return 0;
}

/* In the helper: tell the parent our pid as the mounted /proc sees it (it may be another pid
 * namespace's procfs), then wait to be killed. */
static _Noreturn void userns_helper(int fd)
{
	char buf[32];
	ssize_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	n = readlink("/proc/self", buf, sizeof(buf));
	if (n > 0 && write(fd, buf, (size_t)n) == n)
		for (;;)
			pause();
	_exit(1);
}

static int userns_configure(int pid_pipe, const struct oci_mount *m, int *ret_fd, struct berth_error *err)
{
	char buf[32], dir[64];
	_cleanup_close_ int procfd = -EBADF;
	ssize_t n = read(pid_pipe, buf, sizeof(buf) - 1);
	int r, fd;

	if (n <= 0)
		return berth_error_set(err, -ECHILD, "idmap: user namespace helper failed");
	buf[n] = '\0';
	snprintf(dir, sizeof(dir), "/proc/%s", buf);
	procfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return berth_error_setf_errno(err, -errno, "idmap: open %s", dir);
	r = write_id_map(procfd, "uid_map", m->uid_mappings, m->n_uid_mappings, err);
	if (r >= 0)
		r = write_id_map(procfd, "gid_map", m->gid_mappings, m->n_gid_mappings, err);
	if (r < 0)
		return r;
	fd = openat(procfd, "ns/user", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "idmap: open user namespace");
	*ret_fd = fd;
	return 0;
}

/* The user namespace that gives an idmapped mount its mapping: a new one with the mount's
 * uidMappings/gidMappings, held by a short-lived child; without mappings, the container's own. */
static int idmap_userns(const struct oci_mount *m, int *ret_fd, struct berth_error *err)
{
	int p[2], status, r;
	pid_t pid;

	if (m->n_uid_mappings == 0 && m->n_gid_mappings == 0) {
		int fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return berth_error_setf_errno(err, -errno, "idmap: open /proc/self/ns/user");
		*ret_fd = fd;
		return 0;
	}
	if (m->n_uid_mappings == 0 || m->n_gid_mappings == 0)
		return berth_error_set(err, -EINVAL, "idmap: both uidMappings and gidMappings are needed");
	if (pipe2(p, O_CLOEXEC) < 0)
		return berth_error_setf_errno(err, -errno, "idmap: pipe");
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0);
	if (pid == 0) {
		close(p[0]);
		userns_helper(p[1]);
	}
	close(p[1]);
	if (pid < 0)
		r = berth_error_setf_errno(err, -errno, "idmap: clone user namespace");
	else
		r = userns_configure(p[0], m, ret_fd, err);
	close(p[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return r;
}

/* ---- one config mount ---- */

struct entry {
	const struct mount_ctx *ctx;
	const struct oci_mount *m;
	const char *type; /* "" when absent */
	bool bind;
	bool full_message;   /* err already names the mount index */
	char dest[PATH_MAX]; /* the destination, normalised */
	struct mount_spec spec;
};

/* Files under /proc that LXCFS-like tools legitimately replace; anything else mounted inside a
 * procfs could hide or redirect kernel interfaces (as runc). */
static const char *const proc_mount_allowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",    "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

static int check_proc_dest(const struct entry *e, int dstfd, int srcfd, struct berth_error *err)
{
	struct statfs sfs;

	if (strcmp(e->dest, "/proc") == 0) {
		if (!e->bind && strcmp(e->type, "proc") == 0)
			return 0;
		if (e->bind && fstatfs(srcfd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC)
			return 0;
		return berth_error_set(err, -EPERM, "only a proc filesystem can be mounted on /proc");
	}
	if (fstatfs(dstfd, &sfs) < 0)
		return berth_error_setf_errno(err, -errno, "statfs destination");
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(proc_mount_allowed); i++)
		if (strcmp(e->dest, proc_mount_allowed[i]) == 0)
			return 0;
	return berth_error_set(err, -EPERM, "the destination is inside /proc");
}

/* proc and sysfs go on a real directory only, as runc requires: a symlink there (an image's /proc
 * -> /tmp/x) would put the kernel's files somewhere else in the rootfs, where every later check
 * on /proc or /sys (maskedPaths, readonlyPaths, sysctl) would look at the wrong thing. The
 * destination was opened without following a trailing symlink, so what is checked here is what
 * gets mounted on. */
static bool is_kernfs(const struct entry *e)
{
	return !e->bind && (strcmp(e->type, "proc") == 0 || strcmp(e->type, "sysfs") == 0);
}

static int check_kernfs_dest(const struct entry *e, int dstfd, struct berth_error *err)
{
	struct stat st;

	if (!is_kernfs(e))
		return 0;
	if (fstat(dstfd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "stat destination");
	if (S_ISDIR(st.st_mode))
		return 0;
	return berth_error_set(err, -ENOTDIR,
			       "filesystem \"%s\" must be mounted on ordinary directory: %s is %s", e->type,
			       e->dest, S_ISLNK(st.st_mode) ? "a symlink in the rootfs" : "not a directory");
}

static int open_dest(const struct entry *e, unsigned int mk, int srcfd, int *ret_fd, struct berth_error *err)
{
	int flags = O_PATH | (is_kernfs(e) ? O_NOFOLLOW : 0);
	int r = rootfs_resolve(e->ctx->rootfd, e->dest, mk | mount_ctx_resolve_flags(e->ctx), flags, ret_fd);

	if (r < 0)
		return berth_error_setf_errno(err, r, "create mount point");
	r = check_kernfs_dest(e, *ret_fd, err);
	if (r >= 0)
		r = check_proc_dest(e, *ret_fd, srcfd, err);
	if (r < 0) {
		close(*ret_fd);
		*ret_fd = -EBADF;
	}
	return r;
}

/* After the mount: recursive attributes of a non-bind mount, then propagation. */
static int finish_entry(const struct entry *e, int mntfd, struct berth_error *err)
{
	int r = 0;

	if (!e->bind && (e->spec.rattr_set || e->spec.rattr_clr))
		r = mounts_setattr(e->ctx, mntfd, e->spec.rattr_set, e->spec.rattr_clr, true, err);
	if (r >= 0)
		r = mounts_propagate(e->ctx, mntfd, e->spec.propagation, err);
	return r;
}

/* A bind starts with its source's flags. The options add restrictions (ro, nosuid, ...); a clearing
 * option (rw, suid, dev, exec) only means "do not add it": a bind never lifts a restriction of its
 * source, so "rbind,rw" of a read-only mount stays read-only (as with runc, which remounts only for
 * setting options). Only the atime mode is replaced when one is named. */
static void bind_attrs(const struct mount_spec *s, uint64_t *ret_set, uint64_t *ret_clr)
{
	*ret_set = mount_ms_to_attr(s->flags);
	*ret_clr = 0;
	if (s->atime != NO_ATIME_CHANGE) {
		*ret_clr |= MOUNT_ATTR__ATIME;
		*ret_set |= (uint64_t)s->atime;
	}
}

static int open_source(struct entry *e, size_t index, int *ret_fd, struct berth_error *err)
{
	int fd;

	if (!e->m->source || !*e->m->source)
		return berth_error_set(err, -EINVAL, "bind mount without a source");
	fd = open(e->m->source, O_PATH | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		e->full_message = true;
		return berth_error_set(err, -ENOENT, "mounts[%zu]: mount source '%s' does not exist", index,
				       e->m->source);
	}
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open mount source '%s'", e->m->source);
	*ret_fd = fd;
	return 0;
}

/* The source `create` opened as the runtime (user namespaces: bindsrc.h), a detached mount that
 * is configured and attached as it is: cloning it again from here could be refused, as it was
 * made in the runtime's mount namespace. Returns 1 when there is one, 0 when not. */
static int take_tree(const struct entry *e, size_t index, int *ret_fd)
{
	if (!e->ctx->bind_trees || e->ctx->bind_trees[index] < 0)
		return 0;
	*ret_fd = e->ctx->bind_trees[index]; /* the init's own copy of the descriptor */
	return 1;
}

static int bind_detached(const struct mount_ctx *ctx, const struct bind_req *req, int *ret_mntfd,
			 struct berth_error *err)
{
	int r = tree_attrs(req->srcfd, req, err);

	if (r < 0)
		return r;
	return mounts_attach(ctx, req->srcfd, req->dstfd, req->path, ret_mntfd, err);
}

static int bind_entry(struct entry *e, size_t index, struct berth_error *err)
{
	_cleanup_close_ int srcfd = -EBADF, dstfd = -EBADF, userns = -EBADF, mntfd = -EBADF;
	struct bind_req req = {.path = e->dest, .userns_fd = -EBADF};
	struct stat st;
	int detached = take_tree(e, index, &srcfd);
	int r;

	r = detached ? 0 : open_source(e, index, &srcfd, err);
	if (r < 0)
		return r;
	/* mount(2) ignores the data string of a bind, and runc and crun pass it along unused: a
	 * filesystem option such as "mode=755" on a bind is ignored, not refused (issue 13 #10) */
	if (e->spec.data_opt)
		log_debug("mounts[%zu] (%s): ignoring the bind mount option(s) '%s'", index, e->dest,
			  e->spec.data);
	if (fstat(srcfd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "stat mount source '%s'", e->m->source);
	r = open_dest(e, S_ISDIR(st.st_mode) ? ROOTFS_RESOLVE_MKDIR : ROOTFS_RESOLVE_MKFILE, srcfd, &dstfd,
		      err);
	if (r < 0)
		return r;
	bind_attrs(&e->spec, &req.attr_set, &req.attr_clr);
	if (e->spec.flags & MS_REMOUNT) /* only change the flags of what is mounted there already */
		return mounts_setattr(e->ctx, dstfd, req.attr_set, req.attr_clr, false, err);
	if (e->spec.idmap || e->spec.ridmap) {
		r = idmap_userns(e->m, &userns, err);
		if (r < 0)
			return r;
	}
	req.srcfd = srcfd;
	req.dstfd = dstfd;
	req.recursive = e->spec.flags & MS_REC;
	req.rattr_set = e->spec.rattr_set;
	req.rattr_clr = e->spec.rattr_clr;
	req.idmap = e->spec.idmap || e->spec.ridmap;
	req.idmap_recursive = e->spec.ridmap;
	req.userns_fd = userns;
	r = detached ? bind_detached(e->ctx, &req, &mntfd, err) : mounts_bind(e->ctx, &req, &mntfd, err);
	if (r < 0)
		return r;
	return finish_entry(e, mntfd, err);
}

/* sysfs and cgroup2 cannot always be mounted in a user namespace (sysfs needs a network namespace
 * owned by it, cgroup2 a cgroup namespace): bind the host's instead, read-only throughout when
 * asked, as runc does. */
static int bind_host_fs(const struct entry *e, const char *host, int dstfd, unsigned long flags,
			int *ret_mntfd, struct berth_error *err)
{
	_cleanup_close_ int srcfd = open(host, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct bind_req req = {
	    .dstfd = dstfd,
	    .path = e->dest,
	    .recursive = true,
	    .attr_set = mount_ms_to_attr(flags),
	    .rattr_set = (!e->ctx->legacy && (flags & MS_RDONLY)) ? MOUNT_ATTR_RDONLY : 0,
	    .userns_fd = -EBADF,
	};

	if (srcfd < 0)
		return berth_error_setf_errno(err, -errno, "open host %s", host);
	req.srcfd = srcfd;
	berth_error_clear(err);
	return mounts_bind(e->ctx, &req, ret_mntfd, err);
}

/* The host's cgroup v2 hierarchy: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid). */
static const char *host_cgroup2(void)
{
	static const char *const candidates[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	struct statfs sfs;

	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
		if (statfs(candidates[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
			return candidates[i];
	return NULL;
}

static int fs_mount(const struct entry *e, int dstfd, unsigned long flags, int *ret_mntfd,
		    struct berth_error *err)
{
	const struct mount_spec *s = &e->spec;
	const char *source = e->m->source && *e->m->source ? e->m->source : e->type;
	int r;

	if ((strcmp(e->type, "cgroup") == 0 || strcmp(e->type, "cgroup2") == 0) && e->ctx->cg)
		return cgroup_mount_view(e->ctx, source, e->type, flags, s->data, dstfd, e->dest, ret_mntfd,
					 err);
	if (strcmp(e->type, "cgroup") == 0 || strcmp(e->type, "cgroup2") == 0) {
		/* a v1 "cgroup" mount gets the unified hierarchy too: berth runs containers on
		 * cgroup v2 only, and a hybrid host has one */
		r = mounts_fs(e->ctx, source, "cgroup2", flags, s->data, dstfd, e->dest, ret_mntfd, err);
		if ((r == -EPERM || r == -EBUSY) && host_cgroup2())
			r = bind_host_fs(e, host_cgroup2(), dstfd, flags, ret_mntfd, err);
		return r;
	}
	r = mounts_fs(e->ctx, source, e->type, flags, s->data, dstfd, e->dest, ret_mntfd, err);
	if (r == -EPERM && e->ctx->userns && strcmp(e->type, "sysfs") == 0)
		r = bind_host_fs(e, "/sys", dstfd, flags, ret_mntfd, err);
	return r;
}

static bool options_have_prefix(char *const *options, const char *prefix)
{
	for (size_t i = 0; options && options[i]; i++)
		if (strncmp(options[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/* tmpcopyup: the new tmpfs @mntfd gets what the image has in @srcdir (the directory it now hides),
 * and its root the original directory's mode and owner unless the options set them; a read-only
 * tmpfs was mounted writable for the copy and turns read-only now. */
static int tmpcopyup_entry(const struct entry *e, int srcdir, int mntfd, bool ro, struct berth_error *err)
{
	_cleanup_close_ int dst = openat(mntfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *const *o = e->m->options;
	int r;

	if (dst < 0)
		return berth_error_setf_errno(err, -errno, "tmpcopyup: open the new tmpfs");
	r = tmpcopyup_copy(srcdir, dst, NULL, err);
	if (r >= 0)
		r = tmpcopyup_copy_root_attrs(
		    srcdir, dst, options_have_prefix(o, "mode="),
		    options_have_prefix(o, "uid=") || options_have_prefix(o, "gid="), err);
	if (r >= 0 && ro)
		r = mounts_setattr(e->ctx, mntfd, MOUNT_ATTR_RDONLY, 0, false, err);
	return r;
}

/* The directory a tmpcopyup tmpfs will hide, opened before the mount; -EBADF when there is no
 * copy to make (runc applies tmpcopyup to tmpfs only and ignores it elsewhere). */
static int tmpcopyup_open_source(const struct entry *e, int dstfd, int *ret_fd, struct berth_error *err)
{
	*ret_fd = -EBADF;
	if (!e->spec.tmpcopyup)
		return 0;
	if (strcmp(e->type, "tmpfs") != 0) {
		log_debug("mount option tmpcopyup ignored on a %s mount", e->type);
		return 0;
	}
	*ret_fd = openat(dstfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*ret_fd < 0)
		return berth_error_setf_errno(err, -errno, "tmpcopyup: open the destination directory");
	return 0;
}

static int fs_entry(struct entry *e, struct berth_error *err)
{
	_cleanup_close_ int dstfd = -EBADF, mntfd = -EBADF, copysrc = -EBADF;
	unsigned long flags = e->spec.flags & ~(unsigned long)(MS_BIND | MS_REC);
	bool ro = false;
	int r;

	if (!*e->type)
		return berth_error_set(err, -EINVAL, "no mount type and no bind option");
	if (e->spec.idmap || e->spec.ridmap)
		return berth_error_set(err, -EINVAL, "idmap is only supported for bind mounts");
	r = open_dest(e, ROOTFS_RESOLVE_MKDIR, -EBADF, &dstfd, err);
	if (r >= 0)
		r = tmpcopyup_open_source(e, dstfd, &copysrc, err);
	if (r < 0)
		return r;
	/* /dev is made read-only after the devices are created in it (devices_setup), a tmpcopyup
	 * tmpfs after the copy */
	if (strcmp(e->dest, "/dev") == 0 || copysrc >= 0) {
		ro = copysrc >= 0 && (flags & MS_RDONLY);
		flags &= ~(unsigned long)MS_RDONLY;
	}
	r = lsm_mount_data(e->type, e->ctx->mount_label, e->spec.data, sizeof(e->spec.data), err);
	if (r == 0)
		r = fs_mount(e, dstfd, flags, &mntfd, err);
	if (r == 0 && strcmp(e->type, "mqueue") == 0)
		r = lsm_label_mount_root(mntfd, e->ctx->mount_label, err);
	if (r >= 0 && copysrc >= 0)
		r = tmpcopyup_entry(e, copysrc, mntfd, ro, err);
	if (r < 0)
		return r;
	return finish_entry(e, mntfd, err);
}

static int entry_init(struct entry *e, const struct mount_ctx *ctx, const struct oci_mount *m,
		      struct berth_error *err)
{
	int r;

	e->ctx = ctx;
	e->m = m;
	e->type = m->type ? m->type : "";
	if (rootfs_path_clean(m->destination, e->dest, sizeof(e->dest)) < 0)
		return berth_error_set(err, -EINVAL, "destination is not an absolute path");
	r = parse_options(m->options, &e->spec, err);
	if (r < 0)
		return r;
	e->bind = strcmp(e->type, "bind") == 0 || (e->spec.flags & MS_BIND);
	return 0;
}

int mounts_mount_entry(const struct mount_ctx *ctx, const struct oci_mount *m, size_t index,
		       struct berth_error *err)
{
	_cleanup_free_ struct entry *e = calloc(1, sizeof(*e));
	int r;

	if (!e)
		return berth_error_set(err, -ENOMEM, "mounts[%zu]: out of memory", index);
	r = entry_init(e, ctx, m, err);
	if (r >= 0)
		r = e->bind ? bind_entry(e, index, err) : fs_entry(e, err);
	if (r < 0 && !e->full_message)
		berth_error_prefix(err, "mounts[%zu] (%s)", index, m->destination ? m->destination : "");
	return r;
}

/* ---- /dev ---- */

static bool options_have(char *const *options, const char *name)
{
	for (size_t i = 0; options && options[i]; i++)
		if (strcmp(options[i], name) == 0)
			return true;
	return false;
}

const struct oci_mount *mounts_find_dev(const struct oci_config *config, bool *ret_readonly)
{
	const struct oci_mount *found = NULL;
	char dest[PATH_MAX];

	for (size_t i = 0; i < config->n_mounts; i++) {
		const struct oci_mount *m = &config->mounts[i];

		if (rootfs_path_clean(m->destination, dest, sizeof(dest)) < 0 || strcmp(dest, "/dev") != 0)
			continue;
		if ((m->type && strcmp(m->type, "bind") == 0) || options_have(m->options, "bind") ||
		    options_have(m->options, "rbind")) {
			found = NULL; /* a bind mount of /dev is used as it is, as runc does */
			continue;
		}
		found = m;
	}
	if (found && ret_readonly) {
		*ret_readonly = false;
		for (size_t i = 0; found->options && found->options[i]; i++) {
			if (strcmp(found->options[i], "ro") == 0)
				*ret_readonly = true;
			else if (strcmp(found->options[i], "rw") == 0)
				*ret_readonly = false;
		}
	}
	return found;
}
