/* The store's files: opening and locking it, index.json, content-addressed blobs, and the
 * temporary directories imports work in. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "internal.h"

#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"

/* ---- digests ---- */

void digest_format(const uint8_t d[BERTH_SHA256_SIZE], char out[IMAGE_DIGEST_SIZE])
{
	char hex[BERTH_SHA256_HEX_SIZE];

	berth_sha256_hex(d, hex);
	snprintf(out, IMAGE_DIGEST_SIZE, "sha256:%s", hex);
}

void chain_id_next(const char *prev, const char *diff_id, char out[IMAGE_DIGEST_SIZE])
{
	struct berth_sha256 c;
	uint8_t d[BERTH_SHA256_SIZE];

	if (!prev) {
		snprintf(out, IMAGE_DIGEST_SIZE, "%s", diff_id);
		return;
	}
	berth_sha256_init(&c);
	berth_sha256_update(&c, prev, strlen(prev));
	berth_sha256_update(&c, " ", 1);
	berth_sha256_update(&c, diff_id, strlen(diff_id));
	berth_sha256_final(&c, d);
	digest_format(d, out);
}

/* ---- opening ---- */

static int ensure_layout(int fd, struct berth_error *err, const char *path)
{
	static const char *const dirs[] = {"blobs", STORE_BLOBS_DIR, STORE_LAYERS_DIR, STORE_CONTAINERS_DIR,
					   STORE_TMP_DIR};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (mkdirat(fd, dirs[i], 0700) < 0 && errno != EEXIST)
			return berth_error_setf_errno(err, -errno, "image store \"%s\": create %s", path,
						      dirs[i]);
	}
	if (faccessat(fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		/* Concurrent first uses of a store each write their own copy (same content). */
		char tmp[64];
		uint64_t rnd = 0;

		rnd = random_u64();
		snprintf(tmp, sizeof(tmp), ".oci-layout-%016llx", (unsigned long long)rnd);
		r = write_file_at(fd, tmp, OCI_LAYOUT_JSON, strlen(OCI_LAYOUT_JSON), true, 0644);
		if (r == 0 && renameat(fd, tmp, fd, "oci-layout") < 0)
			r = -errno;
		if (r < 0) {
			unlinkat(fd, tmp, 0);
			return berth_error_setf_errno(err, r, "image store \"%s\": write oci-layout", path);
		}
	}
	return 0;
}

int image_store_open(const char *path, bool create, struct image_store **ret, struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF, lock_fd = -EBADF;
	struct image_store *s;
	int r;

	if (!path || path[0] != '/')
		return berth_error_set(err, -EINVAL, "image store path \"%s\" is not absolute",
				       path ? path : "");
	if (create) {
		r = mkdir_p_at(AT_FDCWD, path, 0700);
		if (r < 0)
			return berth_error_setf_errno(err, r, "create image store \"%s\"", path);
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return berth_error_set(err, -ENOENT, "image store \"%s\" does not exist", path);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "open image store \"%s\"", path);
	if (create) {
		r = ensure_layout(fd, err, path);
		if (r < 0)
			return r;
	}
	lock_fd = openat(fd, STORE_LOCK_FILE, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (lock_fd < 0 && errno == ENOENT)
		return berth_error_set(err, -ENOENT, "image store \"%s\" does not exist", path);
	if (lock_fd < 0)
		return berth_error_setf_errno(err, -errno, "open the lock of image store \"%s\"", path);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return berth_error_set(err, -ENOMEM, "out of memory");
	}
	s->fd = TAKE_FD(fd);
	s->lock_fd = TAKE_FD(lock_fd);
	*ret = s;
	return 0;
}

void image_store_close(struct image_store *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->path);
	free(s);
}

int store_lock(struct image_store *s, int how, struct berth_error *err)
{
	while (flock(s->lock_fd, how) < 0) {
		if (errno != EINTR)
			return berth_error_setf_errno(err, -errno, "lock image store \"%s\"", s->path);
	}
	return 0;
}

/* ---- the index ---- */

