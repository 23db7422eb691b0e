/* `berth image import`: an archive into the store, all or nothing.
 *
 * A first pass over the archive reads only entry names (and the small index.json, oci-layout or
 * manifest.json) to tell an OCI image layout from a `docker save` archive from a plain rootfs
 * tarball. A second pass copies the blobs it needs into a private temporary directory, each
 * hashed as it is written (an OCI blob must match its name). Manifests and configs are then read
 * back verified, missing layers are unpacked into the same directory (diff_ids verified), and
 * only with everything in place is the store locked exclusively to move blobs and layers in and
 * write index.json, which is the commit point. Failure or a crash before it leaves only the
 * temporary directory, which the next import removes. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "internal.h"

#define BLOCK (128 * 1024)
#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ALIAS_DEPTH 8
#define NAME_LEN 512

enum format { FMT_ROOTFS, FMT_OCI, FMT_DOCKER };

/* A file of a docker archive: its blob, or another entry it links to. */
struct member {
	char *name;
	char *alias;
	char digest[IMAGE_DIGEST_SIZE];
	int64_t size;
};

struct pending {
	char **names; /* NULL-terminated */
	struct oci_descriptor desc;
	struct oci_image_manifest *m;
	struct oci_image_config *c;
	struct layer_plan plan;
};

struct imp {
	struct image_store *s;
	const struct image_import_opts *o;
	struct berth_error *err;
	const char *file;
	char tmp_name[64];
	int tmp_fd;
	enum format fmt;
	bool has_layout;
	char *index_json, *docker_json;
	size_t index_len, docker_len;
	struct oci_docker_manifest *dm;
	size_t n_dm;
	struct strset wanted;
	struct member *members;
	size_t n_members;
	struct pending *images;
	size_t n_images;
	char derived[NAME_LEN]; /* a name made from the file's name */
};

/* ---- reading the archive file ---- */

struct src {
	int fd;
	uint64_t read, total;
	bool report;
	const struct image_import_opts *o;
	char buf[BLOCK];
};

