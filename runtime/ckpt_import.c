/* restore --import: unpack an archive written by checkpoint --export into a bundle (a whole
 * rootfs) or into this host's image store (an overlay upper dir over the named image). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "berth/images.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "ckpt_internal.h"
#include "lifecycle.h"

#define DEFAULT_IMPORT_ROOT "/var/lib/berth/restored"

/* The imported config.json's berth.image.* annotations name the dumping host's store: point them
 * at this host's (@rootfs/@storage: NULL drops them), so that delete releases the right directory. */
static int rebase_config(int dfd, const char *rootfs, const char *storage, const char *image,
			 struct berth_error *err)
{
	_cleanup_free_ char *json = NULL, *out = NULL;
	size_t len, out_len;
	const struct oci_kv set[] = {
	    {(char *)IMAGE_ANNOTATION_ROOTFS, (char *)rootfs},
	    {(char *)IMAGE_ANNOTATION_STORAGE, (char *)storage},
	    {(char *)IMAGE_ANNOTATION_NAME, (char *)image},
	};
	int r = read_file_at(dfd, CKPT_ARCHIVE_CONFIG, BERTH_CONFIG_MAX, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--import: read " CKPT_ARCHIVE_CONFIG);
	r = oci_ckpt_config_set_annotations(json, len, set, ARRAY_SIZE(set), &out, &out_len, err);
	if (r == 0)
		r = write_file_atomic_at(dfd, CKPT_ARCHIVE_CONFIG, out, out_len, 0644);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--import: rewrite " CKPT_ARCHIVE_CONFIG);
	return 0;
}

/* An archive with the whole rootfs: unpacked into --bundle (default under DEFAULT_IMPORT_ROOT). */
static int import_rootfs(const struct berth_restore_opts *x, struct restore_ctx *rc, struct berth_error *err)
{
	if (!rc->manifest->has_rootfs)
		return berth_error_set(err, -EINVAL,
				       "--import: the archive carries neither a rootfs nor an upper dir "
				       "(checkpoint with --export-rootfs)");
	oci_ckpt_manifest_free(rc->manifest);
	rc->manifest = NULL;
	if (!x->bundle) {
		snprintf(rc->imported, sizeof(rc->imported), DEFAULT_IMPORT_ROOT "/%s", x->id);
		(void)mkdir_p_at(AT_FDCWD, DEFAULT_IMPORT_ROOT, 0700);
	} else {
		snprintf(rc->imported, sizeof(rc->imported), "%s", x->bundle);
	}
	int r = checkpoint_import(x->import_path, rc->imported, &rc->manifest, err);
	if (r < 0) {
		rc->imported[0] = '\0'; /* removed already */
		return r;
	}
	/* Not this host's image store: the copy is a plain bundle now. */
	_cleanup_close_ int dfd = open(rc->imported, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_setf_errno(err, -errno, "open '%s'", rc->imported);
	return rebase_config(dfd, NULL, NULL, rc->manifest->image, err);
}

/* The imported config.json must keep the rootfs where the store put it. */
static int check_root_path(int dfd, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	_cleanup_(ckpt_config_freep) struct oci_config *cfg = NULL;
	size_t len;
	int r = read_file_at(dfd, CKPT_ARCHIVE_CONFIG, BERTH_CONFIG_MAX, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--import: read " CKPT_ARCHIVE_CONFIG);
	r = oci_config_parse(json, len, &cfg, err);
	if (r < 0)
		return berth_error_prefix(err, "--import: " CKPT_ARCHIVE_CONFIG);
	if (strcmp(cfg->root_path, "rootfs") != 0)
		return berth_error_set(err, -EINVAL,
				       "--import: " CKPT_ARCHIVE_CONFIG ": root.path is '%s', not the image "
				       "container's 'rootfs'",
				       cfg->root_path);
	return 0;
}

/* An archive with an upper dir (a `run --image` container): the image must be in this host's
 * store; <storage>/containers/<id>/ is made as `run --image` makes it, the archive unpacked into
 * it (upper/ onto its upper dir), and the overlay mounted. */
static int import_upper(const struct berth_restore_opts *x, struct restore_ctx *rc, struct berth_error *err)
{
	const char *storage = x->storage ? x->storage : IMAGE_DEFAULT_STORAGE;
	struct oci_ckpt_manifest *m = rc->manifest, *got = NULL;
	_cleanup_free_ char *dir = NULL, *rootfs = NULL;
	_cleanup_close_ int dfd = -EBADF;

	if (x->bundle)
		return berth_error_set(
		    err, -EINVAL,
		    "--bundle: the archive holds an image-based container, which is restored "
		    "into the image store (--storage), not into a bundle directory");
	int r = image_store_open(storage, false, &rc->store, err);
	if (r == -ENOENT)
		return berth_error_set(
		    err, -ENOENT,
		    "image \"%s\" (%s) is not in the image store \"%s\" (there is no store): "
		    "import it there first (berth --storage %s image import FILE)",
		    m->image, m->image_digest, storage, storage);
	if (r == 0)
		r = image_container_create_for_import(rc->store, m->image, m->image_digest, m->image_chain_id,
						      x->id, &dir, err);
	if (r < 0)
		return r;
	snprintf(rc->store_dir, sizeof(rc->store_dir), "%s", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_setf_errno(err, -errno, "open '%s'", dir);
	r = checkpoint_import_into(x->import_path, dfd, &got, err);
	if (r == 0 && strcmp(got->image_digest, m->image_digest) != 0)
		r = berth_error_set(err, -EINVAL, "--import: the archive names two different images");
	oci_ckpt_manifest_free(got);
	if (r == 0 && asprintf(&rootfs, "%s/rootfs", dir) < 0)
		r = berth_error_set(err, -ENOMEM, "out of memory");
	if (r == 0)
		r = rebase_config(dfd, rootfs, storage, m->image, err);
	if (r == 0)
		r = check_root_path(dfd, err);
	if (r < 0)
		return r;
	return image_container_mount(rc->store, x->id, err);
}

/* A failed --import with an upper dir: unmount and remove the store directory, from the mount
 * namespace the overlay is mounted in. */
void ckpt_import_unwind(struct restore_ctx *rc, const char *id)
{
	struct berth_error e = {0};
	if (!rc->store_dir[0])
		return;
	if (rc->mntns_fd >= 0 && setns(rc->mntns_fd, CLONE_NEWNS) < 0)
		log_warn("restore: cannot go back to the mount namespace of '%s': %m", rc->store_dir);
	if (image_container_remove(rc->store, id, &e) < 0)
		log_warn("restore: %s", e.msg);
	rc->store_dir[0] = '\0';
}

/* Before unpacking an archive of a container on a berth network: the network must be defined here. */
static int import_network_check(const struct berth_context *ctx, const char *network, struct berth_error *err)
{
	_cleanup_close_ int root_fd = -EBADF;
	int r = state_root_open(ctx->root, false, &root_fd, err);
	if (r < 0 && r != -ENOENT)
		return r;
	berth_error_clear(err);
	return network_check_exists(root_fd, network, err);
}

/* Unpack --import's archive and point @rc at it: the bundle it made (in *@ret_bundle) and the
 * CRIU images inside it. */
int ckpt_import_bundle(const struct berth_context *ctx, const struct berth_restore_opts *x,
		       struct restore_ctx *rc, const char **ret_bundle, struct berth_error *err)
{
	int r = checkpoint_archive_manifest(x->import_path, &rc->manifest, err);
	if (r == 0 && rc->manifest->network)
		r = import_network_check(ctx, rc->manifest->network, err);
	if (r == 0)
		r = rc->manifest->has_upper ? import_upper(x, rc, err) : import_rootfs(x, rc, err);
	if (r < 0)
		return r;
	*ret_bundle = rc->store_dir[0] ? rc->store_dir : rc->imported;
	if (snprintf(rc->images, sizeof(rc->images), "%s/" CKPT_ARCHIVE_IMAGES, *ret_bundle) >=
	    (int)sizeof(rc->images))
		return berth_error_set(err, -ENAMETOOLONG, "--bundle: path too long");
	return 0;
}