int store_read_index(struct image_store *s, struct oci_image_index **ret, struct berth_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_at(s->fd, STORE_INDEX_FILE, OCI_IMAGE_DOC_MAX, &buf, &len);
	if (r == -ENOENT) {
		struct oci_image_index *ix = calloc(1, sizeof(*ix));
		if (!ix)
			return berth_error_set(err, -ENOMEM, "out of memory");
		ix->schema_version = 2;
		*ret = ix;
		return 0;
	}
	if (r < 0)
		return berth_error_setf_errno(err, r, "read %s/%s", s->path, STORE_INDEX_FILE);
	r = oci_image_index_parse(buf, len, ret, err);
	if (r < 0)
		return berth_error_prefix(err, "image store \"%s\"", s->path);
	return 0;
}

/* Write, fsync, rename: the index is the commit point of every change to the store. */
int store_write_index(struct image_store *s, const struct oci_image_index *index, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t len;
	int r;

	r = oci_image_index_to_json(index, &json, &len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "serialise the image index");
	fd = openat(s->fd, STORE_INDEX_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "write %s/%s", s->path, STORE_INDEX_FILE);
	r = write_all(fd, json, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(s->fd, STORE_INDEX_FILE ".tmp", s->fd, STORE_INDEX_FILE) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(s->fd, STORE_INDEX_FILE ".tmp", 0);
		return berth_error_setf_errno(err, r, "write %s/%s", s->path, STORE_INDEX_FILE);
	}
	return 0;
}

const char *store_desc_name(const struct oci_descriptor *d)
{
	for (size_t i = d->n_annotations; i-- > 0;) {
		if (strcmp(d->annotations[i].key, OCI_ANNOTATION_REF_NAME) == 0)
			return d->annotations[i].value;
	}
	return NULL;
}

/* ---- blobs ---- */

int blob_open(int layout_fd, const char *digest)
{
	char path[128];
	int fd;

	if (!oci_digest_valid(digest))
		return -EINVAL;
	snprintf(path, sizeof(path), STORE_BLOBS_DIR "/%s", digest + 7);
	fd = openat(layout_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int blob_read_verified(int layout_fd, const struct oci_descriptor *d, char **ret, size_t *ret_len,
		       struct berth_error *err)
{
	_cleanup_close_ int fd = blob_open(layout_fd, d->digest);
	_cleanup_free_ char *buf = NULL;
	uint8_t sum[BERTH_SHA256_SIZE];
	char digest[IMAGE_DIGEST_SIZE];
	ssize_t n;

	if (fd == -ENOENT)
		return berth_error_set(err, -ENOENT, "blob %s (%s) is missing", d->digest, d->media_type);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "open blob %s", d->digest);
	if (d->size < 0 || (uint64_t)d->size > OCI_IMAGE_DOC_MAX)
		return berth_error_set(err, -EFBIG, "blob %s (%s) is larger than %u bytes", d->digest,
				       d->media_type, OCI_IMAGE_DOC_MAX);
	buf = malloc((size_t)d->size + 2);
	if (!buf)
		return berth_error_set(err, -ENOMEM, "out of memory");
	/* One byte more than announced shows a blob that is too long. */
	n = read_full(fd, buf, (size_t)d->size + 1);
	if (n < 0)
		return berth_error_setf_errno(err, (int)n, "read blob %s", d->digest);
	if (n != d->size)
		return berth_error_set(err, -EBADMSG, "blob %s has %s bytes than its descriptor's %lld",
				       d->digest, n < d->size ? "fewer" : "more", (long long)d->size);
	berth_sha256(buf, (size_t)n, sum);
	digest_format(sum, digest);
	if (strcmp(digest, d->digest) != 0)
		return berth_error_set(err, -EBADMSG, "blob %s: content has digest %s", d->digest, digest);
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = (size_t)n;
	return 0;
}

int blob_writer_open(struct blob_writer *w, int layout_fd, struct berth_error *err)
{
	uint64_t rnd = 0;

	memset(w, 0, sizeof(*w));
	w->fd = -EBADF;
	w->dir_fd = openat(layout_fd, STORE_BLOBS_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->dir_fd < 0)
		return berth_error_setf_errno(err, -errno, "open the blob directory");
	rnd = random_u64();
	snprintf(w->tmp, sizeof(w->tmp), ".tmp-%016llx", (unsigned long long)rnd);
	w->fd = openat(w->dir_fd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int r = -errno;
		blob_writer_abort(w);
		return berth_error_setf_errno(err, r, "create a blob");
	}
	berth_sha256_init(&w->sha);
	return 0;
}

int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct berth_error *err)
{
	int r = write_all(w->fd, buf, len);

	if (r < 0)
		return berth_error_setf_errno(err, r, "write a blob");
	berth_sha256_update(&w->sha, buf, len);
	w->size += len;
	return 0;
}

