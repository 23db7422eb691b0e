/* Parsers of the OCI image-spec documents berth reads from archives and from its own store:
 * the image index (index.json), the manifest, the image config, and the manifest.json of a
 * `docker save` archive. They share the config parser's getters, so every error names the
 * JSON path of the offending field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "json_internal.h"

/* ---- media types and digests ---- */

struct media_type {
	const char *name;
	enum oci_media_kind kind;
	enum oci_layer_compression compression;
};

static const struct media_type media_types[] = {
    {OCI_MEDIA_TYPE_INDEX, OCI_MEDIA_INDEX, OCI_LAYER_PLAIN},
    {DOCKER_MEDIA_TYPE_MANIFEST_LIST, OCI_MEDIA_INDEX, OCI_LAYER_PLAIN},
    {OCI_MEDIA_TYPE_MANIFEST, OCI_MEDIA_MANIFEST, OCI_LAYER_PLAIN},
    {DOCKER_MEDIA_TYPE_MANIFEST, OCI_MEDIA_MANIFEST, OCI_LAYER_PLAIN},
    {OCI_MEDIA_TYPE_CONFIG, OCI_MEDIA_CONFIG, OCI_LAYER_PLAIN},
    {DOCKER_MEDIA_TYPE_CONFIG, OCI_MEDIA_CONFIG, OCI_LAYER_PLAIN},
    {OCI_MEDIA_TYPE_LAYER, OCI_MEDIA_LAYER, OCI_LAYER_PLAIN},
    {OCI_MEDIA_TYPE_LAYER_GZIP, OCI_MEDIA_LAYER, OCI_LAYER_GZIP},
    {OCI_MEDIA_TYPE_LAYER_ZSTD, OCI_MEDIA_LAYER, OCI_LAYER_ZSTD},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", OCI_MEDIA_LAYER, OCI_LAYER_PLAIN},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_MEDIA_LAYER, OCI_LAYER_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", OCI_MEDIA_LAYER, OCI_LAYER_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar", OCI_MEDIA_LAYER, OCI_LAYER_PLAIN},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", OCI_MEDIA_LAYER, OCI_LAYER_GZIP},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_MEDIA_LAYER, OCI_LAYER_GZIP},
};

enum oci_media_kind oci_media_type_kind(const char *media_type, enum oci_layer_compression *ret_compression)
{
	for (size_t i = 0; media_type && i < ARRAY_SIZE(media_types); i++) {
		if (strcmp(media_types[i].name, media_type) == 0) {
			if (ret_compression)
				*ret_compression = media_types[i].compression;
			return media_types[i].kind;
		}
	}
	return OCI_MEDIA_UNKNOWN;
}

bool oci_digest_valid(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64)
		return false;
	for (const char *p = digest + 7; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	}
	return true;
}

static int check_digest(struct jctx *c, const char *key, const char *digest)
{
	const char *colon = strchr(digest, ':');

	if (oci_digest_valid(digest))
		return 0;
	if (colon && colon != digest && strncmp(digest, "sha256:", 7) != 0)
		return jfail_at(c, key, "unsupported digest algorithm \"%.*s\" (berth supports sha256)",
				(int)(colon - digest > 32 ? 32 : colon - digest), digest);
	return jfail_at(c, key, "expected \"sha256:\" and 64 lower-case hex digits");
}

/* ---- free ---- */

static void platform_clear(struct oci_platform *p)
{
	free(p->architecture);
	free(p->os);
	free(p->variant);
	free(p->os_version);
	memset(p, 0, sizeof(*p));
}

void oci_descriptor_clear(struct oci_descriptor *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->digest);
	oci_kv_free_array(d->annotations, d->n_annotations);
	platform_clear(&d->platform);
	memset(d, 0, sizeof(*d));
}

static void descriptors_free(struct oci_descriptor *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		oci_descriptor_clear(&d[i]);
	free(d);
}

void oci_image_index_free(struct oci_image_index *index)
{
	if (!index)
		return;
	free(index->media_type);
	descriptors_free(index->manifests, index->n_manifests);
	oci_kv_free_array(index->annotations, index->n_annotations);
	free(index);
}

void oci_image_manifest_free(struct oci_image_manifest *manifest)
{
	if (!manifest)
		return;
	free(manifest->media_type);
	oci_descriptor_clear(&manifest->config);
	descriptors_free(manifest->layers, manifest->n_layers);
	oci_kv_free_array(manifest->annotations, manifest->n_annotations);
	free(manifest);
}