static la_ssize_t src_read(struct archive *a, void *data, const void **buf)
{
	struct src *s = data;
	ssize_t n;

	do
		n = read(s->fd, s->buf, sizeof(s->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (a)
			archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	s->read += (uint64_t)n;
	if (s->report && s->o && s->o->progress && n > 0)
		s->o->progress(s->o->progress_data, s->read, s->total);
	*buf = s->buf;
	return n;
}

struct reader {
	struct archive *a;
	struct src *src;
};

static void reader_close(struct reader *r)
{
	if (r->a)
		archive_read_free(r->a);
	if (r->src) {
		if (r->src->fd >= 0)
			close(r->src->fd);
		free(r->src);
	}
	memset(r, 0, sizeof(*r));
}

static int reader_open(struct imp *im, struct reader *r, bool report)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->src = calloc(1, sizeof(*r->src));
	if (!r->src)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	r->src->o = im->o;
	r->src->report = report;
	r->src->fd = open(im->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (r->src->fd < 0)
		return berth_error_setf_errno(im->err, -errno, "open \"%s\"", im->file);
	if (fstat(r->src->fd, &st) < 0 || S_ISDIR(st.st_mode))
		return berth_error_set(im->err, -EISDIR, "\"%s\" is a directory, not an archive", im->file);
	r->src->total = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	r->a = archive_read_new();
	if (!r->a)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	archive_read_support_filter_gzip(r->a);
	archive_read_support_filter_zstd(r->a);
	archive_read_support_filter_xz(r->a);
	archive_read_support_filter_bzip2(r->a);
	archive_read_support_format_tar(r->a);
	if (archive_read_open(r->a, r->src, NULL, src_read, NULL) != ARCHIVE_OK)
		return berth_error_set(im->err, -EINVAL, "\"%s\" is not a tar archive: %s", im->file,
				       archive_error_string(r->a));
	return 0;
}

static int archive_error(struct imp *im, struct archive *a)
{
	const char *msg = archive_error_string(a);
	int code = archive_errno(a);

	return berth_error_set(im->err, code > 0 ? -code : -EINVAL, "\"%s\": %s", im->file,
			       msg ? msg : "cannot read the archive");
}

/* The data of the current entry, at most OCI_IMAGE_DOC_MAX bytes. */
static int read_small(struct imp *im, struct archive *a, struct archive_entry *e, const char *name,
		      char **ret, size_t *ret_len)
{
	int64_t size = archive_entry_size(e);
	char *buf;
	la_ssize_t n;
	size_t len = 0;

	if (size < 0 || size > OCI_IMAGE_DOC_MAX)
		return berth_error_set(im->err, -EFBIG, "\"%s\": %s is larger than %u bytes", im->file, name,
				       OCI_IMAGE_DOC_MAX);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	while (len < (size_t)size && (n = archive_read_data(a, buf + len, (size_t)size - len)) > 0)
		len += (size_t)n;
	if (len < (size_t)size) {
		free(buf);
		return archive_error(im, a);
	}
	buf[len] = '\0';
	free(*ret);
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* ---- pass 1: what kind of archive ---- */

static int scan(struct imp *im)
{
	struct reader rd;
	struct archive_entry *e;
	uint64_t max = im->o && im->o->max_entries ? im->o->max_entries : IMAGE_MAX_ENTRIES_DEFAULT, n = 0;
	char name[PATH_MAX];
	int r = reader_open(im, &rd, false);

	while (r == 0) {
		int ar = archive_read_next_header(rd.a, &e);

		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = archive_error(im, rd.a);
			break;
		}
		if (++n > max) {
			r = berth_error_set(im->err, -E2BIG, "\"%s\" has more than %llu entries", im->file,
					    (unsigned long long)max);
			break;
		}
		if (!archive_entry_pathname(e) ||
		    clean_path(archive_entry_pathname(e), name, sizeof(name)) < 0 ||
		    archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (strcmp(name, "oci-layout") == 0)
			im->has_layout = true;
		else if (strcmp(name, "index.json") == 0)
			r = read_small(im, rd.a, e, name, &im->index_json, &im->index_len);
		else if (strcmp(name, "manifest.json") == 0)
			r = read_small(im, rd.a, e, name, &im->docker_json, &im->docker_len);
	}
	reader_close(&rd);
	if (r < 0)
		return r;
	if (n == 0)
		return berth_error_set(im->err, -EINVAL, "\"%s\" is an empty archive", im->file);
	im->fmt = im->has_layout && im->index_json ? FMT_OCI : im->docker_json ? FMT_DOCKER : FMT_ROOTFS;
	return 0;
}

/* ---- pass 2: the blobs ---- */

static int ingest(struct imp *im, struct archive *a, const char *name, char digest[IMAGE_DIGEST_SIZE],
		  int64_t *ret_size)
{
	uint64_t max = im->o && im->o->max_bytes ? im->o->max_bytes : IMAGE_MAX_BYTES_DEFAULT;
	struct blob_writer w;
	char buf[BLOCK];
	la_ssize_t n = 0;
	int r = blob_writer_open(&w, im->tmp_fd, im->err);

	while (r == 0 && (n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		r = blob_writer_write(&w, buf, (size_t)n, im->err);
		if (r == 0 && w.size > max)
			r = berth_error_set(im->err, -EFBIG, "\"%s\": %s is larger than %llu bytes", im->file,
					    name, (unsigned long long)max);
	}
	if (r == 0 && n < 0)
		r = archive_error(im, a);
	if (r < 0) {
		blob_writer_abort(&w);
		return r;
	}
	*ret_size = (int64_t)w.size;
	return blob_writer_commit(&w, digest, im->err);
}

static bool oci_blob_name(const char *name)
{
	const char *hex = name + strlen(STORE_BLOBS_DIR "/");
	char digest[IMAGE_DIGEST_SIZE];

	if (!str_has_prefix(name, STORE_BLOBS_DIR "/") || strlen(hex) != 64)
		return false;
	snprintf(digest, sizeof(digest), "sha256:%.64s", hex);
	return oci_digest_valid(digest);
}

static int add_member(struct imp *im, const char *name, const char *alias, const char *digest, int64_t size)
{
	struct member *m = realloc(im->members, (im->n_members + 1) * sizeof(*m));

	if (!m)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	im->members = m;
	m = &im->members[im->n_members];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	m->alias = alias ? strdup(alias) : NULL;
	if (!m->name || (alias && !m->alias)) {
		free(m->name);
		free(m->alias);
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	}
	if (digest)
		snprintf(m->digest, sizeof(m->digest), "%s", digest);
	m->size = size;
	im->n_members++;
	return 0;
}

/* A docker archive entry that links to another one (docker save links repeated layers). */
static int add_link_member(struct imp *im, const char *name, struct archive_entry *e)
{
	const char *hard = archive_entry_hardlink(e), *sym = archive_entry_symlink(e);
	char joined[PATH_MAX * 2], target[PATH_MAX];
	const char *slash = strrchr(name, '/');

	if (!hard && (!sym || !sym[0]))
		return berth_error_set(im->err, -EINVAL, "archive member '%s': link without a target", name);
	if (hard)
		snprintf(joined, sizeof(joined), "%s", hard);
	else if (sym[0] == '/')
		snprintf(joined, sizeof(joined), "%s", sym);
	else
		snprintf(joined, sizeof(joined), "%.*s%s%s", slash ? (int)(slash - name) : 0, name,
			 slash ? "/" : "", sym);
	/* "dir/../other/layer.tar": resolve ".." lexically, never above the archive's root. */
	char *parts[256];
	size_t n = 0;
	for (char *tok = strtok(joined, "/"); tok && n < ARRAY_SIZE(parts); tok = strtok(NULL, "/")) {
		if (strcmp(tok, "..") == 0) {
			if (n == 0)
				return berth_error_set(
				    im->err, -EINVAL, "\"%s\": %s links outside the archive", im->file, name);
			n--;
		} else if (strcmp(tok, ".") != 0) {
			parts[n++] = tok;
		}
	}
	target[0] = '\0';
	for (size_t i = 0, o = 0; i < n && o < sizeof(target); i++)
		o += (size_t)snprintf(target + o, sizeof(target) - o, "%s%s", i ? "/" : "", parts[i]);
	return add_member(im, name, target, NULL, 0);
}

static int ingest_entry(struct imp *im, struct archive *a, struct archive_entry *e, const char *name)
{
	char digest[IMAGE_DIGEST_SIZE];
	mode_t type = archive_entry_filetype(e);
	bool regular = type == AE_IFREG && !archive_entry_hardlink(e);
	int64_t size;
	int r;

	if (im->fmt == FMT_OCI) {
		if (!regular || !oci_blob_name(name))
			return 0;
		r = ingest(im, a, name, digest, &size);
		if (r == 0 && strcmp(digest + 7, name + strlen(STORE_BLOBS_DIR "/")) != 0)
			r = berth_error_set(im->err, -EBADMSG, "\"%s\": %s: content has digest %s", im->file,
					    name, digest);
		return r;
	}
	if (!strset_has(&im->wanted, name))
		return 0;
	if (type == AE_IFLNK || archive_entry_hardlink(e))
		return add_link_member(im, name, e);
	if (!regular)
		return berth_error_set(im->err, -EINVAL, "\"%s\": %s is not a regular file", im->file, name);
	r = ingest(im, a, name, digest, &size);
	return r < 0 ? r : add_member(im, name, NULL, digest, size);
}

static int ingest_all(struct imp *im)
{
	struct reader rd;
	struct archive_entry *e;
	char name[PATH_MAX];
	int r = reader_open(im, &rd, true);

	while (r == 0) {
		int ar = archive_read_next_header(rd.a, &e);

		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN)
			r = archive_error(im, rd.a);
		else if (archive_entry_pathname(e) &&
			 clean_path(archive_entry_pathname(e), name, sizeof(name)) == 0)
			r = ingest_entry(im, rd.a, e, name);
	}
	reader_close(&rd);
	return r;
}

/* ---- names ---- */

/* A name from the archive's file name: "busybox.tar" -> "busybox:latest". */
static void derive_name(struct imp *im)
{
	static const char *const exts[] = {".tar.gz", ".tar.zst", ".tar.xz", ".tar.bz2", ".tgz",
					   ".tzst",   ".txz",     ".tbz2",   ".tar",     ".gz",
					   ".zst",    ".xz",      ".bz2"};
	const char *base = strrchr(im->file, '/') ? strrchr(im->file, '/') + 1 : im->file;
	char buf[200];
	size_t len, o = 0;

	snprintf(buf, sizeof(buf), "%s", base);
	len = strlen(buf);
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		size_t el = strlen(exts[i]);
		if (len > el && strcasecmp(buf + len - el, exts[i]) == 0) {
			buf[len - el] = '\0';
			break;
		}
	}
	for (char *p = buf; *p; p++) {
		char c = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
		bool ok =
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok && o > 0 && im->derived[o - 1] == '-')
			continue;
		im->derived[o++] = ok ? c : '-';
	}
	while (o > 0 && !((im->derived[o - 1] >= 'a' && im->derived[o - 1] <= 'z') ||
			  (im->derived[o - 1] >= '0' && im->derived[o - 1] <= '9')))
		o--;
	im->derived[o] = '\0';
	size_t skip = strspn(im->derived, "._-");
	memmove(im->derived, im->derived + skip, o - skip + 1);
	if (!im->derived[0])
		snprintf(im->derived, sizeof(im->derived), "image");
}

static int add_name(struct imp *im, char ***names, const char *ref)
{
	char norm[NAME_LEN];
	size_t n = 0;
	char **v;

	if (image_ref_normalize(ref, norm, sizeof(norm), NULL) < 0) {
		log_warn("\"%s\": ignoring the invalid image name \"%s\"", im->file, ref);
		return 0;
	}
	while (*names && (*names)[n]) {
		if (strcmp((*names)[n], norm) == 0)
			return 0;
		n++;
	}
	v = realloc(*names, (n + 2) * sizeof(char *));
	if (!v || !(v[n] = strdup(norm))) {
		if (v)
			*names = v;
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	}
	v[n + 1] = NULL;
	*names = v;
	return 0;
}

/* The names an index descriptor gives: containerd's full name, else ref.name (a full name or
 * only a tag for the archive's own name). */
static int desc_names(struct imp *im, const struct oci_descriptor *d, char ***names)
{
	const char *full = NULL, *ref = NULL;
	char buf[NAME_LEN + 140];

	for (size_t i = 0; i < d->n_annotations; i++) {
		if (strcmp(d->annotations[i].key, CONTAINERD_ANNOTATION_IMAGE_NAME) == 0)
			full = d->annotations[i].value;
		else if (strcmp(d->annotations[i].key, OCI_ANNOTATION_REF_NAME) == 0)
			ref = d->annotations[i].value;
	}
	if (full)
		return add_name(im, names, full);
	if (ref && (strchr(ref, ':') || strchr(ref, '/')))
		return add_name(im, names, ref);
	if (ref) {
		snprintf(buf, sizeof(buf), "%s:%s", im->derived, ref);
		return add_name(im, names, buf);
	}
	return 0;
}

/* ---- the images of the archive ---- */

static int add_image(struct imp *im, const struct oci_descriptor *d, char **names)
{
	struct pending *p = realloc(im->images, (im->n_images + 1) * sizeof(*p));

	if (!p)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	im->images = p;
	p = &im->images[im->n_images++];
	memset(p, 0, sizeof(*p));
	p->names = names;
	p->desc.media_type = strdup(d->media_type);
	p->desc.digest = strdup(d->digest);
	p->desc.size = d->size;
	if (!p->desc.media_type || !p->desc.digest)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	return 0;
}

static const char *host_arch(void)
{
	static const struct {
		const char *machine, *arch;
	} map[] = {{"x86_64", "amd64"}, {"aarch64", "arm64"},   {"i686", "386"},    {"i386", "386"},
		   {"armv7l", "arm"},   {"ppc64le", "ppc64le"}, {"s390x", "s390x"}, {"riscv64", "riscv64"}};
	static __thread struct utsname u;

	if (uname(&u) < 0)
		return "amd64";
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (strcmp(u.machine, map[i].machine) == 0)
			return map[i].arch;
	}
	return u.machine;
}

