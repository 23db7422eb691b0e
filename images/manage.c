/* Images in the store: loading one, finding one by name or id, listing, tagging, removing, and
 * collecting what no image or container needs any more. */
#include <dirent.h>
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

#define ID_PREFIX_MIN 12

/* ---- one image ---- */

int store_load_image(int layout_fd, const struct oci_descriptor *d, struct oci_image_manifest **ret_manifest,
		     struct oci_image_config **ret_config, struct berth_error *err)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
	struct oci_image_manifest *m = NULL;
	struct oci_image_config *c = NULL;
	size_t mlen, clen;
	int r;

	if (oci_media_type_kind(d->media_type, NULL) != OCI_MEDIA_MANIFEST)
		return berth_error_set(err, -EINVAL, "%s: media type \"%s\" is not an image manifest",
				       d->digest, d->media_type);
	r = blob_read_verified(layout_fd, d, &mbuf, &mlen, err);
	if (r == 0)
		r = oci_image_manifest_parse(mbuf, mlen, &m, err);
	if (r == 0 && oci_media_type_kind(m->config.media_type, NULL) != OCI_MEDIA_CONFIG)
		r = berth_error_set(err, -EINVAL,
				    "manifest %s: config media type \"%s\" is not an image config", d->digest,
				    m->config.media_type);
	if (r == 0)
		r = blob_read_verified(layout_fd, &m->config, &cbuf, &clen, err);
	if (r == 0)
		r = oci_image_config_parse(cbuf, clen, &c, err);
	if (r == 0 && c->n_diff_ids != m->n_layers)
		r = berth_error_set(err, -EINVAL,
				    "image %s: the manifest lists %zu layers, the config %zu diff_ids",
				    d->digest, m->n_layers, c->n_diff_ids);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++) {
		if (oci_media_type_kind(m->layers[i].media_type, NULL) != OCI_MEDIA_LAYER)
			r = berth_error_set(err, -EINVAL,
					    "manifest %s: layers[%zu]: unsupported media type \"%s\"",
					    d->digest, i, m->layers[i].media_type);
	}
	if (r < 0) {
		oci_image_manifest_free(m);
		oci_image_config_free(c);
		return r;
	}
	*ret_manifest = m;
	if (ret_config)
		*ret_config = c;
	else
		oci_image_config_free(c);
	return 0;
}

int image_chain_ids(const struct oci_image_config *config, char (**ret)[IMAGE_DIGEST_SIZE],
		    struct berth_error *err)
{
	char(*ids)[IMAGE_DIGEST_SIZE] =
	    calloc(config->n_diff_ids ? config->n_diff_ids : 1, IMAGE_DIGEST_SIZE);

	if (!ids)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < config->n_diff_ids; i++)
		chain_id_next(i ? ids[i - 1] : NULL, config->diff_ids[i], ids[i]);
	*ret = ids;
	return 0;
}

/* ---- finding an image ---- */

static bool is_hex(const char *s)
{
	for (; *s; s++) {
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	}
	return true;
}

static int find_name(const struct oci_image_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const char *n = store_desc_name(&ix->manifests[i]);
		if (n && strcmp(n, name) == 0)
			return (int)i;
	}
	return -1;
}

/* "alpine:3.20" also finds what was imported as docker.io/library/alpine:3.20. */
static int find_by_name(const struct oci_image_index *ix, const char *ref)
{
	static const char *const prefixes[] = {"", "docker.io/library/", "docker.io/", "localhost/"};
	char norm[512], full[600];
	int pos;

	if (image_ref_normalize(ref, norm, sizeof(norm), NULL) < 0)
		return -1;
	for (size_t p = 0; p < ARRAY_SIZE(prefixes); p++) {
		snprintf(full, sizeof(full), "%s%s", prefixes[p], norm);
		pos = find_name(ix, full);
		if (pos >= 0)
			return pos;
	}
	return -1;
}

