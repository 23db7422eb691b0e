/* checkpoint: the container side around the checkpoint module. Loads the container, says what
 * CRIU must treat as external (ckpt_externals.c, ckpt_stdio.c), dumps, and with --export writes
 * the archive (checkpoint/migrate.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/images.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "ckpt_internal.h"
#include "create.h"
#include "lifecycle.h"

static int dump_opts(const struct berth_checkpoint_opts *x, const struct oci_config *cfg,
		     const struct container *c, struct ckpt_opts *o, struct stdio_keys *keys,
		     struct berth_error *err)
{
	o->action = x->pre_dump ? CKPT_PRE_DUMP : CKPT_DUMP;
	o->pid = c->rec->pid;
	o->leave_running = x->leave_running;
	o->tcp_established = x->tcp_established;
	o->ext_unix_sk = x->ext_unix_sk;
	o->shell_job = x->shell_job;
	o->file_locks = x->file_locks;
	o->work_dir = x->work_path;
	o->parent_path = x->parent_path;
	if (x->manage_cgroups_mode && checkpoint_cg_mode_parse(x->manage_cgroups_mode, &o->cg_mode) < 0)
		return berth_error_set(err, -EINVAL,
				       "--manage-cgroups-mode: '%s' is not soft, full, strict or ignore",
				       x->manage_cgroups_mode);
	if (x->empty_ns && strcmp(x->empty_ns, "network") != 0)
		return berth_error_set(err, -EINVAL, "--empty-ns: only 'network' is supported, not '%s'",
				       x->empty_ns);
	int r = ckpt_declare_mounts(cfg, o->pid, false, o, err);
	if (r < 0)
		return r;
	ckpt_stdio_collect(o->pid, c->dir_fd, keys, o);
	return ckpt_declare_netns_dump(cfg, o->pid, x->empty_ns != NULL, o, err);
}

/* CRIU refuses a process tree in its own pid namespace whose session leader is outside it,
 * whatever --shell-job says: say so before it runs. */
static int check_session(const struct oci_config *cfg, pid_t pid, struct berth_error *err)
{
	pid_t sid = getsid(pid);
	if (oci_config_namespace(cfg, OCI_NS_PID) && sid > 0 && sid != pid)
		return berth_error_set(
		    err, -ENOTSUP,
		    "the container's init (pid %d) is not a session leader: its session %d is "
		    "outside the container's pid namespace, which CRIU cannot dump (run the "
		    "process under setsid, or with a terminal)",
		    (int)pid, (int)sid);
	return 0;
}

/* A paused container (containerd's shim pauses it before `checkpoint`): ptrace alone cannot stop
 * its frozen tasks and CRIU would wait for them forever, so CRIU seizes them through the freezer
 * of the cgroup (it thaws it for the dump and leaves it frozen again). Its directory, or NULL
 * when the container's cgroup is not frozen. */
static const char *frozen_cgroup_dir(const struct berth_context *ctx, const struct container *c)
{
	static char dir[2 * PATH_MAX];
	char rel[PATH_MAX];
	struct cgroup cg = {0};
	_cleanup_close_ int cg_root = -EBADF;

	if (!c->rec->cgroup_path || container_cgroup(ctx, c->rec, &cg, &cg_root, NULL) < 0)
		return NULL;
	int r = cgroup_frozen_dir(&cg, rel, sizeof(rel));
	cgroup_free(&cg);
	if (r < 0)
		return NULL;
	snprintf(dir, sizeof(dir), "%s/%s", ctx->cgroup_root ? ctx->cgroup_root : BERTH_DEFAULT_CGROUP_ROOT,
		 rel);
	return dir;
}

/* Remove the container after a final dump: its processes are gone (CRIU killed them). */
static void remove_dumped(const struct berth_context *ctx, const char *id)
{
	struct berth_error e = {0};
	(void)berth_container_delete(ctx, id, true, &e);
}

/* checkpoint --export without --export-rootfs: the container's filesystem changes are its overlay
 * upper dir, which a container made by `run --image` has. Anything else needs --export-rootfs:
 * said before CRIU stops the container, as an archive without a filesystem restores nowhere. */
