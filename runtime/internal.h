/* runtime-internal interfaces between the lifecycle code (create/child) and the root
 * filesystem code (mounts/rootfs/devices). Not part of the public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/resolve.h"

struct berth_error;
struct oci_config;
struct oci_mount;
struct cgroup;

struct rootfs_opts {
	const char *rootfs; /* absolute host path of root.path (already realpath'd) */
	bool no_pivot;      /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
	bool userns;        /* the container has its own user namespace (no mknod: bind host devices) */
	bool new_cgroupns;  /* a cgroup namespace was created (cgroup2 mounts show the container's cgroup) */
	bool legacy_api;    /* act as on a kernel without openat2(2) and the new mount API (tests) */
	bool chroot_only;   /* a joined mount namespace: chroot, never pivot_root, which would move the
			     * root of every other process in it (as crun does) */
	/* Optional, in/out. When set (the caller initialises *host_devnull_fd to -EBADF), rootfs_prepare
	 * stores here a detached copy of the host's /dev/null mount (verified char 1:3) and
	 * rootfs_finalize binds it over maskedPaths files and closes it. Without it, the container's
	 * own /dev/null is used when it is the real device, and masking fails otherwise. */
	int *host_devnull_fd;
	/* Optional: per config mount, a detached copy of the bind source opened by `create` as the
	 * runtime (user namespaces, bindsrc.h), attached instead of opening the source; or -1. */
	const int *bind_trees;
	/* the container's cgroup (NULL: none), for "cgroup" mounts */
	const struct cgroup *cg;
};

/* Phase 1, in the child, inside the new mount namespace, before pivot_root:
 * make / rslave (or rootfsPropagation), bind the rootfs onto itself, mount every entry of
 * config->mounts inside it (destinations resolved inside the rootfs, never through a symlink
 * out of it), populate /dev (default devices, /dev/pts, /dev/shm, links) and linux.devices.
 * Fills @err with the mount index and reason on failure. */
int rootfs_prepare(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err);

/* Phase 2: pivot_root (or move+chroot) into the rootfs and detach the old root. cwd becomes "/".
 * With opts->chroot_only: rootfs_chroot. */
int rootfs_pivot(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err);

/* chroot into opts->rootfs with nothing mounted: the container has no mount namespace of its own
 * (the runtime's is inherited) or joins one (chroot_only). cwd becomes "/". */
int rootfs_chroot(const struct rootfs_opts *opts, struct berth_error *err);
/* Bind the terminal @tty_fd onto the container's /dev/console (after the root switch). */
int rootfs_bind_console(int tty_fd, struct berth_error *err);
/* MS_RDONLY, MS_NOSUID, ... as mount_setattr(2) MOUNT_ATTR_* bits (atime flags excepted). */
uint64_t mount_ms_to_attr(unsigned long ms);

/* Phase 3, after pivot: sysctl, maskedPaths, readonlyPaths, root.readonly, rootfsPropagation
 * on the new root. */
int rootfs_finalize(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err);

/* ---- helpers shared by rootfs.c, mounts.c and devices.c (not for other runtime files) ---- */

/* The state of one rootfs phase. */
struct mount_ctx {
	int rootfd;  /* O_PATH directory: the rootfs bind mount before pivot, "/" after */
	bool legacy; /* no openat2 / open_tree / mount_setattr: mount(2) on /proc/self/fd/N */
	bool userns; /* in a user namespace: no mknod, sysfs/cgroup2 may need a bind fallback */
	bool new_cgroupns;
	const char *mount_label; /* linux.mountLabel or NULL */
	const int *bind_trees;   /* rootfs_opts.bind_trees (before pivot only) */
	const struct cgroup *cg; /* the container's cgroup, or NULL */
};

/* rootfs_resolve() flags: those of common's resolver (include/berth/resolve.h). */
#define ROOTFS_RESOLVE_MKDIR INROOT_MKDIR   /* create missing directories (0755) */
#define ROOTFS_RESOLVE_MKFILE INROOT_MKFILE /* like MKDIR, the last component as an empty file (0644) */
#define ROOTFS_RESOLVE_NO_SYMLINKS INROOT_NO_SYMLINKS /* any symlink fails with -ELOOP */
#define ROOTFS_RESOLVE_NO_XDEV INROOT_NO_XDEV         /* crossing a mount point fails with -EXDEV */
#define ROOTFS_RESOLVE_FALLBACK INROOT_FALLBACK /* skip openat2: the component walk (old kernels, tests) */

static inline unsigned int mount_ctx_resolve_flags(const struct mount_ctx *ctx)
{
	return ctx->legacy ? ROOTFS_RESOLVE_FALLBACK : 0;
}

/* Open @path as if @rootfd were "/": inroot_resolve() (include/berth/resolve.h) without options;
 * "" is -ENOENT. @open_flags are open(2) flags without O_CREAT (O_CLOEXEC is added). A trailing
 * symlink is followed unless O_NOFOLLOW. On success *ret_fd is owned by the caller. */