/* A full digest or a long enough hex prefix of a manifest digest or an image id. */
static int find_by_id(struct image_store *s, const struct oci_image_index *ix, const char *ref, size_t *ret,
		      struct berth_error *err)
{
	const char *hex = str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
	size_t len = strlen(hex);
	int found = -1;

	if (len < ID_PREFIX_MIN || len > 64 || !is_hex(hex))
		return -ENOENT;
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const struct oci_descriptor *d = &ix->manifests[i];
		struct oci_image_manifest *m = NULL;
		bool match = strncmp(d->digest + 7, hex, len) == 0;

		if (!match && store_load_image(s->fd, d, &m, NULL, NULL) == 0)
			match = strncmp(m->config.digest + 7, hex, len) == 0;
		oci_image_manifest_free(m);
		if (!match)
			continue;
		if (found >= 0 && strcmp(ix->manifests[found].digest, d->digest) != 0)
			return berth_error_set(err, -EINVAL, "image id \"%s\" is ambiguous", ref);
		if (found < 0)
			found = (int)i;
	}
	if (found < 0)
		return -ENOENT;
	*ret = (size_t)found;
	return 0;
}

int store_resolve(struct image_store *s, const struct oci_image_index *ix, const char *ref, size_t *ret_pos,
		  struct berth_error *err)
{
	int pos = find_by_name(ix, ref), r;

	if (pos >= 0) {
		*ret_pos = (size_t)pos;
		return 0;
	}
	r = find_by_id(s, ix, ref, ret_pos, err);
	if (r == -ENOENT)
		return berth_error_set(err, -ENOENT, "image \"%s\" does not exist", ref);
	return r;
}

/* ---- listing ---- */

void image_info_clear(struct image_info *info)
{
	for (char **p = info->names; p && *p; p++)
		free(*p);
	free(info->names);
	free(info->digest);
	oci_image_manifest_free(info->manifest);
	oci_image_config_free(info->config);
	memset(info, 0, sizeof(*info));
}

void image_info_free(struct image_info *infos, size_t n)
{
	for (size_t i = 0; infos && i < n; i++)
		image_info_clear(&infos[i]);
	free(infos);
}

/* Fill @info for the manifest of index entry @pos with every name pointing at it. */
static int info_fill(struct image_store *s, const struct oci_image_index *ix, size_t pos,
		     struct image_info *info, struct berth_error *err)
{
	const struct oci_descriptor *d = &ix->manifests[pos];
	size_t n = 0;
	int r;

	memset(info, 0, sizeof(*info));
	info->names = calloc(ix->n_manifests + 1, sizeof(char *));
	info->digest = strdup(d->digest);
	if (!info->names || !info->digest)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < ix->n_manifests; i++) {
		const char *name = store_desc_name(&ix->manifests[i]);
		if (!name || strcmp(ix->manifests[i].digest, d->digest) != 0)
			continue;
		info->names[n] = strdup(name);
		if (!info->names[n++])
			return berth_error_set(err, -ENOMEM, "out of memory");
	}
	r = store_load_image(s->fd, d, &info->manifest, &info->config, err);
	if (r < 0)
		return berth_error_prefix(err, "image \"%s\"", info->names[0] ? info->names[0] : d->digest);
	info->size = (uint64_t)info->manifest->config.size;
	for (size_t i = 0; i < info->manifest->n_layers; i++)
		info->size += (uint64_t)info->manifest->layers[i].size;
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	const struct image_info *x = a, *y = b;
	const char *nx = x->names[0] ? x->names[0] : x->digest, *ny = y->names[0] ? y->names[0] : y->digest;

	return strcmp(nx, ny);
}

