/* Private to the layer unpacker (unpack.c drives the streams, unpack_entry.c writes entries). */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "internal.h"

struct archive;
struct archive_entry;

/* A directory whose mode and times are set once the layer is complete: creating entries in it
 * would change its mtime, and a read-only mode would stop an unprivileged unpack. */
struct deferred_dir {
	char *path;
	mode_t mode;
	struct timespec times[2];
};

struct unpack {
	int root_fd;
	const struct image_unpack_opts *o;
	struct archive *a; /* the tar reader, for entry data */
	uint64_t max_entries, max_bytes;
	size_t max_name;
	bool chown_ok;
	uint64_t entries, bytes;
	/* APPLY: the paths this layer wrote and every directory above them; whiteouts and opaque
	 * markers remove only what is in neither. */
	struct strset written, above;
	struct deferred_dir *dirs;
	size_t n_dirs, cap_dirs;
	struct berth_error *err;
	char path[PATH_MAX]; /* the current entry, cleaned */
};

/* Write one entry; fills u->err naming the entry on failure. */
int unpack_entry(struct unpack *u, struct archive_entry *e);
/* Apply the deferred directory modes and times, deepest first. */
int unpack_finish(struct unpack *u);
void unpack_free(struct unpack *u);