int rootfs_resolve(int rootfd, const char *path, unsigned int flags, int open_flags, int *ret_fd);

/* Lexically normalise an absolute path ("//a/./b/../c/" -> "/a/c"; ".." stops at "/").
 * -EINVAL when @path is not absolute, -ENAMETOOLONG when @size is too small. */
int rootfs_path_clean(const char *path, char *buf, size_t size);

/* The mount id (statx STATX_MNT_ID) of the mount @fd is on. */
int rootfs_mount_id(int fd, uint64_t *ret_id);

/* mounts.c: mount config->mounts[@index] inside ctx->rootfd. @err reads
 * "mounts[2] (/proc): mount proc: Operation not permitted". */
int mounts_mount_entry(const struct mount_ctx *ctx, const struct oci_mount *m, size_t index,
		       struct berth_error *err);

/* The config's non-bind mount on /dev (usually a tmpfs) or NULL; *ret_readonly: it asks for "ro"
 * (mounts_mount_entry mounts it writable so that devices can be created; devices_setup remounts it). */
const struct oci_mount *mounts_find_dev(const struct oci_config *config, bool *ret_readonly);

/* "rshared" -> MS_SHARED | MS_REC, ...; -EINVAL for anything else. */
int mounts_propagation_flags(const char *name, unsigned long *ret_flags);

struct bind_req {
	int srcfd;                     /* O_PATH: what to bind */
	int dstfd;                     /* O_PATH: where, resolved inside ctx->rootfd */
	const char *path;              /* @dstfd's path inside the root: to find and verify the new mount */
	bool recursive;                /* with the submounts of @srcfd */
	uint64_t attr_set, attr_clr;   /* MOUNT_ATTR_* for the new top mount; locked flags are kept */
	uint64_t rattr_set, rattr_clr; /* MOUNT_ATTR_* for the whole new tree */
	bool idmap, idmap_recursive;   /* MOUNT_ATTR_IDMAP with @userns_fd */
	int userns_fd;
};

/* Bind @req->srcfd onto @req->dstfd and check the new mount is what @req->path resolves to inside
 * the root. *ret_mntfd (optional): O_PATH fd of the new mount. @err gets the failed step. */
int mounts_bind(const struct mount_ctx *ctx, const struct bind_req *req, int *ret_mntfd,
		struct berth_error *err);

/* Attach the detached mount @treefd (open_tree/fsmount) on @dstfd and verify it like mounts_bind. */
int mounts_attach(const struct mount_ctx *ctx, int treefd, int dstfd, const char *path, int *ret_mntfd,
		  struct berth_error *err);

/* Mount a filesystem (mount(2) with @flags/@data) on @dstfd, verified like mounts_bind. */
int mounts_fs(const struct mount_ctx *ctx, const char *source, const char *type, unsigned long flags,
	      const char *data, int dstfd, const char *path, int *ret_mntfd, struct berth_error *err);

/* A fresh read-only tmpfs on @dstfd (maskedPaths directories). */
int mounts_tmpfs_ro(const struct mount_ctx *ctx, int dstfd, const char *path, struct berth_error *err);

/* Set/clear MOUNT_ATTR_* on the mount @mntfd (its whole tree with @recursive) without touching other
 * flags; a flag the kernel locked is kept instead of failing. */
int mounts_setattr(const struct mount_ctx *ctx, int mntfd, uint64_t set, uint64_t clr, bool recursive,
		   struct berth_error *err);

/* Apply MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) to the mount @mntfd. */
int mounts_propagate(const struct mount_ctx *ctx, int mntfd, unsigned long flags, struct berth_error *err);

/* cgroup_mount.c: a config "cgroup"/"cgroup2" mount showing the container's own cgroup (ctx->cg,
 * which must be set): on a v1/hybrid host a tmpfs with one bound directory per hierarchy, else its
 * cgroup2 directory. @flags are the entry's MS_* flags (MS_RDONLY makes the whole view read-only). */
int cgroup_mount_view(const struct mount_ctx *ctx, const char *source, const char *type, unsigned long flags,
		      const char *data, int dstfd, const char *dest, int *ret_mntfd, struct berth_error *err);

/* devices.c: when config has a /dev mount: default devices, /dev symlinks, /dev/ptmx; then
 * linux.devices; then the /dev mount's deferred "ro". */
int devices_setup(const struct mount_ctx *ctx, const struct oci_config *config, struct berth_error *err);

/* clone3 like fork() with @flags, into the cgroup @cg_fd (CLONE_INTO_CGROUP) when it is >= 0
 * (@cg_fresh: the caller made that cgroup just now). *ret_into_cgroup says whether the child is
 * in it already; when not, the caller moves it by pid. */
pid_t spawn_clone3(uint64_t flags, int cg_fd, bool cg_fresh, bool *ret_into_cgroup);