int image_list(struct image_store *s, struct image_info **ret_infos, size_t *ret_n, struct berth_error *err)
{
	struct oci_image_index *ix = NULL;
	struct image_info *infos = NULL;
	size_t n = 0;
	int r;

	r = store_lock(s, LOCK_SH, err);
	if (r == 0)
		r = store_read_index(s, &ix, err);
	if (r == 0 && !(infos = calloc(ix->n_manifests + 1, sizeof(*infos))))
		r = berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < ix->n_manifests; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(ix->manifests[j].digest, ix->manifests[i].digest) == 0;
		if (!seen)
			r = info_fill(s, ix, i, &infos[n++], err);
	}
	store_lock(s, LOCK_UN, NULL);
	oci_image_index_free(ix);
	if (r < 0) {
		image_info_free(infos, n + 1);
		return r;
	}
	qsort(infos, n, sizeof(*infos), cmp_info);
	*ret_infos = infos;
	*ret_n = n;
	return 0;
}

int image_get(struct image_store *s, const char *ref, struct image_info *ret, struct berth_error *err)
{
	struct oci_image_index *ix = NULL;
	struct image_info info = {0};
	size_t pos;
	int r;

	r = store_lock(s, LOCK_SH, err);
	if (r == 0)
		r = store_read_index(s, &ix, err);
	if (r == 0)
		r = store_resolve(s, ix, ref, &pos, err);
	if (r == 0)
		r = info_fill(s, ix, pos, &info, err);
	store_lock(s, LOCK_UN, NULL);
	oci_image_index_free(ix);
	if (r < 0) {
		image_info_clear(&info);
		return r;
	}
	*ret = info;
	return 0;
}

/* ---- tagging ---- */

int index_set_name(struct oci_image_index *ix, const struct oci_descriptor *src, const char *name,
		   struct berth_error *err)
{
	struct oci_descriptor d = {0};
	int pos = find_name(ix, name);

	d.media_type = strdup(src->media_type);
	d.digest = strdup(src->digest);
	d.size = src->size;
	d.annotations = calloc(1, sizeof(*d.annotations));
	if (d.annotations) {
		d.annotations[0].key = strdup(OCI_ANNOTATION_REF_NAME);
		d.annotations[0].value = strdup(name);
		d.n_annotations = 1;
	}
	if (src->has_platform) {
		d.has_platform = true;
		d.platform.architecture =
		    src->platform.architecture ? strdup(src->platform.architecture) : NULL;
		d.platform.os = src->platform.os ? strdup(src->platform.os) : NULL;
		d.platform.variant = src->platform.variant ? strdup(src->platform.variant) : NULL;
	}
	if (!d.media_type || !d.digest || !d.annotations || !d.annotations[0].key ||
	    !d.annotations[0].value) {
		oci_descriptor_clear(&d);
		return berth_error_set(err, -ENOMEM, "out of memory");
	}
	if (pos >= 0) {
		oci_descriptor_clear(&ix->manifests[pos]);
		ix->manifests[pos] = d;
		return 0;
	}
	struct oci_descriptor *m = realloc(ix->manifests, (ix->n_manifests + 1) * sizeof(*m));
	if (!m) {
		oci_descriptor_clear(&d);
		return berth_error_set(err, -ENOMEM, "out of memory");
	}
	m[ix->n_manifests++] = d;
	ix->manifests = m;
	return 0;
}

int image_tag(struct image_store *s, const char *src, const char *dst, struct berth_error *err)
{
	struct oci_image_index *ix = NULL;
	struct oci_descriptor d = {0};
	char name[512];
	size_t pos;
	int r;

	r = image_ref_normalize(dst, name, sizeof(name), err);
	if (r < 0)
		return r;
	r = store_lock(s, LOCK_EX, err);
	if (r < 0)
		return r;
	r = store_read_index(s, &ix, err);
	if (r == 0)
		r = store_resolve(s, ix, src, &pos, err);
	if (r == 0) {
		/* A copy: index_set_name may replace the very entry it copies from. */
		d = ix->manifests[pos];
		d.media_type = strdup(d.media_type);
		d.digest = strdup(d.digest);
		d.annotations = NULL;
		d.n_annotations = 0;
		d.has_platform = false;
		memset(&d.platform, 0, sizeof(d.platform));
		r = d.media_type && d.digest ? index_set_name(ix, &d, name, err)
					     : berth_error_set(err, -ENOMEM, "out of memory");
	}
	if (r == 0)
		r = store_write_index(s, ix, err);
	if (r == 0)
		r = store_gc(s, err); /* the name may have left an image without names */
	oci_descriptor_clear(&d);
	oci_image_index_free(ix);
	store_lock(s, LOCK_UN, NULL);
	return r;
}

