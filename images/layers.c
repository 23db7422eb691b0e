/* The layer cache: layers/<chain id>/ holds one layer unpacked as an overlayfs lower directory.
 * The chain id names the layer together with everything below it, so a directory is shared by
 * every image with the same stack up to that layer, and whiteouts in it mean the same thing to
 * all of them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "internal.h"

void layer_plan_free(struct layer_plan *p)
{
	free(p->chain);
	free(p->fresh);
	memset(p, 0, sizeof(*p));
}

static void layer_path(const char *chain, char *out, size_t size)
{
	snprintf(out, size, STORE_LAYERS_DIR "/%s", chain + 7);
}

/* The name of a layer unpacked by this import in its temporary directory. */
static void tmp_layer_name(const char *chain, char *out, size_t size)
{
	snprintf(out, size, "layer-%s", chain + 7);
}

/* The blob of layer @d in @blobs_fd (the import's directory: an archive must carry every blob
 * its manifests name, even one the store has already). */
static int open_layer_blob(int blobs_fd, const struct oci_descriptor *d, size_t i, struct berth_error *err)
{
	int fd = blob_open(blobs_fd, d->digest);

	if (fd == -ENOENT)
		return berth_error_set(err, -ENOENT, "layer %zu: blob %s (%s) is missing", i, d->digest,
				       d->media_type);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "layer %zu: open blob %s", i, d->digest);
	return fd;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

/* Unpack layer @i into tmp/layer-<chain> above the layers in @below (bottom first). */
static int unpack_fresh(int blobs_fd, int tmp_fd, const struct oci_descriptor *d, const char *diff_id,
			const char *chain, size_t i, const int *below, const struct image_import_opts *opts,
			int *ret_fd, struct berth_error *err)
{
	_cleanup_close_ int blob = -EBADF, dir = -EBADF;
	_cleanup_free_ int *lower = calloc(i + 1, sizeof(int));
	struct image_unpack_opts uo = {
	    .mode = IMAGE_UNPACK_OVERLAY,
	    .no_chown = geteuid() != 0,
	    .max_entries = opts ? opts->max_entries : 0,
	    .max_bytes = opts ? opts->max_bytes : 0,
	    /* the blob's digest was checked as it was copied in; its content is checked here */
	    .verified_digest = d->digest,
	    .expect_size = d->size,
	    .expect_diff_id = diff_id,
	};
	char name[128], part[140];
	int r;

	if (!lower)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t k = 0; k < i; k++)
		lower[k] = below[i - 1 - k]; /* topmost first */
	uo.lower_fds = lower;
	uo.n_lower = i;
	blob = open_layer_blob(blobs_fd, d, i, err);
	if (blob < 0)
		return blob;
	tmp_layer_name(chain, name, sizeof(name));
	snprintf(part, sizeof(part), "%s.part", name);
	if (mkdirat(tmp_fd, part, 0755) < 0)
		return berth_error_setf_errno(err, -errno, "create a layer directory");
	dir = openat(tmp_fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return berth_error_setf_errno(err, -errno, "open a layer directory");
	r = image_layer_unpack(dir, blob, &uo, NULL, err);
	if (r < 0)
		return berth_error_prefix(err, "layer %zu (%s)", i, d->digest);
	if (renameat(tmp_fd, part, tmp_fd, name) < 0)
		return berth_error_setf_errno(err, -errno, "rename a layer directory");
	*ret_fd = TAKE_FD(dir);
	return 0;
}

/* A cached layer reused for a blob the store did not have yet: its content must really be the
 * diff_id the config claims, or the cache would vouch for a layer it never saw. */
static int verify_reused(struct image_store *s, int blobs_fd, const struct oci_descriptor *d,
			 const char *diff_id, size_t i, struct berth_error *err)
{
	_cleanup_close_ int blob = open_layer_blob(blobs_fd, d, i, err), known = -EBADF;
	struct image_unpack_opts uo = {
	    .verified_digest = d->digest, .expect_size = d->size, .expect_diff_id = diff_id};
	int r;

	if (blob < 0)
		return blob;
	known = blob_open(s->fd, d->digest);
	if (known >= 0)
		return 0; /* verified when it was first imported */
	r = image_layer_unpack(-1, blob, &uo, NULL, err);
	return r < 0 ? berth_error_prefix(err, "layer %zu (%s)", i, d->digest) : 0;
}

int layers_prepare(struct image_store *s, int blobs_fd, int tmp_fd, const struct oci_image_manifest *m,
		   const struct oci_image_config *c, const struct image_import_opts *opts,
		   struct layer_plan *ret, struct berth_error *err)
{
	struct layer_plan p = {.n = m->n_layers};
	_cleanup_free_ int *fds = calloc(m->n_layers + 1, sizeof(int));
	char path[128], name[128];
	int r = 0;

	p.fresh = calloc(m->n_layers + 1, sizeof(bool));
	if (!fds || !p.fresh || image_chain_ids(c, &p.chain, err) < 0) {
		layer_plan_free(&p);
		return err && err->code ? err->code : berth_error_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < p.n; i++)
		fds[i] = -EBADF;
	for (size_t i = 0; r == 0 && i < p.n; i++) {
		int blob = open_layer_blob(blobs_fd, &m->layers[i], i, err);
		if (blob < 0) {
			r = blob;
			break;
		}
		close(blob);
		layer_path(p.chain[i], path, sizeof(path));
		tmp_layer_name(p.chain[i], name, sizeof(name));
		/* Unpacked already: by this import for another image, or by the caller (a rootfs
		 * import learns its diff_id that way). */
		fds[i] = openat(tmp_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[i] >= 0) {
			p.fresh[i] = true;
			continue;
		}
		fds[i] = openat(s->fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[i] >= 0) {
			r = verify_reused(s, blobs_fd, &m->layers[i], c->diff_ids[i], i, err);
			continue;
		}
		p.fresh[i] = true;
		r = unpack_fresh(blobs_fd, tmp_fd, &m->layers[i], c->diff_ids[i], p.chain[i], i, fds, opts,
				 &fds[i], err);
	}
	close_fds(fds, p.n);
	if (r < 0) {
		layer_plan_free(&p);
		return r;
	}
	*ret = p;
	return 0;
}

int layers_commit(struct image_store *s, int tmp_fd, const struct layer_plan *p, struct berth_error *err)
{
	char path[128], name[128];

	for (size_t i = 0; i < p->n; i++) {
		layer_path(p->chain[i], path, sizeof(path));
		if (!p->fresh[i]) {
			if (faccessat(s->fd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
				return berth_error_set(
				    err, -ESTALE, "cached layer %s was removed while importing: import again",
				    p->chain[i]);
			continue;
		}
		tmp_layer_name(p->chain[i], name, sizeof(name));
		if (renameat(tmp_fd, name, s->fd, path) == 0)
			continue;
		/* Another import committed the same layer first: keep theirs. ENOENT: another image
		 * of this import moved it in already. */
		int e = errno;
		if (e == ENOENT && faccessat(s->fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (e != EEXIST && e != ENOTEMPTY)
			return berth_error_setf_errno(err, -e, "store layer %s", p->chain[i]);
	}
	return 0;
}