static bool platform_ok(const struct oci_descriptor *d)
{
	return !d->has_platform || !d->platform.os ||
	       (strcmp(d->platform.os, "linux") == 0 && d->platform.architecture &&
		strcmp(d->platform.architecture, host_arch()) == 0);
}

static int collect(struct imp *im, const struct oci_descriptor *d, char **inherited, int depth);

static int collect_index(struct imp *im, const struct oci_descriptor *d, char **names, int depth)
{
	_cleanup_free_ char *json = NULL;
	struct oci_image_index *ix = NULL;
	size_t len, before = im->n_images;
	int r;

	if (depth > 4)
		return berth_error_set(im->err, -ELOOP, "\"%s\": image indexes nested too deeply", im->file);
	r = blob_read_verified(im->tmp_fd, d, &json, &len, im->err);
	if (r == 0)
		r = oci_image_index_parse(json, len, &ix, im->err);
	/* Only one manifest of a multi-platform index gets the index's names: the host's. */
	for (size_t i = 0; r == 0 && i < ix->n_manifests && im->n_images == before; i++)
		r = collect(im, &ix->manifests[i], names, depth + 1);
	oci_image_index_free(ix);
	return r;
}

static int collect(struct imp *im, const struct oci_descriptor *d, char **inherited, int depth)
{
	char **names = NULL;
	int r;

	if (!platform_ok(d))
		return 0;
	for (char **n = inherited; n && *n; n++) {
		r = add_name(im, &names, *n);
		if (r < 0)
			goto fail;
	}
	r = desc_names(im, d, &names);
	if (r < 0)
		goto fail;
	switch (oci_media_type_kind(d->media_type, NULL)) {
	case OCI_MEDIA_INDEX:
		r = collect_index(im, d, names, depth);
		break;
	case OCI_MEDIA_MANIFEST:
		r = add_image(im, d, names);
		names = NULL;
		break;
	default:
		log_warn("\"%s\": skipping %s of media type \"%s\"", im->file, d->digest, d->media_type);
		r = 0;
	}
fail:
	for (char **n = names; n && *n; n++)
		free(*n);
	free(names);
	return r;
}