void oci_image_config_free(struct oci_image_config *config)
{
	if (!config)
		return;
	free(config->created);
	free(config->author);
	free(config->architecture);
	free(config->os);
	free(config->variant);
	free(config->user);
	strv_free(config->env);
	strv_free(config->entrypoint);
	strv_free(config->cmd);
	free(config->working_dir);
	oci_kv_free_array(config->labels, config->n_labels);
	free(config->stop_signal);
	strv_free(config->exposed_ports);
	strv_free(config->volumes);
	free(config->rootfs_type);
	strv_free(config->diff_ids);
	free(config);
}

void oci_docker_manifest_free(struct oci_docker_manifest *entries, size_t n)
{
	for (size_t i = 0; entries && i < n; i++) {
		free(entries[i].config);
		strv_free(entries[i].repo_tags);
		strv_free(entries[i].layers);
	}
	free(entries);
}

/* ---- descriptors ---- */

static int parse_platform(struct jctx *c, yajl_val v, void *out)
{
	struct oci_platform *p = out;
	int r;

	if ((r = jget_string(c, v, "architecture", &p->architecture)) < 0 ||
	    (r = jget_string(c, v, "os", &p->os)) < 0 ||
	    (r = jget_string(c, v, "variant", &p->variant)) < 0 ||
	    (r = jget_string(c, v, "os.version", &p->os_version)) < 0)
		return r;
	return 0;
}

static int require_string(struct jctx *c, yajl_val obj, const char *key, char **ret)
{
	int r = jget_string(c, obj, key, ret);

	if (r == 0 && !*ret)
		return jfail_at(c, key, "is required");
	return r;
}

static int parse_descriptor(struct jctx *c, yajl_val v, void *out)
{
	struct oci_descriptor *d = out;
	bool has_size = false;
	int r;

	r = require_string(c, v, "mediaType", &d->media_type);
	if (r == 0)
		r = require_string(c, v, "digest", &d->digest);
	if (r == 0)
		r = check_digest(c, "digest", d->digest);
	if (r == 0)
		r = jget_int_range(c, v, "size", 0, INT64_MAX, "a size in bytes", &d->size, &has_size);
	if (r == 0 && !has_size)
		r = jfail_at(c, "size", "is required");
	if (r == 0)
		r = jget_kv_map(c, v, "annotations", &d->annotations, &d->n_annotations);
	if (r == 0)
		r = jget_with(c, v, "platform", parse_platform, &d->platform, &d->has_platform);
	return r;
}

static int parse_schema_version(struct jctx *c, yajl_val root, int64_t *ret)
{
	bool has = false;
	int r = jget_int_range(c, root, "schemaVersion", 0, INT32_MAX, "an integer", ret, &has);

	if (r < 0)
		return r;
	if (!has)
		return jfail_at(c, "schemaVersion", "is required");
	if (*ret != 2)
		return jfail_at(c, "schemaVersion", "must be 2, not %lld", (long long)*ret);
	return 0;
}

/* ---- documents ---- */

static int parse_root(const char *doc, const char *json, size_t len, struct jctx *c, yajl_val *ret_tree,
		      struct berth_error *err)
{
	yajl_val tree = NULL;
	int r;

	if (len > OCI_IMAGE_DOC_MAX)
		return berth_error_set(err, -EFBIG, "%s: larger than %u bytes", doc, OCI_IMAGE_DOC_MAX);
	r = json_parse_doc(doc, json, len, &tree, err);
	if (r < 0)
		return r;
	jctx_init(c, doc, err);
	*ret_tree = tree;
	return 0;
}

int oci_image_index_parse(const char *json, size_t len, struct oci_image_index **ret_index,
			  struct berth_error *err)
{
	_cleanup_yajl_ yajl_val tree = NULL;
	struct oci_image_index *ix;
	struct jctx c;
	int r;

