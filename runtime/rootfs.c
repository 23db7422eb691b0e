/* The root filesystem phase of container setup: resolving paths inside the rootfs, preparing the
 * rootfs (propagation, self bind, config mounts, /dev), pivot_root, and the finishing steps after
 * it (sysctl, maskedPaths, readonlyPaths, root.readonly, rootfsPropagation).
 *
 * Everything here runs in the container's child process, inside its new mount namespace. Paths
 * inside the rootfs are never built by string concatenation: they are resolved from a descriptor of
 * the root with RESOLVE_IN_ROOT semantics, so a symlink in the image cannot point a mount outside
 * (CVE-2021-30465). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/resolve.h"
#include "internal.h"

/* ---- path helpers ---- */

int rootfs_mount_id(int fd, uint64_t *ret_id)
{
	return inroot_mount_id(fd, ret_id);
}

int rootfs_path_clean(const char *path, char *buf, size_t size)
{
	size_t len = 0;

	if (!path || path[0] != '/')
		return -EINVAL;
	if (size < 2)
		return -ENAMETOOLONG;
	while (*path) {
		size_t n;

		path += strspn(path, "/");
		n = strcspn(path, "/");
		if (n == 0 || (n == 1 && path[0] == '.')) {
			path += n;
			continue;
		}
		if (n == 2 && path[0] == '.' && path[1] == '.') {
			while (len > 0 && buf[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* and the '/' before the dropped component */
			path += n;
			continue;
		}
		if (len + 1 + n + 1 > size)
			return -ENAMETOOLONG;
		buf[len++] = '/';
		memcpy(buf + len, path, n);
		len += n;
		path += n;
	}
	if (len == 0)
		buf[len++] = '/';
	buf[len] = '\0';
	return 0;
}

/* ---- resolving inside the rootfs: common's resolver (include/berth/resolve.h) ---- */

int rootfs_resolve(int rootfd, const char *path, unsigned int flags, int open_flags, int *ret_fd)
{
	if (!path || !*path)
		return -ENOENT;
	return inroot_resolve(rootfd, path, flags, open_flags, NULL, ret_fd);
}

/* ---- rootfs_prepare ---- */

/* "/" becomes rslave (or rootfsPropagation) so nothing mounted for the container reaches the host,
 * while host mounts still reach the container; this is runc's default. */
static int set_root_propagation(const struct oci_config *config, struct berth_error *err)
{
	unsigned long flags = MS_SLAVE | MS_REC;
	const char *name = config->has_linux ? config->linux_.rootfs_propagation : NULL;

	if (name && mounts_propagation_flags(name, &flags) < 0)
		return berth_error_set(err, -EINVAL, "linux.rootfsPropagation: unknown value '%s'", name);
	/* an unbindable "/" could not be bound onto itself below: it starts rslave and finalize_root
	 * makes the container's "/" unbindable after pivot, as crun does (issue 13 #9) */
	if (flags & MS_UNBINDABLE) {
		flags = MS_SLAVE | MS_REC;
		name = "rslave";
	}
	if (mount(NULL, "/", NULL, flags, NULL) < 0)
		return berth_error_setf_errno(err, -errno, "make / %s", name ? name : "rslave");
	return 0;
}

/* Undo the octal escapes (\040 for a space) of a /proc/self/mountinfo field, in place. */
static void mountinfo_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* pivot_root(2) fails with EINVAL when the parent mount of the new root is shared, and a shared
 * parent would also carry the rootfs bind to its peers: make the mount holding the rootfs private
 * when it is shared (only with a shared rootfsPropagation; rslave already ended sharing). */
static int make_parent_private(const char *rootfs, struct berth_error *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	_cleanup_close_ int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	size_t cap = 0;
	uint64_t id = 0;
	int r;

	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open rootfs '%s'", rootfs);
	r = rootfs_mount_id(fd, &id);
	if (r == -EOPNOTSUPP)
		return 0; /* no mount ids (Linux < 5.8): pivot_root reports a shared parent itself */
	if (r < 0)
		return berth_error_setf_errno(err, r, "mount id of rootfs '%s'", rootfs);
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return berth_error_setf_errno(err, -errno, "open /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX], *sep = strstr(line, " - ");
		unsigned long long mid;

		if (sscanf(line, "%llu %*u %*s %*s %4095s", &mid, mp) != 2 || mid != id)
			continue;
		if (!sep || !strstr(line, " shared:") || strstr(line, " shared:") > sep)
			return 0;
		mountinfo_unescape(mp);
		if (mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
			return berth_error_setf_errno(err, -errno, "make '%s' private", mp);
		return 0;
	}
	return 0;
}

/* A detached copy of the host's /dev/null, checked to be the null device, for maskedPaths: the
 * container's /dev/null may have been replaced by a symlink or a file (CVE-2025-31133). */
static int stash_host_devnull(const struct rootfs_opts *opts)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int tree;

	if (!opts->host_devnull_fd || opts->legacy_api)
		return 0;
	fd = open("/dev/null", O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return 0; /* rootfs_finalize falls back to a verified container /dev/null */
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return 0;
	tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return 0;
	if (*opts->host_devnull_fd >= 0)
		close(*opts->host_devnull_fd);
	*opts->host_devnull_fd = tree;
	return 0;
}

static int mount_all(const struct mount_ctx *ctx, const struct oci_config *config, struct berth_error *err)
{
	for (size_t i = 0; i < config->n_mounts; i++) {
		int r = mounts_mount_entry(ctx, &config->mounts[i], i, err);

		if (r < 0)
			return r;
	}
	return devices_setup(ctx, config, err);
}

int rootfs_prepare(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err)
{
	_cleanup_close_ int rootfd = -EBADF;
	struct mount_ctx ctx;
	int r;

	r = set_root_propagation(config, err);
	if (r < 0)
		return r;
	r = make_parent_private(opts->rootfs, err);
	if (r < 0)
		return r;
	/* pivot_root needs the new root to be a mount point; MS_REC keeps what is mounted below */
	if (mount(opts->rootfs, opts->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berth_error_setf_errno(err, -errno, "bind mount rootfs '%s'", opts->rootfs);
	rootfd = open(opts->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berth_error_setf_errno(err, -errno, "open rootfs '%s'", opts->rootfs);
	ctx = (struct mount_ctx){
	    .rootfd = rootfd,
	    .legacy = opts->legacy_api,
	    .userns = opts->userns,
	    .new_cgroupns = opts->new_cgroupns,
	    .mount_label = config->has_linux ? config->linux_.mount_label : NULL,
	    .bind_trees = opts->bind_trees,
	    .cg = opts->cg,
	};
	r = mount_all(&ctx, config, err);
	if (r < 0)
		return r;
	return stash_host_devnull(opts);
}

/* ---- rootfs_pivot ---- */

/* ---- --no-pivot: hide the full proc and sysfs instances outside the rootfs ---- */

/* The kernel lets a user namespace mount a new procfs or sysfs only if the mount namespace already
 * shows one in full (mount_too_revealing). With --no-pivot the host's /proc and /sys stay in the
 * container's mount namespace below the moved rootfs: invisible after the chroot, but enough for
 * `unshare -mrpf mount -t proc proc /proc` in the container to mount an unmasked procfs. So, as
 * runc does, every full (root "/") proc or sysfs mount outside the rootfs is detached, or covered
 * with a tmpfs where it cannot be (a locked mount in a user namespace), before the move. */
static bool hide_candidate(const char *line, const char *rootfs, char *ret_mp, size_t size)
{
	char root[PATH_MAX], mp[PATH_MAX], fstype[64];
	const char *sep = strstr(line, " - ");
	size_t n = strlen(rootfs);

	if (!sep || sscanf(line, "%*u %*u %*s %4095s %4095s", root, mp) != 2 ||
	    sscanf(sep, " - %63s", fstype) != 1)
		return false;
	if (strcmp(root, "/") != 0 || (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs") != 0))
		return false;
	mountinfo_unescape(mp);
	if (strncmp(mp, rootfs, n) == 0 && (mp[n] == '/' || mp[n] == '\0'))
		return false; /* the container's own */
	snprintf(ret_mp, size, "%s", mp);
	return true;
}

static int hide_mount(const char *mp, struct berth_error *err)
{
	/* slave first, so that the detach does not propagate to the host (rshared roots) */
	if (mount(NULL, mp, NULL, MS_SLAVE | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return 0; /* below a mount already detached */
		return berth_error_setf_errno(err, -errno, "--no-pivot: make '%s' rslave", mp);
	}
	if (umount2(mp, MNT_DETACH) == 0)
		return 0;
	if (errno != EINVAL && errno != EPERM)
		return berth_error_setf_errno(err, -errno, "--no-pivot: detach '%s'", mp);
	if (mount("tmpfs", mp, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k") < 0)
		return berth_error_setf_errno(err, -errno, "--no-pivot: cover '%s' with a tmpfs", mp);
	return 0;
}

static int hide_host_kernfs(const char *rootfs, struct berth_error *err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL, *all = NULL;
	size_t cap = 0, len = 0;
	int r = 0;

	if (!f)
		return berth_error_setf_errno(err, -errno, "--no-pivot: open /proc/self/mountinfo");
	/* the mount points first (parents before children, as mountinfo lists them), then the
	 * detaching: /proc itself may be among them */
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX];
		char *grown;

		if (!hide_candidate(line, rootfs, mp, sizeof(mp)))
			continue;
		grown = realloc(all, len + strlen(mp) + 1);
		if (!grown)
			return berth_error_set(err, -ENOMEM, "out of memory");
		all = grown;
		memcpy(all + len, mp, strlen(mp) + 1);
		len += strlen(mp) + 1;
	}
	for (size_t off = 0; r == 0 && off < len; off += strlen(all + off) + 1)
		r = hide_mount(all + off, err);
	return r;
}

/* --no-pivot (e.g. a ramdisk root, where pivot_root is impossible): move the rootfs over "/" and
 * chroot into it. The old root stays below the rootfs in the mount namespace, without the host's
 * proc and sysfs instances (hide_host_kernfs). */
static int move_root(const char *rootfs, struct berth_error *err)
{
	int r = hide_host_kernfs(rootfs, err);

	if (r < 0)
		return r;
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return berth_error_setf_errno(err, -errno, "move rootfs to /");
	if (chroot(".") < 0)
		return berth_error_setf_errno(err, -errno, "chroot");
	if (chdir("/") < 0)
		return berth_error_setf_errno(err, -errno, "chdir /");
	return 0;
}

/* pivot_root(".", "."): the old root ends up stacked on the new one, so no put_old directory is
 * needed inside the image. "." is then ambiguous (the kernel keeps cwd on the new root), so the old
 * root is reached through a descriptor opened before, as runc does. */
static int pivot(int oldroot, int newroot, struct berth_error *err)
{
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return berth_error_setf_errno(err, -errno, "pivot_root");
	if (fchdir(oldroot) < 0)
		return berth_error_setf_errno(err, -errno, "chdir to the old root");
	/* the old root may share mounts with the host: make it a slave first so that detaching
	 * it does not unmount anything there */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return berth_error_setf_errno(err, -errno, "make the old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return berth_error_setf_errno(err, -errno, "detach the old root");
	if (fchdir(newroot) < 0 || chdir("/") < 0)
		return berth_error_setf_errno(err, -errno, "chdir /");
	return 0;
}

int rootfs_chroot(const struct rootfs_opts *opts, struct berth_error *err)
{
	_cleanup_close_ int fd = open(opts->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open rootfs '%s'", opts->rootfs);
	if (fchdir(fd) < 0)
		return berth_error_setf_errno(err, -errno, "chdir to rootfs '%s'", opts->rootfs);
	if (chroot(".") < 0)
		return berth_error_setf_errno(err, -errno, "chroot to rootfs '%s'", opts->rootfs);
	if (chdir("/") < 0)
		return berth_error_setf_errno(err, -errno, "chdir /");
	return 0;
}

int rootfs_pivot(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err)
{
	_cleanup_close_ int newroot = open(opts->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	(void)config;
	if (opts->chroot_only)
		return rootfs_chroot(opts, err);
	if (newroot < 0)
		return berth_error_setf_errno(err, -errno, "open rootfs '%s'", opts->rootfs);
	if (oldroot < 0)
		return berth_error_setf_errno(err, -errno, "open /");
	if (fchdir(newroot) < 0)
		return berth_error_setf_errno(err, -errno, "chdir to rootfs '%s'", opts->rootfs);
	if (opts->no_pivot)
		return move_root(opts->rootfs, err);
	return pivot(oldroot, newroot, err);
}

/* ---- rootfs_finalize ---- */

/* "net.ipv4.ip_forward" -> "net/ipv4/ip_forward", with sysctl(8)'s rule for names holding a dot:
 * in the dot form a '/' stands for a '.' ("net.ipv4.conf.eth0/100.forwarding"), and a key whose
 * first separator is '/' is a path already ("net/ipv4/conf/eth0.100/forwarding"). Empty, "." and
 * ".." components are refused. */
static int sysctl_key_path(const char *key, char *buf, size_t size)
{
	bool dot_form = key[strcspn(key, "./")] == '.';
	size_t len = strlen(key);

	if (len == 0 || len >= size)
		return -EINVAL;
	for (size_t i = 0; i <= len; i++) {
		char c = key[i];

		if (dot_form && (c == '.' || c == '/'))
			c = c == '.' ? '/' : '.';
		buf[i] = c;
	}
	for (const char *p = buf;; p++) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p += n;
		if (*p == '\0')
			return 0;
	}
}

/* /proc/sys, checked to be on procfs: the sysctl writes must not be redirected to another
 * filesystem by something the image or a hook mounted (CVE-2025-52881). */
static int open_proc_sys(const struct mount_ctx *ctx, int *ret_fd, struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	struct statfs sfs;
	int r;

	r = rootfs_resolve(ctx->rootfd, "/proc/sys",
			   mount_ctx_resolve_flags(ctx) | ROOTFS_RESOLVE_NO_SYMLINKS, O_PATH | O_DIRECTORY,
			   &fd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "linux.sysctl: open /proc/sys");
	if (fstatfs(fd, &sfs) < 0)
		return berth_error_setf_errno(err, -errno, "linux.sysctl: statfs /proc/sys");
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return berth_error_set(err, -EXDEV,
				       "linux.sysctl: /proc/sys is not on procfs (mount proc on /proc)");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int write_sysctl(const struct mount_ctx *ctx, int sysfd, const struct oci_kv *kv,
			struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	char rel[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	int r;

	if (sysctl_key_path(kv->key, rel, sizeof(rel)) < 0)
		return berth_error_set(err, -EINVAL, "linux.sysctl: invalid key '%s'", kv->key);
	/* no symlink, no mount crossing below /proc/sys: the file opened is the kernel's own */
	r = rootfs_resolve(sysfd, rel,
			   mount_ctx_resolve_flags(ctx) | ROOTFS_RESOLVE_NO_SYMLINKS | ROOTFS_RESOLVE_NO_XDEV,
			   O_WRONLY | O_NOCTTY, &fd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "linux.sysctl '%s': open /proc/sys/%s", kv->key, rel);
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "linux.sysctl '%s': stat", kv->key);
	if (sfs.f_type != PROC_SUPER_MAGIC || !S_ISREG(st.st_mode))
		return berth_error_set(err, -EXDEV, "linux.sysctl '%s': /proc/sys/%s is not a procfs file",
				       kv->key, rel);
	if (write(fd, kv->value, strlen(kv->value)) < 0)
		return berth_error_setf_errno(err, -errno, "linux.sysctl '%s': write '%s'", kv->key,
					      kv->value);
	return 0;
}

static int write_sysctls(const struct mount_ctx *ctx, const struct oci_linux *lx, struct berth_error *err)
{
	_cleanup_close_ int sysfd = -EBADF;
	int r;

	if (lx->n_sysctl == 0)
		return 0;
	r = open_proc_sys(ctx, &sysfd, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < lx->n_sysctl; i++) {
		r = write_sysctl(ctx, sysfd, &lx->sysctl[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* readonlyPaths entry: bind onto itself (with submounts), then the whole new tree read-only.
 * A missing path is skipped. */
static int readonly_path(const struct mount_ctx *ctx, const char *path, struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF, mntfd = -EBADF;
	int r;

	r = rootfs_resolve(ctx->rootfd, path, mount_ctx_resolve_flags(ctx), O_PATH, &fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "readonlyPaths '%s': open", path);
	if (ctx->legacy) {
		/* mount(2) cannot make a tree read-only at once: the top mount, as runc does */
		r = mounts_bind(ctx,
				&(struct bind_req){.srcfd = fd, .dstfd = fd, .path = path, .recursive = true},
				&mntfd, err);
		if (r >= 0)
			r = mounts_setattr(ctx, mntfd, MOUNT_ATTR_RDONLY, 0, false, err);
	} else {
		r = mounts_bind(ctx,
				&(struct bind_req){.srcfd = fd,
						   .dstfd = fd,
						   .path = path,
						   .recursive = true,
						   .rattr_set = MOUNT_ATTR_RDONLY},
				NULL, err);
	}
	if (r < 0)
		return berth_error_prefix(err, "readonlyPaths '%s'", path);
	return 0;
}

/* The container's /dev/null, if it really is the null device (char 1:3). */
static int open_container_devnull(const struct mount_ctx *ctx, int *ret_fd, struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	r = rootfs_resolve(ctx->rootfd, "/dev/null",
			   mount_ctx_resolve_flags(ctx) | ROOTFS_RESOLVE_NO_SYMLINKS, O_PATH, &fd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "maskedPaths: open /dev/null");
	if (fstat(fd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "maskedPaths: stat /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return berth_error_set(err, -EPERM,
				       "maskedPaths: /dev/null in the container is not the null device");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

struct masker {
	int devnull_fd; /* source of file masks: host clone (detached until first use) or verified */
	bool owned;     /* devnull_fd belongs to this struct (container's /dev/null) */
	bool detached;  /* devnull_fd is the host clone not attached anywhere yet */
};

/* Bind /dev/null over a masked file. The detached host clone is attached by the first mask; the
 * next ones clone that mount, which works on every kernel with open_tree (cloning a detached mount
 * needs a recent one). */
static int mask_file(const struct mount_ctx *ctx, struct masker *mk, int fd, const char *path,
		     struct berth_error *err)
{
	int r;

	if (mk->devnull_fd < 0) {
		r = open_container_devnull(ctx, &mk->devnull_fd, err);
		if (r < 0)
			return r;
		mk->owned = true;
	}
	if (mk->detached) {
		r = mounts_attach(ctx, mk->devnull_fd, fd, path, NULL, err);
		if (r < 0)
			return berth_error_prefix(err, "maskedPaths '%s'", path);
		mk->detached = false;
		return 0;
	}
	r = mounts_bind(ctx, &(struct bind_req){.srcfd = mk->devnull_fd, .dstfd = fd, .path = path}, NULL,
			err);
	if (r < 0)
		return berth_error_prefix(err, "maskedPaths '%s'", path);
	return 0;
}

/* maskedPaths entry: a directory gets an empty read-only tmpfs, anything else /dev/null. */
static int mask_path(const struct mount_ctx *ctx, struct masker *mk, const char *path,
		     struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	r = rootfs_resolve(ctx->rootfd, path, mount_ctx_resolve_flags(ctx), O_PATH, &fd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "maskedPaths '%s': open", path);
	if (fstat(fd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "maskedPaths '%s': stat", path);
	if (S_ISDIR(st.st_mode)) {
		r = mounts_tmpfs_ro(ctx, fd, path, err);
		if (r < 0)
			return berth_error_prefix(err, "maskedPaths '%s'", path);
		return 0;
	}
	return mask_file(ctx, mk, fd, path, err);
}

static int mask_paths(const struct mount_ctx *ctx, const struct oci_linux *lx, const struct rootfs_opts *opts,
		      struct berth_error *err)
{
	struct masker mk = {.devnull_fd = -EBADF};
	int r = 0;

	if (opts->host_devnull_fd && *opts->host_devnull_fd >= 0) {
		mk.devnull_fd = *opts->host_devnull_fd;
		mk.detached = true;
	}
	for (size_t i = 0; lx->masked_paths && lx->masked_paths[i]; i++) {
		r = mask_path(ctx, &mk, lx->masked_paths[i], err);
		if (r < 0)
			break;
	}
	if (mk.owned)
		close(mk.devnull_fd);
	return r;
}

/* A missing process.cwd is created by the init (process_enter_cwd), but that would be too late
 * on a read-only root: create it first, as runc does before it makes the root read-only
 * (issue 13 #7). */
static int create_cwd(const struct mount_ctx *ctx, const struct oci_config *config, struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	const char *cwd = config->has_process ? config->process.cwd : NULL;
	int r;

	if (!cwd || !*cwd)
		return 0;
	r = rootfs_resolve(ctx->rootfd, cwd, mount_ctx_resolve_flags(ctx) | ROOTFS_RESOLVE_MKDIR,
			   O_PATH | O_DIRECTORY, &fd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "process.cwd: '%s'", cwd);
	return 0;
}

static int finalize_root(const struct mount_ctx *ctx, const struct oci_config *config,
			 struct berth_error *err)
{
	const char *prop = config->has_linux ? config->linux_.rootfs_propagation : NULL;
	unsigned long flags;
	int r;

	if (config->root_readonly) {
		r = create_cwd(ctx, config, err);
		if (r < 0)
			return r;
		r = mounts_setattr(ctx, ctx->rootfd, MOUNT_ATTR_RDONLY, 0, false, err);
		if (r < 0)
			return berth_error_prefix(err, "root.readonly");
	}
	/* applied again now that "/" is the container's root: before pivot it was applied to the
	 * host's "/" copy, which is not the mount the container ends up on */
	if (prop) {
		if (mounts_propagation_flags(prop, &flags) < 0)
			return berth_error_set(err, -EINVAL, "linux.rootfsPropagation: unknown value '%s'",
					       prop);
		if (mount(NULL, "/", NULL, flags, NULL) < 0)
			return berth_error_setf_errno(err, -errno, "linux.rootfsPropagation: make / %s",
						      prop);
	}
	return 0;
}

static int finalize_linux(const struct mount_ctx *ctx, const struct oci_linux *lx,
			  const struct rootfs_opts *opts, struct berth_error *err)
{
	int r;

	/* sysctl first: readonlyPaths usually include /proc/sys */
	r = write_sysctls(ctx, lx, err);
	if (r < 0)
		return r;
	for (size_t i = 0; lx->readonly_paths && lx->readonly_paths[i]; i++) {
		r = readonly_path(ctx, lx->readonly_paths[i], err);
		if (r < 0)
			return r;
	}
	return mask_paths(ctx, lx, opts, err);
}

int rootfs_finalize(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err)
{
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct mount_ctx ctx = {
	    .rootfd = rootfd,
	    .legacy = opts->legacy_api,
	    .userns = opts->userns,
	    .new_cgroupns = opts->new_cgroupns,
	};
	int r = 0;

	if (rootfd < 0)
		r = berth_error_setf_errno(err, -errno, "open /");
	if (r >= 0 && config->has_linux)
		r = finalize_linux(&ctx, &config->linux_, opts, err);
	if (r >= 0)
		r = finalize_root(&ctx, config, err);
	if (opts->host_devnull_fd && *opts->host_devnull_fd >= 0) {
		close(*opts->host_devnull_fd);
		*opts->host_devnull_fd = -EBADF;
	}
	return r;
}

/* The runtime spec: with process.terminal, /dev/console is the pseudo-terminal, bind-mounted
 * (runc and crun do the same). Called after the root switch with @tty_fd the pty's slave. The
 * destination is the container's own /dev/console, which the image may have made a symlink
 * (CVE-2025-52565: runc bound the console over a symlink's target): it is opened without
 * following one, created as an empty file when missing, and must be a file or a character device;
 * the bind then goes onto that very inode, never onto a path looked up again. */
int rootfs_bind_console(int tty_fd, struct berth_error *err)
{
	_cleanup_close_ int dev = open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int console = -EBADF, tree = -EBADF;
	struct stat st;

	if (dev < 0)
		return berth_error_setf_errno(err, -errno, "process.terminal: open /dev for /dev/console");
	console = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (console < 0 && errno == ENOENT) {
		int fd = openat(dev, "console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return berth_error_setf_errno(err, -errno, "process.terminal: create /dev/console");
		close(fd);
		console = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (console < 0 || fstat(console, &st) < 0)
		return berth_error_setf_errno(err, -errno, "process.terminal: open /dev/console");
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return berth_error_set(err, -EINVAL,
				       "process.terminal: /dev/console in the rootfs is not a file or a "
				       "character device (a symlink?): refusing to mount the terminal there");
	tree = (int)syscall(SYS_open_tree, tty_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree >= 0 && syscall(SYS_move_mount, tree, "", console, "",
				 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0)
		return 0;
	if (tree >= 0 || (errno != ENOSYS && errno != EPERM))
		return berth_error_setf_errno(err, -errno,
					      "process.terminal: bind the terminal to /dev/console");
	/* No new mount API: mount(2) between the two descriptors' magic links. */
	char src[64], dst[64];
	snprintf(src, sizeof(src), "/proc/self/fd/%d", tty_fd);
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d", console);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return berth_error_setf_errno(err, -errno,
					      "process.terminal: bind the terminal to /dev/console");
	return 0;
}