static int oci_images(struct imp *im)
{
	struct oci_image_index *ix = NULL;
	int r = oci_image_index_parse(im->index_json, im->index_len, &ix, im->err);

	for (size_t i = 0; r == 0 && i < ix->n_manifests; i++)
		r = collect(im, &ix->manifests[i], NULL, 0);
	oci_image_index_free(ix);
	if (r == 0 && im->n_images == 0)
		r = berth_error_set(im->err, -ENOENT, "\"%s\" holds no image for linux/%s", im->file,
				    host_arch());
	return r;
}

/* ---- docker archives ---- */

static const struct member *find_member(struct imp *im, const char *name)
{
	for (int depth = 0; depth < ALIAS_DEPTH; depth++) {
		const struct member *m = NULL;
		for (size_t i = 0; i < im->n_members && !m; i++)
			m = strcmp(im->members[i].name, name) == 0 ? &im->members[i] : NULL;
		if (!m || !m->alias)
			return m;
		name = m->alias;
	}
	return NULL;
}

static int docker_wanted(struct imp *im)
{
	char name[PATH_MAX];
	int r = oci_docker_manifest_parse(im->docker_json, im->docker_len, &im->dm, &im->n_dm, im->err);

	if (r < 0)
		return berth_error_prefix(im->err, "\"%s\"", im->file);
	for (size_t i = 0; i < im->n_dm; i++) {
		if (clean_path(im->dm[i].config, name, sizeof(name)) < 0 || strset_add(&im->wanted, name) < 0)
			return berth_error_set(im->err, -EINVAL,
					       "\"%s\": manifest.json: invalid Config \"%s\"", im->file,
					       im->dm[i].config);
		for (size_t j = 0; j < im->dm[i].n_layers; j++) {
			if (clean_path(im->dm[i].layers[j], name, sizeof(name)) < 0 ||
			    strset_add(&im->wanted, name) < 0)
				return berth_error_set(im->err, -EINVAL,
						       "\"%s\": manifest.json: invalid layer \"%s\"",
						       im->file, im->dm[i].layers[j]);
		}
	}
	/* docker save names links to repeated layers: follow them too. */
	return 0;
}

