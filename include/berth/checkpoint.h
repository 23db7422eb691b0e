/* checkpoint: CRIU through libcriu (dump, pre-dump, restore, criu check), the translation of
 * berth's options into CRIU settings, CRIU log reading, and the single-file migration archive.
 * Takes plain values (pids, paths, fds); the container glue is runtime/checkpoint_glue.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct berth_error;

enum ckpt_action { CKPT_DUMP = 0, CKPT_PRE_DUMP, CKPT_RESTORE };

/* --manage-cgroups-mode; CKPT_CG_UNSET lets CRIU choose (soft). */
enum ckpt_cg_mode { CKPT_CG_UNSET = 0, CKPT_CG_SOFT, CKPT_CG_FULL, CKPT_CG_STRICT, CKPT_CG_IGNORE };

/* Parse "soft|full|strict|ignore"; -EINVAL otherwise. */
int checkpoint_cg_mode_parse(const char *s, enum ckpt_cg_mode *ret);

struct ckpt_map {
	const char *key, *val;
};

struct ckpt_inherit_fd {
	int fd;
	const char *key;
};

#define CKPT_MAX_MAPS 64

/* What one CRIU call is asked to do: the values berth's options translate into. */
struct ckpt_opts {
	enum ckpt_action action;
	pid_t pid;               /* dump: the container's init */
	const char *images_dir;  /* required */
	const char *work_dir;    /* logs and scratch; default: images_dir */
	const char *parent_path; /* --parent-path: previous pre-dump, relative to images_dir */
	const char *root;        /* restore: the rootfs, a mount point */
	const char *criu_path;   /* the criu binary; NULL: "criu" */
	bool leave_running, tcp_established, ext_unix_sk, shell_job, file_locks;
	bool orphan_pts_master; /* a container with a terminal */
	/* restore with orphan_pts_master: the new pty master goes to this --console-socket
	 * connection (when has_console) */
	bool has_console;
	int console_fd;
	enum ckpt_cg_mode cg_mode;
	const char *freeze_cgroup; /* dump: freeze through this cgroup (path under the cgroup root) */
	struct ckpt_map ext_mounts[CKPT_MAX_MAPS]; /* criu_add_ext_mount(key, val) */
	size_t n_ext_mounts;
	const char *externals[CKPT_MAX_MAPS]; /* criu_add_external(key) */
	size_t n_externals;
	struct ckpt_inherit_fd inherit_fds[CKPT_MAX_MAPS];
	size_t n_inherit_fds;
	/* dump: called when CRIU has written every image, before it resumes (or kills) the tasks
	 * and, with lazy pages, before its page server starts serving: CRIU's "post-dump"
	 * notification. A non-zero return makes CRIU leave the tasks running. NULL: none. */
	int (*post_dump)(void *data);
	void *post_dump_data;
};

/* The settings applied to libcriu, in a plain form unit tests read (checkpoint_settings()). */
struct ckpt_settings {
	const char *log_file; /* name inside work_dir */
	int log_level;
	bool leave_running, tcp_established, ext_unix_sk, shell_job, file_locks, orphan_pts_master;
	bool manage_cgroups;
	bool track_mem; /* pre-dump, and a dump on top of one (--parent-path) */
	int cg_mode;    /* enum ckpt_cg_mode */
	bool notify_scripts;
	const char *root;
	const char *parent_images;
	const char *freeze_cgroup;
};

/* Translate @o into @ret and check combinations that CRIU would refuse late (pre-dump with a
 * parent only when that parent exists is checked at run time). -EINVAL with a sentence. */
int checkpoint_settings(const struct ckpt_opts *o, struct ckpt_settings *ret, struct berth_error *err);

/* The CRIU log file name for @action: "dump.log", "pre-dump.log", "restore.log". */
const char *checkpoint_log_name(enum ckpt_action action);

/* Pick the last error lines of a CRIU log (@log, @len bytes) into @buf: lines with "Error" (at
 * most 3, joined with " | "), or the last non-empty line when there is none. Returns the length. */
size_t checkpoint_log_errors(const char *log, size_t len, char *buf, size_t size);

