/* images/archive.c: writing a directory tree into one tar file and extracting a tar file into a
 * directory without anything landing outside it. A plain API (paths, fds, limits) so that other
 * modules (checkpoint) need not include <archive.h>. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct berth_error;

/* One directory to store: every entry under @path goes into the archive as @prefix/<relative>
 * (@prefix without a trailing slash; "" puts the entries at the top). */
struct archive_dir_member {
	const char *path;
	const char *prefix;
};

/* Write @n directories into a new tar file @out_path (compressed with gzip when it ends in ".gz",
 * zstd when it ends in ".zst"). Symlinks are stored as links, never followed. The file is written
 * to "@out_path.tmp" and renamed; nothing is left on failure. */
int archive_write_dirs(const char *out_path, const struct archive_dir_member *dirs, size_t n,
		       struct berth_error *err);

struct archive_limits {
	uint64_t max_total;   /* sum of the members' sizes */
	uint64_t max_member;  /* one member's size */
	uint64_t max_members; /* number of members */
};

/* Extract the tar file @in_path (any compression libarchive detects) into the directory @dirfd.
 * Every member name must be relative, without "..", and is resolved inside @dirfd (openat2
 * RESOLVE_IN_ROOT): a symlink member cannot make a later member land outside. Regular files,
 * directories, symlinks and hard links (to earlier members) are accepted; device nodes, fifos
 * and sockets are refused. Sizes are bounded by @lim. On failure -errno with a sentence naming
 * the member; the caller removes what was extracted so far. */
int archive_extract_confined(const char *in_path, int dirfd, const struct archive_limits *lim,
			     struct berth_error *err);

/* As archive_extract_confined(), and members below the top-level directory @overlay_tree (e.g.
 * "upper") are an overlayfs upper dir: there whiteouts (0:0 character devices) and fifos are
 * made too (any other device node or a socket is refused), and a directory's
 * trusted.overlay.opaque="y" is set; every other xattr is dropped. NULL: none. */
int archive_extract_confined_overlay(const char *in_path, int dirfd, const struct archive_limits *lim,
				     const char *overlay_tree, struct berth_error *err);

/* Read the regular-file member @name (at most @max bytes) of the tar file @in_path into
 * *ret_data (malloc'd, NUL-terminated); the first member of that name wins. -ENOENT when there
 * is none, -EFBIG when larger, -EINVAL for an unreadable archive. */
int archive_read_member(const char *in_path, const char *name, size_t max, char **ret_data, size_t *ret_len,
			struct berth_error *err);

/* Validate an archive member name as archive_extract_confined() does: 0 or -EINVAL. */
int archive_member_name_check(const char *name);