/* ---- containers using images ---- */

/* The manifest digest recorded in containers/<id>/image, or -ENOENT. */
static int container_image(int containers_fd, const char *id, char out[IMAGE_DIGEST_SIZE])
{
	_cleanup_free_ char *buf = NULL;
	char path[PATH_MAX];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/" CONTAINER_IMAGE_FILE, id);
	r = read_file_at(containers_fd, path, 256, &buf, &len);
	if (r < 0)
		return r;
	buf[strcspn(buf, "\n")] = '\0';
	if (!oci_digest_valid(buf))
		return -EINVAL;
	snprintf(out, IMAGE_DIGEST_SIZE, "%s", buf);
	return 0;
}

/* Call @fn for each container of the store with its image's manifest digest; stops at a
 * non-zero return. */
static int for_each_container(struct image_store *s,
			      int (*fn)(void *data, const char *id, const char *digest), void *data)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->fd, STORE_CONTAINERS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? 0 : -errno;
	}
	while ((de = readdir(d))) {
		char digest[IMAGE_DIGEST_SIZE];
		if (de->d_name[0] == '.' || container_image(dirfd(d), de->d_name, digest) < 0)
			continue;
		int r = fn(data, de->d_name, digest);
		if (r)
			return r;
	}
	return 0;
}

struct user_search {
	const char *digest;
	char id[256];
};

static int match_user(void *data, const char *id, const char *digest)
{
	struct user_search *u = data;

	if (strcmp(digest, u->digest) != 0)
		return 0;
	snprintf(u->id, sizeof(u->id), "%s", id);
	return 1;
}

/* Drop the index entry at @pos, or (@all) every entry naming the same manifest. */
static void index_drop(struct oci_image_index *ix, size_t pos, bool all)
{
	char digest[IMAGE_DIGEST_SIZE];
	size_t o = 0;

	snprintf(digest, sizeof(digest), "%s", ix->manifests[pos].digest);
	for (size_t i = 0; i < ix->n_manifests; i++) {
		if (i == pos || (all && strcmp(ix->manifests[i].digest, digest) == 0))
			oci_descriptor_clear(&ix->manifests[i]);
		else
			ix->manifests[o++] = ix->manifests[i];
	}
	ix->n_manifests = o;
}

int image_remove(struct image_store *s, const char *ref, struct berth_error *err)
{
	struct oci_image_index *ix = NULL;
	struct user_search us = {0};
	char shown[512];
	size_t pos, others = 0;
	bool by_name;
	int r;

	r = store_lock(s, LOCK_EX, err);
	if (r < 0)
		return r;
	r = store_read_index(s, &ix, err);
	if (r == 0)
		r = store_resolve(s, ix, ref, &pos, err);
	if (r < 0)
		goto out;
	/* A name goes alone; an id or a digest means the image with all its names. */
	by_name = find_by_name(ix, ref) >= 0;
	snprintf(shown, sizeof(shown), "%s",
		 store_desc_name(&ix->manifests[pos]) ? store_desc_name(&ix->manifests[pos]) : ref);
	for (size_t i = 0; i < ix->n_manifests; i++)
		others += i != pos && strcmp(ix->manifests[i].digest, ix->manifests[pos].digest) == 0;
	/* The last name of an image a container runs from stays. */
	us.digest = ix->manifests[pos].digest;
	if ((others == 0 || !by_name) && for_each_container(s, match_user, &us) == 1) {
		r = berth_error_set(err, -EBUSY, "image \"%s\" is in use by container \"%s\"", shown, us.id);
		goto out;
	}
	index_drop(ix, pos, !by_name);
	r = store_write_index(s, ix, err);
	if (r == 0)
		r = store_gc(s, err);
out:
	oci_image_index_free(ix);
	store_lock(s, LOCK_UN, NULL);
	return r;
}