static int member_desc(struct imp *im, const char *path, const char *what, struct oci_descriptor *d)
{
	char name[PATH_MAX];
	const struct member *m = NULL;

	if (clean_path(path, name, sizeof(name)) == 0)
		m = find_member(im, name);
	if (!m)
		return berth_error_set(im->err, -ENOENT,
				       "\"%s\": manifest.json names %s \"%s\", which is not in the archive",
				       im->file, what, path);
	d->digest = strdup(m->digest);
	d->size = m->size;
	return d->digest ? 0 : berth_error_set(im->err, -ENOMEM, "out of memory");
}

/* The media type of a layer blob from its first bytes. */
static const char *sniff_layer(struct imp *im, const char *digest)
{
	_cleanup_close_ int fd = blob_open(im->tmp_fd, digest);
	unsigned char m[4] = {0};

	if (fd >= 0 && read(fd, m, sizeof(m)) == (ssize_t)sizeof(m)) {
		if (m[0] == 0x1f && m[1] == 0x8b)
			return OCI_MEDIA_TYPE_LAYER_GZIP;
		if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
			return OCI_MEDIA_TYPE_LAYER_ZSTD;
	}
	return OCI_MEDIA_TYPE_LAYER;
}

/* An OCI manifest for one manifest.json entry, written as a blob. */
static int docker_image(struct imp *im, const struct oci_docker_manifest *dm)
{
	struct oci_image_manifest m = {.schema_version = 2, .media_type = (char *)OCI_MEDIA_TYPE_MANIFEST};
	struct oci_descriptor d = {.media_type = (char *)OCI_MEDIA_TYPE_MANIFEST};
	_cleanup_free_ char *json = NULL;
	char digest[IMAGE_DIGEST_SIZE];
	char **names = NULL;
	size_t len;
	int r;

	m.layers = calloc(dm->n_layers + 1, sizeof(*m.layers));
	if (!m.layers)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	m.n_layers = dm->n_layers;
	m.config.media_type = (char *)OCI_MEDIA_TYPE_CONFIG;
	r = member_desc(im, dm->config, "the config", &m.config);
	for (size_t i = 0; r == 0 && i < dm->n_layers; i++) {
		r = member_desc(im, dm->layers[i], "the layer", &m.layers[i]);
		if (r == 0)
			m.layers[i].media_type = (char *)sniff_layer(im, m.layers[i].digest);
	}
	if (r == 0 && oci_image_manifest_to_json(&m, &json, &len) < 0)
		r = berth_error_set(im->err, -ENOMEM, "out of memory");
	if (r == 0)
		r = blob_write(im->tmp_fd, json, len, digest, im->err);
	for (char **t = dm->repo_tags; r == 0 && t && *t; t++)
		r = add_name(im, &names, *t);
	if (r == 0) {
		d.digest = digest;
		d.size = (int64_t)len;
		r = add_image(im, &d, names);
		names = NULL;
	}
	for (char **n = names; n && *n; n++)
		free(*n);
	free(names);
	free(m.config.digest);
	for (size_t i = 0; i < m.n_layers; i++)
		free(m.layers[i].digest);
	free(m.layers);
	return r;
}

/* ---- plain rootfs tarballs ---- */

static const char *compression_of(const unsigned char *m, size_t n)
{
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return OCI_MEDIA_TYPE_LAYER_GZIP;
	if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return OCI_MEDIA_TYPE_LAYER_ZSTD;
	if (n >= 6 && !memcmp(m,
			      "\xfd"
			      "7zXZ\0",
			      6))
		return "xz";
	if (n >= 3 && !memcmp(m, "BZh", 3))
		return "bzip2";
	return OCI_MEDIA_TYPE_LAYER;
}