static int export_upper(const struct berth_checkpoint_opts *x, const struct container *c, char **ret_upper,
			char digest[IMAGE_DIGEST_SIZE], char chain[IMAGE_DIGEST_SIZE],
			struct berth_error *err)
{
	int r = image_container_upper(x->id, c->rec->annotations, c->rec->n_annotations, ret_upper, digest,
				      chain, err);
	if (r == -ENOENT || r == -ENOTSUP) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		return berth_error_set(
		    err, -EINVAL,
		    "--export: %s, so its filesystem changes are not an overlay upper dir: "
		    "add --export-rootfs to put its whole rootfs into the archive",
		    why);
	}
	return r;
}

/* Where CRIU works (and logs) when the images go to a directory that is removed afterwards (a
 * private dump for --export, an --import unpacked into a directory removed on failure) and no
 * --work-path was given: a path the error message can name once those are gone. */
const char *ckpt_kept_work_dir(const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/berth-criu-%s", id);
	return buf;
}

/* What follows CRIU's dump: berth's own files next to the images (the streams, the network
 * lease) and, with --export, the archive. */
struct tail {
	const struct berth_checkpoint_opts *x;
	const struct container *c;
	const struct oci_config *cfg;
	const struct stdio_keys *keys;
	const char *images, *upper, *digest, *chain;
	struct berth_error *err;
};

static int dump_tail(const struct tail *t, struct berth_error *err)
{
	const struct berth_checkpoint_opts *x = t->x;
	const struct container *c = t->c;
	const struct oci_config *cfg = t->cfg;
	const char *images = t->images, *upper = t->upper, *digest = t->digest, *chain = t->chain;
	int r = ckpt_stdio_save(images, c->dir_fd, t->keys, !x->pre_dump, err);
	if (r == 0 && !x->pre_dump)
		r = ckpt_network_save(images, cfg, c, err);
	if (r < 0 || !x->export_path || x->pre_dump)
		return r;
	struct ckpt_export ex = {
	    .out_path = x->export_path,
	    .images_dir = images,
	    .rootfs = x->export_rootfs ? c->rec->rootfs : NULL,
	    .upper = upper,
	    .container_id = x->id,
	    .image_ref = ckpt_annotation(c->rec, IMAGE_ANNOTATION_NAME),
	    .image_digest = upper ? digest : NULL,
	    .image_chain_id = upper ? chain : NULL,
	    .network = ckpt_annotation(c->rec, "berth.network"),
	};
	_cleanup_free_ char *cfg_json = NULL;
	r = read_file_at(c->dir_fd, CONFIG_FILE, BERTH_CONFIG_MAX, &cfg_json, &ex.config_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "read the container's config.json");
	/* The address goes into the archive's config.json too: a restore elsewhere asks for it. */
	const char *ip = ckpt_leased_ip(cfg, c);
	if (ip) {
		const struct oci_kv set[] = {{(char *)NETWORK_IP_ANNOTATION, (char *)ip}};
		char *out = NULL;
		r = oci_ckpt_config_set_annotations(cfg_json, ex.config_len, set, ARRAY_SIZE(set), &out,
						    &ex.config_len, err);
		if (r < 0)
			return berth_error_prefix(err, "record the network address in config.json");
		free(cfg_json);
		cfg_json = out;
	}
	ex.config_json = cfg_json;
	return checkpoint_export(&ex, err);
}

/* Post-copy (x->lazy): CRIU serves the memory from the dump itself once the images are written,
 * so the tail runs in its post-dump notification, and x->lazy_ready_fd hears 'R' when the images
 * and the archive are complete (or 'E' and the error when the tail failed). */
static int lazy_post_dump(void *data)
{
	const struct tail *t = data;
	int r = dump_tail(t, t->err);
	char tag = r == 0 ? 'R' : 'E';
	(void)write_all(t->x->lazy_ready_fd, &tag, 1);
	if (r < 0)
		(void)write_all(t->x->lazy_ready_fd, t->err, sizeof(*t->err));
	return r < 0 ? 1 : 0;
}