	r = parse_root("index.json", json, len, &c, &tree, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(tree))
		return jfail(&c, "expected an object");
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return berth_error_set(err, -ENOMEM, "index.json: out of memory");
	r = parse_schema_version(&c, tree, &ix->schema_version);
	if (r == 0)
		r = jget_string(&c, tree, "mediaType", &ix->media_type);
	if (r == 0 && ix->media_type && oci_media_type_kind(ix->media_type, NULL) != OCI_MEDIA_INDEX)
		r = jfail_at(&c, "mediaType", "\"%s\" is not an image index", ix->media_type);
	if (r == 0)
		r = JGET_ARRAY_OF(&c, tree, "manifests", parse_descriptor, &ix->manifests, &ix->n_manifests);
	if (r == 0)
		r = jget_kv_map(&c, tree, "annotations", &ix->annotations, &ix->n_annotations);
	if (r < 0) {
		oci_image_index_free(ix);
		return r;
	}
	*ret_index = ix;
	return 0;
}

int oci_image_manifest_parse(const char *json, size_t len, struct oci_image_manifest **ret_manifest,
			     struct berth_error *err)
{
	_cleanup_yajl_ yajl_val tree = NULL;
	struct oci_image_manifest *m;
	bool has_config = false;
	struct jctx c;
	int r;

	r = parse_root("manifest", json, len, &c, &tree, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(tree))
		return jfail(&c, "expected an object");
	m = calloc(1, sizeof(*m));
	if (!m)
		return berth_error_set(err, -ENOMEM, "manifest: out of memory");
	r = parse_schema_version(&c, tree, &m->schema_version);
	if (r == 0)
		r = jget_string(&c, tree, "mediaType", &m->media_type);
	if (r == 0 && m->media_type && oci_media_type_kind(m->media_type, NULL) != OCI_MEDIA_MANIFEST)
		r = jfail_at(&c, "mediaType", "\"%s\" is not an image manifest", m->media_type);
	if (r == 0)
		r = jget_with(&c, tree, "config", parse_descriptor, &m->config, &has_config);
	if (r == 0 && !has_config)
		r = jfail_at(&c, "config", "is required");
	if (r == 0)
		r = JGET_ARRAY_OF(&c, tree, "layers", parse_descriptor, &m->layers, &m->n_layers);
	if (r == 0)
		r = jget_kv_map(&c, tree, "annotations", &m->annotations, &m->n_annotations);
	if (r < 0) {
		oci_image_manifest_free(m);
		return r;
	}
	*ret_manifest = m;
	return 0;
}

/* The keys of an object used as a set ({"80/tcp": {}}). */
static int object_keys(struct jctx *c, yajl_val obj, const char *key, char ***ret)
{
	yajl_val v;
	char **keys;
	size_t n;
	int r;

	r = jget_object(c, obj, key, &v);
	if (r < 0 || !v)
		return r;
	n = v->u.object.len;
	if (n > JSON_ENTRIES_MAX)
		return jfail_at(c, key, "too many entries (at most %d)", JSON_ENTRIES_MAX);
	keys = calloc(n + 1, sizeof(char *));
	if (!keys)
		return berth_error_set(c->err, -ENOMEM, "%s: out of memory", c->doc);
	for (size_t i = 0; i < n; i++) {
		keys[i] = strdup(v->u.object.keys[i]);
		if (!keys[i]) {
			strv_free(keys);
			return berth_error_set(c->err, -ENOMEM, "%s: out of memory", c->doc);
		}
	}
	strv_free(*ret);
	*ret = keys;
	return 0;
}

static int parse_exec_config(struct jctx *c, yajl_val v, void *out)
{
	struct oci_image_config *ic = out;
	int r;

	if ((r = jget_string(c, v, "User", &ic->user)) < 0 || (r = jget_strv(c, v, "Env", &ic->env)) < 0 ||
	    (r = jget_strv(c, v, "Entrypoint", &ic->entrypoint)) < 0 ||
	    (r = jget_strv(c, v, "Cmd", &ic->cmd)) < 0 ||
	    (r = jget_string(c, v, "WorkingDir", &ic->working_dir)) < 0 ||
	    (r = jget_kv_map(c, v, "Labels", &ic->labels, &ic->n_labels)) < 0 ||
	    (r = jget_string(c, v, "StopSignal", &ic->stop_signal)) < 0 ||
	    (r = object_keys(c, v, "ExposedPorts", &ic->exposed_ports)) < 0 ||
	    (r = object_keys(c, v, "Volumes", &ic->volumes)) < 0)
		return r;
	return 0;
}