/* criu check through libcriu, logging to @work_dir/check.log (the directory is created): 0, or
 * -errno with CRIU's error lines and the log path. */
int checkpoint_check_kernel(const char *criu_path, const char *work_dir, struct berth_error *err);

/* Dump or pre-dump @o->pid into @o->images_dir. On failure the message carries CRIU's last error
 * lines and the log path. */
int checkpoint_dump(const struct ckpt_opts *o, struct berth_error *err);

/* Restore from @o->images_dir: CRIU runs as our child (swrk) and the restored init becomes our
 * child too; *ret_pid is its pid. */
int checkpoint_restore(const struct ckpt_opts *o, pid_t *ret_pid, struct berth_error *err);

/* The "flags" of /proc/cpuinfo's first processor (NULL-terminated, malloc'd; free with
 * checkpoint_strv_free). */
int checkpoint_cpu_flags(char ***ret);
void checkpoint_strv_free(char **v);
/* Flags in @need missing from @have, joined by spaces into @buf; returns how many. */
size_t checkpoint_cpu_missing(char *const *need, char *const *have, char *buf, size_t size);

/* ---- the migration archive (migrate.c) ---- */

/* Members of an archive: manifest.json (first), config.json, checkpoint/ (CRIU images), and
 * rootfs/ (with --export-rootfs) or upper/ (the overlay upper dir of an image-based container:
 * its whiteouts as 0:0 character devices, opaque directories with trusted.overlay.opaque=y). */
#define CKPT_ARCHIVE_MANIFEST "manifest.json"
#define CKPT_ARCHIVE_CONFIG "config.json"
#define CKPT_ARCHIVE_IMAGES "checkpoint"
#define CKPT_ARCHIVE_ROOTFS "rootfs"
#define CKPT_ARCHIVE_UPPER "upper"

struct ckpt_export {
	const char *out_path;    /* the archive (.tar, .tar.gz, .tar.zst) */
	const char *images_dir;  /* CRIU images of a finished dump */
	const char *config_json; /* the container's config.json (contents) */
	size_t config_len;
	const char *rootfs; /* stored as rootfs/ when non-NULL */
	const char *upper;  /* or this overlay upper dir, as upper/ */
	const char *container_id;
	const char *image_ref;      /* annotation berth.image.name, or NULL */
	const char *image_digest;   /* the image's manifest digest (with @upper), or NULL */
	const char *image_chain_id; /* and the chain id of its top layer, or NULL */
	const char *network;        /* annotation berth.network, or NULL */
};

/* Write the archive; nothing is left at out_path on failure. */
int checkpoint_export(const struct ckpt_export *x, struct berth_error *err);

struct oci_ckpt_manifest;

/* Extract and validate the archive @in_path into the new directory @dest (which must not exist):
 * member names confined, sizes bounded, the manifest's format version, architecture and CPU
 * flags checked against this host, the CRIU images and config.json present. On failure @dest is
 * removed. *ret_manifest is the parsed manifest. */
int checkpoint_import(const char *in_path, const char *dest, struct oci_ckpt_manifest **ret_manifest,
		      struct berth_error *err);

/* Read and validate only the manifest of the archive @in_path (its format version; arch and CPU
 * flags against this host), to decide where the archive goes before unpacking it. */
int checkpoint_archive_manifest(const char *in_path, struct oci_ckpt_manifest **ret_manifest,
				struct berth_error *err);

/* Extract and validate an archive with an upper dir (manifest hasUpper) for the existing
 * directory @dfd (an image-based container's directory, with an empty upper/): member names
 * confined, sizes bounded, whiteouts the only device nodes under upper/. It is unpacked into a
 * private subdirectory first; then config.json, checkpoint/ and upper/ (replacing the empty one)
 * are moved into @dfd and the rest dropped. checkpoint_import() refuses such an archive. On
 * failure the caller removes @dfd. */
int checkpoint_import_into(const char *in_path, int dfd, struct oci_ckpt_manifest **ret_manifest,
			   struct berth_error *err);

/* Check a manifest against this host (arch, CPU flags): -EINVAL/-ENOTSUP with the missing flags. */
int checkpoint_manifest_check_host(const struct oci_ckpt_manifest *m, struct berth_error *err);