static int do_checkpoint(const struct berth_context *ctx, const struct berth_checkpoint_opts *x,
			 struct container *c, const char *images, struct berth_error *err, bool *ret_dumped)
{
	_cleanup_(ckpt_config_freep) struct oci_config *cfg = NULL;
	struct ckpt_opts o = {0};
	struct stdio_keys keys = {0};
	enum oci_status st = container_status(ctx, c);
	if (st != OCI_STATUS_RUNNING && st != OCI_STATUS_PAUSED)
		return berth_error_set(err, -EINVAL,
				       "container \"%s\" is not running (it is %s): nothing to checkpoint",
				       x->id, st == OCI_STATUS_CREATED ? "created" : "stopped");
	_cleanup_free_ char *upper = NULL;
	char digest[IMAGE_DIGEST_SIZE] = "", chain[IMAGE_DIGEST_SIZE] = "";
	int r = container_config(c, &cfg, err);
	if (r == 0)
		r = dump_opts(x, cfg, c, &o, &keys, err);
	if (r == 0 && x->export_path && !x->export_rootfs && !x->pre_dump)
		r = export_upper(x, c, &upper, digest, chain, err);
	if (r < 0)
		return r;
	o.images_dir = images;
	char work[PATH_MAX];
	if (!o.work_dir && str_has_prefix(images, ctx->root))
		o.work_dir = ckpt_kept_work_dir(x->id, work, sizeof(work));
	o.criu_path = ctx->criu_path;
	o.orphan_pts_master = cfg->process.terminal;
	if (st == OCI_STATUS_PAUSED)
		o.freeze_cgroup = frozen_cgroup_dir(ctx, c);
	fault_point("checkpoint.before-dump"); /* the next calls go into CRIU */
	/* migrate checked CRIU before the freeze: the check would lengthen the downtime */
	r = x->no_kernel_check
		? 0
		: checkpoint_check_kernel(ctx->criu_path, o.work_dir ? o.work_dir : images, err);
	if (r == 0)
		r = check_session(cfg, o.pid, err);
	struct tail t = {x, c, cfg, &keys, images, upper, digest, chain, err};
	if (x->lazy) {
		o.post_dump = lazy_post_dump;
		o.post_dump_data = &t;
	}
	if (r == 0)
		r = checkpoint_dump(&o, err);
	*ret_dumped = r == 0; /* without --leave-running the container is gone from here on */
	if (r < 0 || x->lazy)
		return r; /* lazy: the tail ran in CRIU's post-dump notification */
	return dump_tail(&t, err);
}

/* Fail before CRIU stops anything when the archive cannot be written where asked. */
static int check_export_target(const char *path, struct berth_error *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (access(dir, W_OK) < 0)
		return berth_error_setf_errno(err, -errno, "--export: cannot write into '%s'", dir);
	return 0;
}

int berth_container_checkpoint(const struct berth_context *ctx, const struct berth_checkpoint_opts *x,
			       struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	char images[PATH_MAX];
	bool private_images = false;
	int r;

	if (x->export_path && x->pre_dump)
		return berth_error_set(err, -EINVAL,
				       "--export: not with --pre-dump (a pre-dump is not restorable alone)");
	if (x->export_rootfs && !x->export_path)
		return berth_error_set(err, -EINVAL, "--export-rootfs: needs --export FILE");
	r = container_load(ctx, x->id, &c, err);
	if (r < 0)
		return r;
	if (x->image_path) {
		if (!realpath(x->image_path, images) &&
		    snprintf(images, sizeof(images), "%s", x->image_path) >= (int)sizeof(images))
			r = berth_error_set(err, -ENAMETOOLONG, "--image-path: too long");
	} else if (x->export_path) {
		/* A private image directory that goes into the archive and away. */
		snprintf(images, sizeof(images), "%s/%s/criu-images", ctx->root, x->id);
		private_images = true;
	} else {
		snprintf(images, sizeof(images), CKPT_DEFAULT_IMAGES);
	}
	bool dumped = false;
	if (r == 0 && x->export_path)
		r = check_export_target(x->export_path, err);
	if (r == 0)
		r = do_checkpoint(ctx, x, &c, images, err, &dumped);
	container_release(&c);
	/* A dump whose export failed is the only copy of the container: keep it and say where. */
	if (r < 0 && dumped && private_images)
		berth_error_prefix(err, "the dump is kept in %s (restore it with --image-path)", images);
	else if (private_images)
		(void)rm_rf_at(AT_FDCWD, images);
	if (r < 0)
		return berth_error_prefix(err, "checkpoint \"%s\"", x->id);
	if (private_images && !x->work_path) {
		char work[PATH_MAX];
		(void)rm_rf_at(AT_FDCWD,
			       ckpt_kept_work_dir(x->id, work, sizeof(work))); /* only for failures */
	}
	if (!x->leave_running && !x->pre_dump)
		remove_dumped(ctx, x->id);
	if (x->status_fd >= 0) {
		(void)write_all(x->status_fd, "", 1);
		close(x->status_fd);
	}
	return 0;
}
