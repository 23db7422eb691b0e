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

/* ---- the init's stdio ----
 * The init's stdin/stdout/stderr usually come from outside the container (berth's caller: a
 * pipe from containerd's shim, a log file, /dev/null). CRIU cannot dump a file on a mount the
 * container does not have, so such a file is declared external ("file[mnt_id:inode]"); a pipe
 * is dumped by CRIU itself. Restore hands its own stdio in their place (as runc does), by key:
 * the keys are kept in STDIO_FILE inside the images, so they travel with an archive. */

#define STDIO_FILE "berth-stdio"
#define STDIO_MAX 3

struct stdio_keys {
	char key[STDIO_MAX][96];
	bool has[STDIO_MAX];
};

/* Record the init's stdio (@pid) as keys (external files declared in @o); save them beside the
 * images; on restore, hand our own stdio to CRIU for each recorded key. */
void ckpt_stdio_collect(pid_t pid, struct stdio_keys *k, struct ckpt_opts *o);
int ckpt_stdio_save(const char *images, const struct stdio_keys *k, struct berth_error *err);
int ckpt_stdio_restore(const char *images, struct stdio_keys *k, struct ckpt_opts *o);

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
	/* a berth network: the network and address recorded at the dump (NETWORK_CKPT_FILE) */
	char net_name[NETWORK_CKPT_MAX];
	char net_ip[NETWORK_CKPT_MAX];
};

int ckpt_import_bundle(const struct berth_context *ctx, const struct berth_restore_opts *x,
		       struct restore_ctx *rc, const char **ret_bundle, struct berth_error *err);
void ckpt_import_unwind(struct restore_ctx *rc, const char *id);