/* ---- garbage collection ---- */

struct gc {
	struct image_store *s;
	struct strset blobs, layers;
	struct berth_error *err;
};

static int gc_mark_manifest(struct gc *g, const struct oci_descriptor *d)
{
	struct oci_image_manifest *m = NULL;
	struct oci_image_config *c = NULL;
	char(*chain)[IMAGE_DIGEST_SIZE] = NULL;
	int r;

	if (strset_add(&g->blobs, d->digest + 7) < 0)
		return -ENOMEM;
	/* A broken image keeps its manifest; what it references cannot be known. */
	if (store_load_image(g->s->fd, d, &m, &c, NULL) < 0)
		return 0;
	r = strset_add(&g->blobs, m->config.digest + 7);
	for (size_t i = 0; r >= 0 && i < m->n_layers; i++)
		r = strset_add(&g->blobs, m->layers[i].digest + 7);
	if (r >= 0)
		r = image_chain_ids(c, &chain, NULL);
	for (size_t i = 0; r >= 0 && i < c->n_diff_ids; i++)
		r = strset_add(&g->layers, chain[i] + 7);
	free(chain);
	oci_image_manifest_free(m);
	oci_image_config_free(c);
	return r < 0 ? -ENOMEM : 0;
}

static int gc_mark_container(void *data, const char *id, const char *digest)
{
	struct gc *g = data;
	struct oci_descriptor d = {.media_type = (char *)OCI_MEDIA_TYPE_MANIFEST, .digest = (char *)digest};
	struct stat st;
	_cleanup_close_ int fd = blob_open(g->s->fd, digest);

	(void)id;
	if (fd < 0 || fstat(fd, &st) < 0)
		return strset_add(&g->blobs, digest + 7) < 0 ? -ENOMEM : 0;
	d.size = st.st_size;
	return gc_mark_manifest(g, &d) < 0 ? -ENOMEM : 0;
}

/* Remove every entry of directory @dir not in @keep (hidden names are temporary files). */
static void gc_sweep(struct gc *g, const char *dir, const struct strset *keep)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = openat(g->s->fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strset_has(keep, de->d_name))
			continue;
		log_debug("image store: removing unused %s/%s", dir, de->d_name);
		int r = rm_rf_at(dirfd(d), de->d_name);
		if (r < 0)
			log_warn("image store: cannot remove %s/%s/%s: %s", g->s->path, dir, de->d_name,
				 strerror(-r));
	}
}

int store_gc(struct image_store *s, struct berth_error *err)
{
	struct oci_image_index *ix = NULL;
	struct gc g = {.s = s, .err = err};
	int r;

	r = store_read_index(s, &ix, err);
	for (size_t i = 0; r == 0 && ix && i < ix->n_manifests; i++)
		r = gc_mark_manifest(&g, &ix->manifests[i]);
	if (r == 0)
		r = for_each_container(s, gc_mark_container, &g);
	if (r == 0) {
		gc_sweep(&g, STORE_BLOBS_DIR, &g.blobs);
		gc_sweep(&g, STORE_LAYERS_DIR, &g.layers);
	} else if (r == -ENOMEM) {
		r = berth_error_set(err, -ENOMEM, "out of memory");
	}
	strset_free(&g.blobs);
	strset_free(&g.layers);
	oci_image_index_free(ix);
	return r;
}