static int parse_rootfs(struct jctx *c, yajl_val v, void *out)
{
	struct oci_image_config *ic = out;
	size_t mark;
	int r;

	r = require_string(c, v, "type", &ic->rootfs_type);
	if (r == 0 && strcmp(ic->rootfs_type, "layers") != 0)
		r = jfail_at(c, "type", "must be \"layers\", not \"%s\"", ic->rootfs_type);
	if (r == 0)
		r = jget_strv(c, v, "diff_ids", &ic->diff_ids);
	if (r == 0 && !ic->diff_ids)
		r = jfail_at(c, "diff_ids", "is required");
	for (size_t i = 0; r == 0 && ic->diff_ids[i]; i++) {
		mark = jpath_key(c, "diff_ids");
		size_t imark = jpath_index(c, i);
		if (!oci_digest_valid(ic->diff_ids[i]))
			r = jfail(c, "expected \"sha256:\" and 64 lower-case hex digits");
		jpath_pop(c, imark);
		jpath_pop(c, mark);
		ic->n_diff_ids = i + 1;
	}
	return r;
}

int oci_image_config_parse(const char *json, size_t len, struct oci_image_config **ret_config,
			   struct berth_error *err)
{
	_cleanup_yajl_ yajl_val tree = NULL;
	struct oci_image_config *ic;
	bool has_rootfs = false;
	yajl_val history = NULL;
	struct jctx c;
	int r;

	r = parse_root("image config", json, len, &c, &tree, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(tree))
		return jfail(&c, "expected an object");
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return berth_error_set(err, -ENOMEM, "image config: out of memory");
	if ((r = jget_string(&c, tree, "created", &ic->created)) < 0 ||
	    (r = jget_string(&c, tree, "author", &ic->author)) < 0 ||
	    (r = jget_string(&c, tree, "architecture", &ic->architecture)) < 0 ||
	    (r = jget_string(&c, tree, "os", &ic->os)) < 0 ||
	    (r = jget_string(&c, tree, "variant", &ic->variant)) < 0 ||
	    (r = jget_with(&c, tree, "config", parse_exec_config, ic, NULL)) < 0 ||
	    (r = jget_with(&c, tree, "rootfs", parse_rootfs, ic, &has_rootfs)) < 0 ||
	    (r = jget_array(&c, tree, "history", &history)) < 0)
		goto fail;
	if (!has_rootfs) {
		r = jfail_at(&c, "rootfs", "is required");
		goto fail;
	}
	ic->n_history = history ? history->u.array.len : 0;
	*ret_config = ic;
	return 0;
fail:
	oci_image_config_free(ic);
	return r;
}

static int parse_docker_entry(struct jctx *c, yajl_val v, void *out)
{
	struct oci_docker_manifest *e = out;
	int r;

	r = require_string(c, v, "Config", &e->config);
	if (r == 0)
		r = jget_strv(c, v, "RepoTags", &e->repo_tags);
	if (r == 0)
		r = jget_strv(c, v, "Layers", &e->layers);
	if (r == 0 && !e->layers)
		r = jfail_at(c, "Layers", "is required");
	for (size_t i = 0; r == 0 && e->layers[i]; i++)
		e->n_layers = i + 1;
	return r;
}

int oci_docker_manifest_parse(const char *json, size_t len, struct oci_docker_manifest **ret_entries,
			      size_t *ret_n, struct berth_error *err)
{
	_cleanup_yajl_ yajl_val tree = NULL;
	struct oci_docker_manifest *entries;
	struct jctx c;
	size_t n;
	int r = 0;

	r = parse_root("manifest.json", json, len, &c, &tree, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_ARRAY(tree))
		return jfail(&c, "expected an array");
	n = tree->u.array.len;
	if (n == 0)
		return jfail(&c, "lists no image");
	if (n > JSON_ENTRIES_MAX)
		return jfail(&c, "too many entries (at most %d)", JSON_ENTRIES_MAX);
	entries = calloc(n, sizeof(*entries));
	if (!entries)
		return berth_error_set(err, -ENOMEM, "manifest.json: out of memory");
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t mark = jpath_index(&c, i);
		yajl_val e = tree->u.array.values[i];

		r = YAJL_IS_OBJECT(e) ? parse_docker_entry(&c, e, &entries[i])
				      : jfail(&c, "expected an object");
		jpath_pop(&c, mark);
	}
	if (r < 0) {
		oci_docker_manifest_free(entries, n);
		return r;
	}
	*ret_entries = entries;
	*ret_n = n;
	return 0;
}
