/* `berth image export`: one image as an OCI image-layout tarball, the form `image import`,
 * `ctr images import` and `skopeo copy oci-archive:` read. Blobs are copied byte for byte, so
 * importing the archive again gives the same manifest digest. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/util.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "internal.h"

#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"

static int write_fail(struct archive *a, const char *what, struct berth_error *err)
{
	const char *msg = archive_error_string(a);
	int code = archive_errno(a);

	return berth_error_set(err, code > 0 ? -code : -EIO, "write %s: %s", what, msg ? msg : "failed");
}

static int add_header(struct archive *a, const char *name, mode_t type, int64_t size, struct berth_error *err)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	if (!e)
		return berth_error_set(err, -ENOMEM, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
	archive_entry_set_mtime(e, 0, 0);
	r = archive_write_header(a, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : write_fail(a, name, err);
}

static int add_buffer(struct archive *a, const char *name, const char *data, size_t len,
		      struct berth_error *err)
{
	int r = add_header(a, name, AE_IFREG, (int64_t)len, err);

	if (r == 0 && archive_write_data(a, data, len) != (la_ssize_t)len)
		return write_fail(a, name, err);
	return r;
}

static int add_blob(struct archive *a, struct image_store *s, const struct oci_descriptor *d,
		    struct berth_error *err)
{
	_cleanup_close_ int fd = blob_open(s->fd, d->digest);
	char name[128], buf[65536];
	int64_t left = d->size;
	int r;

	if (fd < 0)
		return berth_error_setf_errno(err, fd, "open blob %s", d->digest);
	snprintf(name, sizeof(name), STORE_BLOBS_DIR "/%s", d->digest + 7);
	r = add_header(a, name, AE_IFREG, d->size, err);
	while (r == 0 && left > 0) {
		ssize_t n = read(fd, buf, left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return berth_error_set(err, -EIO, "blob %s is shorter than %lld bytes", d->digest,
					       (long long)d->size);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return write_fail(a, name, err);
		left -= n;
	}
	return r;
}

/* index.json naming the image the way containerd's export does. */
static int index_json(const struct oci_descriptor *manifest, const char *name, char **ret, size_t *ret_len)
{
	const char *slash = strrchr(name, '/'), *colon = strrchr(slash ? slash : name, ':');
	struct oci_kv ann[] = {
	    {(char *)CONTAINERD_ANNOTATION_IMAGE_NAME, (char *)name},
	    {(char *)OCI_ANNOTATION_REF_NAME, (char *)(colon ? colon + 1 : "latest")},
	};
	struct oci_descriptor d = *manifest;
	struct oci_image_index ix = {.schema_version = 2, .manifests = &d, .n_manifests = 1};

	d.annotations = ann;
	d.n_annotations = ARRAY_SIZE(ann);
	return oci_image_index_to_json(&ix, ret, ret_len);
}

static int write_archive(struct archive *a, struct image_store *s, const struct oci_descriptor *mdesc,
			 const struct oci_image_manifest *m, const char *name, struct berth_error *err)
{
	_cleanup_free_ char *index = NULL;
	size_t len;
	int r;

	r = index_json(mdesc, name, &index, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "serialise index.json");
	r = add_buffer(a, "oci-layout", OCI_LAYOUT_JSON, strlen(OCI_LAYOUT_JSON), err);
	if (r == 0)
		r = add_buffer(a, "index.json", index, len, err);
	if (r == 0)
		r = add_header(a, "blobs", AE_IFDIR, 0, err);
	if (r == 0)
		r = add_header(a, STORE_BLOBS_DIR, AE_IFDIR, 0, err);
	if (r == 0)
		r = add_blob(a, s, mdesc, err);
	if (r == 0)
		r = add_blob(a, s, &m->config, err);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++) {
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(m->layers[j].digest, m->layers[i].digest) == 0;
		if (!dup)
			r = add_blob(a, s, &m->layers[i], err);
	}
	if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
		r = write_fail(a, "the archive", err);
	return r;
}

int image_export(struct image_store *s, const char *ref, const char *file, struct berth_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct oci_image_index *ix = NULL;
	struct oci_image_manifest *m = NULL;
	struct archive *a = NULL;
	const char *name;
	uint64_t rnd = 0;
	size_t pos;
	int r;

	rnd = random_u64();
	if (asprintf(&tmp, "%s.tmp-%08llx", file, (unsigned long long)(rnd & 0xffffffff)) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	r = store_lock(s, LOCK_SH, err);
	if (r < 0)
		return r;
	r = store_read_index(s, &ix, err);
	if (r == 0)
		r = store_resolve(s, ix, ref, &pos, err);
	if (r == 0)
		r = store_load_image(s->fd, &ix->manifests[pos], &m, NULL, err);
	if (r < 0)
		goto out;
	name = store_desc_name(&ix->manifests[pos]);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	a = archive_write_new();
	if (fd < 0 || !a) {
		r = fd < 0 ? berth_error_setf_errno(err, -errno, "create \"%s\"", tmp)
			   : berth_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		r = write_fail(a, file, err);
	else
		r = write_archive(a, s, &ix->manifests[pos], m, name ? name : "image:latest", err);
	if (r == 0 && (fsync(fd) < 0 || rename(tmp, file) < 0))
		r = berth_error_setf_errno(err, -errno, "write \"%s\"", file);
out:
	if (a)
		archive_write_free(a);
	if (r < 0 && fd >= 0)
		unlink(tmp);
	oci_image_manifest_free(m);
	oci_image_index_free(ix);
	store_lock(s, LOCK_UN, NULL);
	return r;
}
