/* image_layer_unpack(): one pass over a layer blob that unpacks it and verifies it.
 *
 * Two libarchive readers are stacked. The outer one reads the blob through our own callback
 * (which hashes the blob's bytes: the digest the manifest names) and only decompresses (the
 * "raw" format hands out the decompressed stream as one entry). The inner one parses tar from
 * the outer one's data through a second callback, which hashes the uncompressed bytes: the
 * diff_id the image config names. Whatever the tar reader does not consume (the end-of-archive
 * padding) is drained into both hashes at the end. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "unpack.h"

#define BLOCK (128 * 1024)

struct blob_src {
	int fd;
	bool hash;
	struct berth_sha256 sha;
	uint64_t size;
	int64_t limit; /* the expected size, or -1 */
	const struct image_unpack_opts *o;
	char buf[BLOCK];
};

struct tar_src {
	struct archive *outer;
	bool hash;
	struct berth_sha256 sha;
	uint64_t size, limit;
	char buf[BLOCK];
};

static la_ssize_t blob_read(struct archive *a, void *data, const void **buf)
{
	struct blob_src *s = data;
	ssize_t n;

	do
		n = read(s->fd, s->buf, sizeof(s->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read the blob: %s", strerror(errno));
		return -1;
	}
	if (s->hash)
		berth_sha256_update(&s->sha, s->buf, (size_t)n);
	s->size += (uint64_t)n;
	if (s->limit >= 0 && s->size > (uint64_t)s->limit) {
		archive_set_error(a, EFBIG, "the blob is larger than its descriptor's size %lld",
				  (long long)s->limit);
		return -1;
	}
	if (s->o->progress && n > 0)
		s->o->progress(s->o->progress_data, s->size);
	*buf = s->buf;
	return n;
}

static la_ssize_t tar_read(struct archive *a, void *data, const void **buf)
{
	struct tar_src *t = data;
	la_ssize_t n = archive_read_data(t->outer, t->buf, sizeof(t->buf));

	if (n < 0) {
		archive_set_error(a, archive_errno(t->outer), "%s", archive_error_string(t->outer));
		return -1;
	}
	if (t->hash)
		berth_sha256_update(&t->sha, t->buf, (size_t)n);
	t->size += (uint64_t)n;
	if (t->size > t->limit) {
		archive_set_error(a, EFBIG, "the uncompressed layer is larger than %llu bytes",
				  (unsigned long long)t->limit);
		return -1;
	}
	*buf = t->buf;
	return n;
}

static void free_archive(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
	*a = NULL;
}
#define _cleanup_archive_ _cleanup_(free_archive)

static int archive_fail(struct berth_error *err, struct archive *a, const char *what)
{
	const char *msg = archive_error_string(a);
	int code = archive_errno(a);

	return berth_error_set(err, code > 0 ? -code : -EINVAL, "%s: %s", what, msg ? msg : "unknown error");
}

/* The decompressing reader. Only the filters a layer or rootfs tarball can carry: libarchive's
 * others would run external programs picked by the data. */
static int open_outer(struct archive **ret, struct blob_src *src, struct berth_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	if (!a)
		return berth_error_set(err, -ENOMEM, "out of memory");
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_format_raw(a);
	*ret = a;
	if (archive_read_open(a, src, NULL, blob_read, NULL) != ARCHIVE_OK)
		return archive_fail(err, a, "layer blob");
	int r = archive_read_next_header(a, &e);
	if (r == ARCHIVE_EOF)
		return berth_error_set(err, -EINVAL, "layer blob: empty");
	if (r < ARCHIVE_WARN)
		return archive_fail(err, a, "layer blob");
	return 0;
}

static int open_inner(struct archive **ret, struct tar_src *src, struct berth_error *err)
{
	struct archive *a = archive_read_new();

	if (!a)
		return berth_error_set(err, -ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	*ret = a;
	if (archive_read_open(a, src, NULL, tar_read, NULL) != ARCHIVE_OK)
		return archive_fail(err, a, "layer tar");
	return 0;
}

static int drain(struct tar_src *t, struct blob_src *b, struct berth_error *err)
{
	la_ssize_t n;

	while ((n = archive_read_data(t->outer, t->buf, sizeof(t->buf))) > 0) {
		if (t->hash)
			berth_sha256_update(&t->sha, t->buf, (size_t)n);
		t->size += (uint64_t)n;
		if (t->size > t->limit)
			return berth_error_set(err, -EFBIG,
					       "the uncompressed layer is larger than %llu bytes",
					       (unsigned long long)t->limit);
	}
	if (n < 0)
		return archive_fail(err, t->outer, "layer blob");
	/* A compressed stream may end before the file does (trailing garbage is still the blob). */
	for (;;) {
		ssize_t m = read(b->fd, b->buf, sizeof(b->buf));
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0)
			return berth_error_setf_errno(err, -errno, "read the blob");
		if (m == 0)
			return 0;
		if (b->hash)
			berth_sha256_update(&b->sha, b->buf, (size_t)m);
		b->size += (uint64_t)m;
	}
}

static int entries_loop(struct unpack *u, struct archive *inner)
{
	struct archive_entry *e;
	int r;

	while ((r = archive_read_next_header(inner, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (++u->entries > u->max_entries)
			return berth_error_set(u->err, -E2BIG, "layer has more than %llu entries",
					       (unsigned long long)u->max_entries);
		if (u->root_fd < 0)
			continue;
		r = unpack_entry(u, e);
		if (r < 0)
			return r;
	}
	if (r != ARCHIVE_EOF)
		return archive_fail(u->err, inner, "layer tar");
	return u->root_fd < 0 ? 0 : unpack_finish(u);
}

static int verify(const struct image_unpack_opts *o, const struct image_unpack_result *res,
		  struct berth_error *err)
{
	if (o->expect_size >= 0 && res->blob_size != (uint64_t)o->expect_size)
		return berth_error_set(err, -EBADMSG, "blob %s has %llu bytes, its descriptor says %lld",
				       res->digest, (unsigned long long)res->blob_size,
				       (long long)o->expect_size);
	if (o->expect_digest && res->digest[0] && strcmp(o->expect_digest, res->digest) != 0)
		return berth_error_set(err, -EBADMSG, "blob %s: content has digest %s", o->expect_digest,
				       res->digest);
	if (o->expect_diff_id && res->diff_id[0] && strcmp(o->expect_diff_id, res->diff_id) != 0)
		return berth_error_set(
		    err, -EBADMSG, "layer %s: uncompressed content has digest %s, the image config says %s",
		    res->digest, res->diff_id, o->expect_diff_id);
	return 0;
}

int image_layer_unpack(int root_fd, int blob_fd, const struct image_unpack_opts *opts,
		       struct image_unpack_result *ret, struct berth_error *err)
{
	_cleanup_archive_ struct archive *outer = NULL, *inner = NULL;
	_cleanup_free_ struct blob_src *b = calloc(1, sizeof(*b));
	_cleanup_free_ struct tar_src *t = calloc(1, sizeof(*t));
	struct image_unpack_result res = {0};
	uint8_t d[BERTH_SHA256_SIZE];
	struct unpack u = {
	    .root_fd = root_fd,
	    .o = opts,
	    .max_entries = opts->max_entries ? opts->max_entries : IMAGE_MAX_ENTRIES_DEFAULT,
	    .max_bytes = opts->max_bytes ? opts->max_bytes : IMAGE_MAX_BYTES_DEFAULT,
	    .max_name = opts->max_name ? opts->max_name : IMAGE_MAX_NAME_DEFAULT,
	    .chown_ok = !opts->no_chown,
	    .err = err,
	};
	int r;

	if (!b || !t)
		return berth_error_set(err, -ENOMEM, "out of memory");
	if (u.max_name >= PATH_MAX)
		u.max_name = PATH_MAX - 1;
	b->fd = blob_fd;
	b->limit = opts->expect_size;
	b->o = opts;
	/* Hash only what is asked for: SHA-256 is most of an unpack's CPU time. The blob is hashed
	 * from its first byte whenever anything is wanted, as the compression is only known once
	 * libarchive has read the start. */
	bool want_blob = (opts->expect_digest || opts->want_digests) && !opts->verified_digest;
	bool want_diff = opts->expect_diff_id || opts->want_digests;
	b->hash = want_blob || (want_diff && !opts->verified_digest);
	berth_sha256_init(&b->sha);
	berth_sha256_init(&t->sha);
	/* Headers and padding on top of the file data: a bound on decompression bombs. */
	t->limit = u.max_bytes + (u.max_entries + 16) * 4096;
	r = open_outer(&outer, b, err);
	/* An uncompressed blob is its own tar stream: its digest is the diff_id, hashed once. */
	bool plain = r == 0 && archive_filter_count(outer) <= 1;
	if (!plain)
		b->hash = want_blob;
	t->hash = !plain && want_diff;
	if (r == 0) {
		t->outer = outer;
		r = open_inner(&inner, t, err);
	}
	if (r == 0) {
		u.a = inner;
		r = entries_loop(&u, inner);
	}
	unpack_free(&u);
	if (r == 0)
		r = drain(t, b, err);
	if (r < 0)
		return r;
	if (b->hash) {
		berth_sha256_final(&b->sha, d);
		digest_format(d, res.digest);
	} else if (opts->verified_digest) {
		snprintf(res.digest, sizeof(res.digest), "%s", opts->verified_digest);
	}
	if (t->hash) {
		berth_sha256_final(&t->sha, d);
		digest_format(d, res.diff_id);
	} else if (plain && res.digest[0]) {
		memcpy(res.diff_id, res.digest, sizeof(res.diff_id));
	}
	res.blob_size = b->size;
	res.entries = u.entries;
	res.bytes = u.bytes;
	r = verify(opts, &res, err);
	if (r < 0)
		return r;
	if (ret)
		*ret = res;
	return 0;
}
