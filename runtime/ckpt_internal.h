/* runtime-internal: checkpoint and restore, split by what each part does.
 *   ckpt_dump.c      checkpoint (dump, --pre-dump, --export)
 *   ckpt_restore.c   restore (state dir, cgroup, lease, CRIU restore, record)
 *   ckpt_import.c    restore --import (an archive into a bundle or the image store)
 *   ckpt_externals.c what CRIU must treat as external: bind mounts, masked paths, the netns
 *   ckpt_stdio.c     the init's standard streams
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "berth/checkpoint.h"
#include "berth/oci.h"
#include "create.h"

struct berth_context;
struct berth_error;
struct berth_record;
struct berth_restore_opts;
struct container;
struct image_store;

/* Where checkpoint and restore keep the images without --image-path (relative to the cwd). */
#define CKPT_DEFAULT_IMAGES "checkpoint"

static inline void ckpt_config_freep(struct oci_config **c)
{
	oci_config_free(*c);
}

/* ---- the init's stdio (ckpt_stdio.c) ----
 * The init's stdin/stdout/stderr usually come from outside the container: /dev/null or the log
 * of a detached run (stdio_log.h), a pipe or fifo of containerd's shim, berth's caller's file or
 * terminal. CRIU cannot dump a file on a mount the container does not have, so such a file is
 * declared external ("file[mnt_id:inode]"); a pipe is dumped by CRIU itself; a terminal of the
 * container's own devpts is CRIU's (orphan pts master, --console-socket on restore). Each key is
 * recorded with what it was (STDIO_FILE inside the images, so it travels with an archive or a
 * migration) and restore hands CRIU, by key, the same kind of file on this host:
 *   null  /dev/null of this host
 *   log   the log in the new container's state dir, first filled with the log carried in the
 *         images (STDIO_LOG_COPY, written by a final dump), so `berth logs` shows it all
 *   pipe  restore's own descriptor of the same number (containerd's shim passes its pipes)
 *   file  the same, checked first to be the kind of file CRIU will ask for (its mode)
 * Record lines: "FD KEY KIND MODE" (MODE: st_mode in octal); "FD KEY" (older dumps): as "pipe". */

#define STDIO_FILE "berth-stdio"
#define STDIO_LOG_COPY "berth-log"
#define STDIO_MAX 3

enum stdio_kind { STDIO_KIND_CALLER, STDIO_KIND_NULL, STDIO_KIND_LOG, STDIO_KIND_PIPE, STDIO_KIND_FILE };

struct stdio_keys {
	char key[STDIO_MAX][96];
	bool has[STDIO_MAX];
	enum stdio_kind kind[STDIO_MAX];
	unsigned int mode[STDIO_MAX]; /* st_mode at the dump */
	/* restore: descriptors opened for CRIU (/dev/null, the log), closed by ckpt_stdio_release */
	int opened[STDIO_MAX];
	bool is_open[STDIO_MAX];
};

/* Dump side, for `checkpoint` and `migrate`. ckpt_stdio_collect classifies the init's (@pid)
 * stdio against the container's state dir @state_dir_fd (its log) and declares the external
 * files in @o (before CRIU dumps). ckpt_stdio_save, once CRIU has dumped, writes the record into
 * @images and, with @carry_log, a copy of the container's log (a final dump, not a pre-dump). */
void ckpt_stdio_collect(pid_t pid, int state_dir_fd, struct stdio_keys *k, struct ckpt_opts *o);
int ckpt_stdio_save(const char *images, int state_dir_fd, const struct stdio_keys *k, bool carry_log,
		    struct berth_error *err);

/* Restore side, for `restore` and the receiving end of `migrate`: read the record in @images and
 * add to @o one inherited descriptor per key (the log is made in the new container's state dir
 * @state_dir_fd and filled with the carried copy; a pipe or other file gets @caller_fds[0..2], or
 * with NULL our own 0..2: a receiver whose own stdio is its transport passes /dev/null or what it
 * was told to use instead). 0 with nothing added for images without a
 * record (made elsewhere: CRIU says what it misses); -errno with a sentence naming the stream
 * when restore's own descriptor cannot stand in for it. Call ckpt_stdio_release after CRIU ran
 * (also on failure; safe on a zeroed struct). */
int ckpt_stdio_restore(const char *images, int state_dir_fd, const int *caller_fds, struct stdio_keys *k,
		       struct ckpt_opts *o, struct berth_error *err);
void ckpt_stdio_release(struct stdio_keys *k);

/* ckpt_externals.c */
int ckpt_declare_mounts(const struct oci_config *c, pid_t pid, bool restore, struct ckpt_opts *o,
			struct berth_error *err);
int ckpt_declare_netns_dump(const struct oci_config *cfg, pid_t pid, bool empty_ns, struct ckpt_opts *o,
			    struct berth_error *err);
int ckpt_declare_netns_restore(const struct oci_config *cfg, int berth_netns_fd, int *ret_net_fd,
			       struct ckpt_opts *o, struct berth_error *err);
const char *ckpt_annotation(const struct berth_record *rec, const char *key);
const char *ckpt_leased_ip(const struct oci_config *cfg, const struct container *c);
int ckpt_network_save(const char *images, const struct oci_config *cfg, const struct container *c,
		      struct berth_error *err);
int ckpt_network_load(const char *images, char *network, char *ip, struct berth_error *err);

/* ckpt_dump.c: CRIU's work dir (and log) for a dump or import whose images go away afterwards. */
const char *ckpt_kept_work_dir(const char *id, char *buf, size_t size);

/* ckpt_restore.c / ckpt_import.c */
struct restore_ctx {
	struct create_plan p;
	struct stdio_keys keys;
	char images[PATH_MAX];
	char imported[PATH_MAX]; /* a bundle made by --import, removed on failure */
	char work[PATH_MAX];     /* CRIU's work dir when --work-path is not given */
	struct oci_ckpt_manifest *manifest;
	int net_fd;
	/* an --import with an upper dir: the store and <storage>/containers/<id> made for it */
	struct image_store *store;
	char store_dir[PATH_MAX];
	int mntns_fd; /* our mount namespace, where the overlay is mounted (rootfs_mountpoint leaves it) */
	int cwd_fd;   /* our working directory, to go back to with it */
	/* a berth network: the network and address recorded at the dump (NETWORK_CKPT_FILE) */
	char net_name[NETWORK_CKPT_MAX];
	char net_ip[NETWORK_CKPT_MAX];
};

int ckpt_import_bundle(const struct berth_context *ctx, const struct berth_restore_opts *x,
		       struct restore_ctx *rc, const char **ret_bundle, struct berth_error *err);
void ckpt_import_unwind(struct restore_ctx *rc, const char *id);