int blob_writer_commit(struct blob_writer *w, char ret_digest[IMAGE_DIGEST_SIZE], struct berth_error *err)
{
	uint8_t d[BERTH_SHA256_SIZE];
	char digest[IMAGE_DIGEST_SIZE];

	berth_sha256_final(&w->sha, d);
	digest_format(d, digest);
	if (fsync(w->fd) < 0 || close(w->fd) < 0) {
		w->fd = -EBADF;
		int r = -errno;
		blob_writer_abort(w);
		return berth_error_setf_errno(err, r, "write blob %s", digest);
	}
	w->fd = -EBADF;
	if (renameat(w->dir_fd, w->tmp, w->dir_fd, digest + 7) < 0) {
		int r = -errno;
		blob_writer_abort(w);
		return berth_error_setf_errno(err, r, "store blob %s", digest);
	}
	close(w->dir_fd);
	w->dir_fd = -EBADF;
	memcpy(ret_digest, digest, IMAGE_DIGEST_SIZE);
	return 0;
}

void blob_writer_abort(struct blob_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->dir_fd >= 0) {
		if (w->tmp[0])
			unlinkat(w->dir_fd, w->tmp, 0);
		close(w->dir_fd);
	}
	w->fd = w->dir_fd = -EBADF;
}

int blob_write(int layout_fd, const void *data, size_t len, char ret_digest[IMAGE_DIGEST_SIZE],
	       struct berth_error *err)
{
	struct blob_writer w;
	int r = blob_writer_open(&w, layout_fd, err);

	if (r < 0)
		return r;
	r = blob_writer_write(&w, data, len, err);
	if (r < 0) {
		blob_writer_abort(&w);
		return r;
	}
	return blob_writer_commit(&w, ret_digest, err);
}

/* ---- temporary directories ---- */

int store_tmp_create(struct image_store *s, char *ret_name, size_t size, int *ret_fd, struct berth_error *err)
{
	_cleanup_close_ int tmp = openat(s->fd, STORE_TMP_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	uint64_t rnd = 0;
	int fd;

	if (tmp < 0)
		return berth_error_setf_errno(err, -errno, "open %s/%s", s->path, STORE_TMP_DIR);
	rnd = random_u64();
	snprintf(ret_name, size, STORE_TMP_DIR "/%016llx", (unsigned long long)rnd);
	if (mkdirat(s->fd, ret_name, 0700) < 0)
		return berth_error_setf_errno(err, -errno, "create %s/%s", s->path, ret_name);
	fd = openat(s->fd, ret_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		unlinkat(s->fd, ret_name, AT_REMOVEDIR);
		return berth_error_setf_errno(err, r, "lock %s/%s", s->path, ret_name);
	}
	if (mkdirat(fd, "blobs", 0700) < 0 || mkdirat(fd, STORE_BLOBS_DIR, 0700) < 0) {
		int r = -errno;
		store_tmp_remove(s, ret_name, fd);
		return berth_error_setf_errno(err, r, "create %s/%s", s->path, ret_name);
	}
	*ret_fd = fd;
	return 0;
}

void store_tmp_remove(struct image_store *s, const char *name, int fd)
{
	int r = rm_rf_at(s->fd, name);

	if (r < 0)
		log_warn("cannot remove %s/%s: %s", s->path, name, strerror(-r));
	if (fd >= 0)
		close(fd);
}

/* Remove what an import that died left in tmp/: a directory nobody holds the lock of. The store
 * is locked exclusively, so no import is between creating its directory and locking it. */
void store_tmp_sweep(struct image_store *s)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->fd, STORE_TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		_cleanup_close_ int sub = -EBADF;

		if (de->d_name[0] == '.')
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || flock(sub, LOCK_EX | LOCK_NB) < 0)
			continue;
		log_debug("removing the stale import %s/%s/%s", s->path, STORE_TMP_DIR, de->d_name);
		(void)rm_rf_at(dirfd(d), de->d_name);
	}
}
