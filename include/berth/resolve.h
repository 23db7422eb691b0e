/* common/resolve.c: THE in-root path resolver. Every path that names something inside a root
 * directory the runtime does not trust (a container's rootfs, an image layer being unpacked, a
 * checkpoint archive being extracted) is opened through here, never by joining strings.
 *
 * A path is resolved as if the root descriptor were "/": ".." stops at the root, absolute symlinks
 * restart from it, relative ones are spliced in, and procfs magic links (/proc/<pid>/root,
 * /proc/<pid>/fd/N, ...) are refused. openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) does it in
 * the kernel; where openat2 is missing or filtered, and for creating missing components, a walk
 * in user space does the same one O_PATH|O_NOFOLLOW component at a time. Both give the same
 * answers (tests/unit/test_resolve.c checks each escape class against both). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* inroot_resolve() flags. */
#define INROOT_MKDIR (1u << 0)       /* create missing directories (0755, or as opts->dir_attrs says) */
#define INROOT_MKFILE (1u << 1)      /* like MKDIR, and a missing last component as an empty file (0644) */
#define INROOT_NO_SYMLINKS (1u << 2) /* any symlink to follow fails with -ELOOP */
#define INROOT_NO_XDEV (1u << 3)     /* crossing into another mount fails with -EXDEV */
#define INROOT_FALLBACK (1u << 4)    /* skip openat2: the user-space walk (old kernels, tests) */
/* With MKDIR/MKFILE: create only components written in the path itself, never the missing target
 * of a symlink (-ENOENT): a dangling symlink in an image layer makes nothing appear elsewhere. */
#define INROOT_MK_LITERAL (1u << 5)

/* Mode, owner and times of a directory INROOT_MKDIR creates. */
struct inroot_dir_attrs {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	bool set; /* false: 0755, the caller's ids, now */
};

/* Optional behaviour of inroot_resolve() (NULL: none of it). */
struct inroot_opts {
	/* Called for each directory about to be created, with its path below the root as walked
	 * (symlinks already resolved): fills @ret (left unset: 0755). */
	void (*dir_attrs)(void *data, const char *path, struct inroot_dir_attrs *ret);
	void *data;
	bool chown_ok; /* give created directories dir_attrs' uid/gid (the caller may chown) */
	/* Tests only: called by the user-space walk just before it opens the component @name of
	 * the directory @walked (path below the root, "" for the root), so that a test can swap
	 * that component and check the answer stays inside the root. */
	void (*before_step)(void *data, const char *walked, const char *name);
};

/* Open @path inside @rootfd (an O_PATH or real directory descriptor). @open_flags are open(2)
 * flags without O_CREAT (O_CLOEXEC is added): O_PATH for a handle, O_NOFOLLOW to not follow a
 * trailing symlink (with O_PATH the link itself is returned, otherwise -ELOOP), O_DIRECTORY to
 * require a directory. "" and "/" name the root itself. @opts may be NULL.
 * Returns 0 with *ret_fd owned by the caller, or -errno: -ENOENT, -ENOTDIR, -ELOOP (a symlink
 * loop, a magic link, or any symlink under INROOT_NO_SYMLINKS), -EXDEV (INROOT_NO_XDEV),
 * -EAGAIN (the tree kept changing under the walk). Nothing outside the root is ever opened or
 * created, whatever runs concurrently in the tree. */
int inroot_resolve(int rootfd, const char *path, unsigned int flags, int open_flags,
		   const struct inroot_opts *opts, int *ret_fd);

/* The mount id (statx STATX_MNT_ID) of the mount @fd is on; -EOPNOTSUPP before Linux 5.8. */
int inroot_mount_id(int fd, uint64_t *ret_id);
