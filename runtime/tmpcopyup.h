/* tmpcopyup: the content an image has at a tmpfs mount's destination, copied into the new tmpfs
 * (the "tmpcopyup" mount option podman adds to the tmpfs mounts it generates). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct berth_error;

struct tmpcopyup_limits {
	uint64_t max_bytes;   /* file content in all */
	uint64_t max_entries; /* files, directories, links, nodes */
	unsigned int max_depth;
};

/* The limits a container mount gets: 1 GiB, 100000 entries, 64 directory levels. */
extern const struct tmpcopyup_limits tmpcopyup_default_limits;

/* Copy everything below the directory @srcfd (opened, O_RDONLY | O_DIRECTORY, before the tmpfs was
 * mounted over it) into the directory @dstfd: regular files (content), directories, symlinks (as
 * links: never followed), fifos, sockets and device nodes (mknod), each with its owner, mode,
 * extended attributes (trusted.* only where permitted; none on symlinks and nodes) and timestamps.
 * Hard links become separate files. Nothing below @srcfd on another filesystem or mount is copied.
 * Every name is opened relative to its parent's descriptor with O_NOFOLLOW, so nothing outside
 * @srcfd is ever read. @what names the copy in errors ("mounts[3] (/run)" style prefix is the
 * caller's). Returns 0 or -errno with @err set ("tmpcopyup: ..."); the limits give -EFBIG/-E2BIG/
 * -ELOOP. */
int tmpcopyup_copy(int srcfd, int dstfd, const struct tmpcopyup_limits *lim, struct berth_error *err);

/* Give the directory @dstfd the owner (unless @keep_owner) and mode (unless @keep_mode) of
 * @srcfd: the tmpfs root takes over the original directory's, as runc does for the mode. */
int tmpcopyup_copy_root_attrs(int srcfd, int dstfd, bool keep_mode, bool keep_owner, struct berth_error *err);