/* The tarball as a layer blob: as is when OCI has a media type for its compression, else its
 * decompressed tar. */
static int rootfs_blob(struct imp *im, char digest[IMAGE_DIGEST_SIZE], int64_t *ret_size,
		       const char **ret_type)
{
	_cleanup_free_ struct src *src = calloc(1, sizeof(*src));
	struct archive *a = NULL;
	struct archive_entry *e;
	struct blob_writer w;
	unsigned char magic[8];
	char buf[BLOCK];
	ssize_t n = 0, got;
	struct stat st;
	int r;

	if (!src)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	src->o = im->o;
	src->report = true;
	src->fd = open(im->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (src->fd < 0)
		return berth_error_setf_errno(im->err, -errno, "open \"%s\"", im->file);
	src->total = fstat(src->fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	got = pread(src->fd, magic, sizeof(magic), 0);
	*ret_type = compression_of(magic, got > 0 ? (size_t)got : 0);
	r = blob_writer_open(&w, im->tmp_fd, im->err);
	if (r < 0)
		goto out;
	if (strcmp(*ret_type, "xz") == 0 || strcmp(*ret_type, "bzip2") == 0) {
		/* OCI has no media type for these: the layer is the decompressed tar. */
		*ret_type = OCI_MEDIA_TYPE_LAYER;
		a = archive_read_new();
		if (a) {
			archive_read_support_filter_xz(a);
			archive_read_support_filter_bzip2(a);
			archive_read_support_format_raw(a);
		}
		if (!a || archive_read_open(a, src, NULL, src_read, NULL) != ARCHIVE_OK ||
		    archive_read_next_header(a, &e) < ARCHIVE_WARN)
			r = a ? archive_error(im, a) : berth_error_set(im->err, -ENOMEM, "out of memory");
		while (r == 0 && (n = archive_read_data(a, buf, sizeof(buf))) > 0)
			r = blob_writer_write(&w, buf, (size_t)n, im->err);
		if (r == 0 && n < 0)
			r = archive_error(im, a);
	} else {
		/* src_read reports progress as it goes. */
		const void *p;
		while (r == 0 && (n = src_read(NULL, src, &p)) > 0)
			r = blob_writer_write(&w, p, (size_t)n, im->err);
		if (r == 0 && n < 0)
			r = berth_error_setf_errno(im->err, -errno, "read \"%s\"", im->file);
	}
	*ret_size = (int64_t)w.size;
	if (r == 0)
		r = blob_writer_commit(&w, digest, im->err);
	else
		blob_writer_abort(&w);
out:
	if (a)
		archive_read_free(a);
	close(src->fd);
	return r;
}

/* Unpack the layer into tmp/layer-<diff_id>, where layers_prepare finds it. */
static int rootfs_unpack(struct imp *im, const char *digest, int64_t size, char diff_id[IMAGE_DIGEST_SIZE])
{
	_cleanup_close_ int blob = blob_open(im->tmp_fd, digest), dir = -EBADF;
	struct image_unpack_opts uo = {
	    .mode = IMAGE_UNPACK_OVERLAY,
	    .no_chown = geteuid() != 0,
	    .max_entries = im->o ? im->o->max_entries : 0,
	    .max_bytes = im->o ? im->o->max_bytes : 0,
	    .expect_size = size,
	    .verified_digest = digest, /* computed as the tarball was copied in */
	    .want_digests = true,      /* the diff_id is what the config will name */
	};
	struct image_unpack_result res;
	char name[128];
	int r;

	if (blob < 0)
		return berth_error_setf_errno(im->err, blob, "open the layer blob");
	if (mkdirat(im->tmp_fd, "rootfs.part", 0755) < 0 ||
	    (dir = openat(im->tmp_fd, "rootfs.part", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return berth_error_setf_errno(im->err, -errno, "create a layer directory");
	r = image_layer_unpack(dir, blob, &uo, &res, im->err);
	if (r < 0)
		return berth_error_prefix(im->err, "\"%s\"", im->file);
	snprintf(name, sizeof(name), "layer-%s", res.diff_id + 7);
	if (renameat(im->tmp_fd, "rootfs.part", im->tmp_fd, name) < 0)
		return berth_error_setf_errno(im->err, -errno, "rename a layer directory");
	memcpy(diff_id, res.diff_id, IMAGE_DIGEST_SIZE);
	return 0;
}

static int rootfs_image(struct imp *im)
{
	char layer[IMAGE_DIGEST_SIZE], diff_id[IMAGE_DIGEST_SIZE], cdigest[IMAGE_DIGEST_SIZE],
	    mdigest[IMAGE_DIGEST_SIZE], created[64], name[NAME_LEN + 16];
	char *env[] = {(char *)DEFAULT_PATH_ENV, NULL}, *diff_ids[] = {diff_id, NULL};
	struct oci_image_config c = {.created = created,
				     .architecture = (char *)host_arch(),
				     .os = (char *)"linux",
				     .env = env,
				     .diff_ids = diff_ids,
				     .n_diff_ids = 1};
	struct oci_descriptor layers[1] = {{0}};
	struct oci_image_manifest m = {.schema_version = 2, .layers = layers, .n_layers = 1};
	struct oci_descriptor d = {.media_type = (char *)OCI_MEDIA_TYPE_MANIFEST, .digest = mdigest};
	_cleanup_free_ char *cjson = NULL, *mjson = NULL;
	const char *type;
	char **names = NULL;
	int64_t size;
	size_t clen, mlen;
	int r;

	r = rootfs_blob(im, layer, &size, &type);
	if (r == 0)
		r = rootfs_unpack(im, layer, size, diff_id);
	if (r < 0)
		return r;
	rfc3339_now(created, sizeof(created));
	if (oci_image_config_to_json(&c, &cjson, &clen) < 0)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	r = blob_write(im->tmp_fd, cjson, clen, cdigest, im->err);
	if (r < 0)
		return r;
	m.config = (struct oci_descriptor){
	    .media_type = (char *)OCI_MEDIA_TYPE_CONFIG, .digest = cdigest, .size = (int64_t)clen};
	layers[0] = (struct oci_descriptor){.media_type = (char *)type, .digest = layer, .size = size};
	if (oci_image_manifest_to_json(&m, &mjson, &mlen) < 0)
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	r = blob_write(im->tmp_fd, mjson, mlen, mdigest, im->err);
	if (r < 0)
		return r;
	d.size = (int64_t)mlen;
	snprintf(name, sizeof(name), "%s:latest", im->derived);
	r = add_name(im, &names, name);
	if (r == 0)
		r = add_image(im, &d, names);
	else
		free(names);
	return r;
}

/* ---- verifying and committing ---- */

static int prepare_images(struct imp *im)
{
	for (size_t i = 0; i < im->n_images; i++) {
		struct pending *p = &im->images[i];
		const char *shown = p->names && p->names[0] ? p->names[0] : p->desc.digest;
		int r = store_load_image(im->tmp_fd, &p->desc, &p->m, &p->c, im->err);

		if (r == 0)
			r = layers_prepare(im->s, im->tmp_fd, im->tmp_fd, p->m, p->c, im->o, &p->plan,
					   im->err);
		if (r < 0)
			return berth_error_prefix(im->err, "\"%s\": image \"%s\"", im->file, shown);
		if (!p->names || !p->names[0]) {
			char name[NAME_LEN + 16];
			snprintf(name, sizeof(name), "%s:latest", im->derived);
			r = add_name(im, &p->names, name);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* --name replaces the archive's names; it can only name one image. */
static int apply_name_option(struct imp *im)
{
	char norm[NAME_LEN];
	char **names;
	int r;

	if (!im->o || !im->o->name)
		return 0;
	r = image_ref_normalize(im->o->name, norm, sizeof(norm), im->err);
	if (r < 0)
		return r;
	if (im->n_images != 1)
		return berth_error_set(im->err, -EINVAL, "\"%s\" holds %zu images; --name can name only one",
				       im->file, im->n_images);
	names = calloc(2, sizeof(char *));
	if (!names || !(names[0] = strdup(norm))) {
		free(names);
		return berth_error_set(im->err, -ENOMEM, "out of memory");
	}
	for (char **n = im->images[0].names; n && *n; n++)
		free(*n);
	free(im->images[0].names);
	im->images[0].names = names;
	return 0;
}

static int move_blob(struct imp *im, const char *digest)
{
	char path[128];

	snprintf(path, sizeof(path), STORE_BLOBS_DIR "/%s", digest + 7);
	if (renameat(im->tmp_fd, path, im->s->fd, path) == 0)
		return 0;
	if (errno == ENOENT && faccessat(im->s->fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0; /* moved for another image of this import, or the store had it */
	return berth_error_setf_errno(im->err, -errno, "store blob %s", digest);
}

static int commit_image(struct imp *im, struct oci_image_index *ix, struct pending *p)
{
	int r = move_blob(im, p->desc.digest);

	if (r == 0)
		r = move_blob(im, p->m->config.digest);
	for (size_t i = 0; r == 0 && i < p->m->n_layers; i++)
		r = move_blob(im, p->m->layers[i].digest);
	if (r == 0)
		r = layers_commit(im->s, im->tmp_fd, &p->plan, im->err);
	if (r == 0 && p->c->architecture && p->c->os) {
		p->desc.has_platform = true;
		p->desc.platform.architecture = strdup(p->c->architecture);
		p->desc.platform.os = strdup(p->c->os);
	}
	for (char **n = p->names; r == 0 && n && *n; n++)
		r = index_set_name(ix, &p->desc, *n, im->err);
	return r;
}

static int commit(struct imp *im)
{
	struct oci_image_index *ix = NULL;
	int r;

	/* Everything is verified and in tmp/: from here the store changes, under the exclusive
	 * lock (shared -> exclusive is not atomic, so layers reused from the cache are checked
	 * again by layers_commit). */
	r = store_lock(im->s, LOCK_EX, im->err);
	if (r == 0)
		r = store_read_index(im->s, &ix, im->err);
	for (size_t i = 0; r == 0 && i < im->n_images; i++)
		r = commit_image(im, ix, &im->images[i]);
	if (r == 0 && syncfs(im->s->fd) < 0)
		r = berth_error_setf_errno(im->err, -errno, "sync image store \"%s\"", im->s->path);
	if (r == 0)
		r = store_write_index(im->s, ix, im->err);
	if (r == 0)
		r = store_gc(im->s, im->err);
	oci_image_index_free(ix);
	return r;
}

static int fill_result(struct imp *im, struct image_import_result *ret)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < im->n_images; i++)
		for (char **p = im->images[i].names; p && *p; p++)
			n++;
	ret->names = calloc(n + 1, sizeof(char *));
	ret->digests = calloc(n + 1, sizeof(char *));
	if (!ret->names || !ret->digests)
		goto nomem;
	for (size_t i = 0; i < im->n_images; i++) {
		for (char **p = im->images[i].names; p && *p; p++, k++) {
			ret->names[k] = strdup(*p);
			ret->digests[k] = strdup(im->images[i].desc.digest);
			if (!ret->names[k] || !ret->digests[k])
				goto nomem;
		}
	}
	return 0;
nomem:
	image_import_result_free(ret);
	return berth_error_set(im->err, -ENOMEM, "out of memory");
}

void image_import_result_free(struct image_import_result *r)
{
	for (char **p = r->names; p && *p; p++)
		free(*p);
	for (char **p = r->digests; p && *p; p++)
		free(*p);
	free(r->names);
	free(r->digests);
	r->names = r->digests = NULL;
}

static void imp_free(struct imp *im)
{
	free(im->index_json);
	free(im->docker_json);
	oci_docker_manifest_free(im->dm, im->n_dm);
	strset_free(&im->wanted);
	for (size_t i = 0; i < im->n_members; i++) {
		free(im->members[i].name);
		free(im->members[i].alias);
	}
	free(im->members);
	for (size_t i = 0; i < im->n_images; i++) {
		struct pending *p = &im->images[i];
		for (char **n = p->names; n && *n; n++)
			free(*n);
		free(p->names);
		oci_descriptor_clear(&p->desc);
		oci_image_manifest_free(p->m);
		oci_image_config_free(p->c);
		layer_plan_free(&p->plan);
	}
	free(im->images);
}

static int run_import(struct imp *im)
{
	int r = scan(im);

	if (r < 0)
		return r;
	if (im->fmt == FMT_DOCKER)
		r = docker_wanted(im);
	if (r == 0 && im->fmt != FMT_ROOTFS)
		r = ingest_all(im);
	if (r == 0 && im->fmt == FMT_OCI)
		r = oci_images(im);
	for (size_t i = 0; r == 0 && im->fmt == FMT_DOCKER && i < im->n_dm; i++)
		r = docker_image(im, &im->dm[i]);
	if (r == 0 && im->fmt == FMT_ROOTFS)
		r = rootfs_image(im);
	if (r == 0)
		r = apply_name_option(im);
	if (r == 0)
		r = prepare_images(im);
	if (r == 0)
		r = commit(im);
	return r;
}

int image_import(struct image_store *s, const char *file, const struct image_import_opts *opts,
		 struct image_import_result *ret, struct berth_error *err)
{
	struct imp im = {.s = s, .o = opts, .err = err, .file = file, .tmp_fd = -EBADF};
	int r;

	derive_name(&im);
	/* Stale imports go first, under the exclusive lock; then the shared lock keeps garbage
	 * collection away from the cached layers this import decides to reuse. */
	r = store_lock(s, LOCK_EX, err);
	if (r < 0)
		return r;
	store_tmp_sweep(s);
	r = store_tmp_create(s, im.tmp_name, sizeof(im.tmp_name), &im.tmp_fd, err);
	if (r == 0)
		r = store_lock(s, LOCK_SH, err);
	if (r == 0)
		r = run_import(&im);
	if (r == 0 && ret)
		r = fill_result(&im, ret);
	store_lock(s, LOCK_UN, NULL);
	if (im.tmp_fd >= 0)
		store_tmp_remove(s, im.tmp_name, im.tmp_fd);
	imp_free(&im);
	return r;
}
