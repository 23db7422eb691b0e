/* runtime-internal interfaces between the lifecycle code (create/child) and the root
 * filesystem code (mounts/rootfs/devices). Not part of the public API. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct berth_error;
struct oci_config;

struct rootfs_opts {
	const char *rootfs;     /* absolute host path of root.path (already realpath'd) */
	bool no_pivot;          /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
	bool userns;            /* the container has its own user namespace (no mknod: bind host devices) */
	bool new_cgroupns;      /* a cgroup namespace was created (cgroup2 mounts show the container's cgroup) */
};

/* Phase 1, in the child, inside the new mount namespace, before pivot_root:
 * make / rslave (or rootfsPropagation), bind the rootfs onto itself, mount every entry of
 * config->mounts inside it (destinations resolved inside the rootfs, never through a symlink
 * out of it), populate /dev (default devices, /dev/pts, /dev/shm, links) and linux.devices.
 * Fills @err with the mount index and reason on failure. */
int rootfs_prepare(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err);

/* Phase 2: pivot_root (or move+chroot) into the rootfs and detach the old root. cwd becomes "/". */
int rootfs_pivot(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err);

/* Phase 3, after pivot: sysctl, maskedPaths, readonlyPaths, root.readonly, rootfsPropagation
 * on the new root. */
int rootfs_finalize(const struct oci_config *config, const struct rootfs_opts *opts, struct berth_error *err);
