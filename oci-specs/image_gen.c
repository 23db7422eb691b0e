/* Writers of the image documents berth stores (index.json, manifests it builds for Docker and
 * plain-rootfs imports, the default config of a rootfs import) and of what `berth image ls` and
 * `image inspect` print. Stored documents are compact: their bytes are what the digest names. */
#include <errno.h>
#include <string.h>

#include "berth/oci.h"
#include "json_internal.h"

static void gen_platform(struct jgen *j, const struct oci_platform *p)
{
	jg_key(j, "platform");
	jg_open(j);
	jg_kstr(j, "architecture", p->architecture);
	jg_kstr(j, "os", p->os);
	if (p->os_version)
		jg_kstr(j, "os.version", p->os_version);
	if (p->variant)
		jg_kstr(j, "variant", p->variant);
	jg_close(j);
}

static void gen_descriptor(struct jgen *j, const struct oci_descriptor *d)
{
	jg_open(j);
	jg_kstr(j, "mediaType", d->media_type);
	jg_kstr(j, "digest", d->digest);
	jg_kint(j, "size", d->size);
	if (d->n_annotations)
		jg_kkv(j, "annotations", d->annotations, d->n_annotations);
	if (d->has_platform)
		gen_platform(j, &d->platform);
	jg_close(j);
}

int oci_image_index_to_json(const struct oci_image_index *index, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r = jgen_init(&j);

	if (r < 0)
		return r;
	jg_open(&j);
	jg_kint(&j, "schemaVersion", 2);
	jg_kstr(&j, "mediaType", index->media_type ? index->media_type : OCI_MEDIA_TYPE_INDEX);
	jg_key(&j, "manifests");
	jg_aopen(&j);
	for (size_t i = 0; i < index->n_manifests; i++)
		gen_descriptor(&j, &index->manifests[i]);
	jg_aclose(&j);
	if (index->n_annotations)
		jg_kkv(&j, "annotations", index->annotations, index->n_annotations);
	jg_close(&j);
	return jgen_finish(&j, NULL, ret_json, ret_len);
}

int oci_image_manifest_to_json(const struct oci_image_manifest *manifest, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r = jgen_init(&j);

	if (r < 0)
		return r;
	jg_open(&j);
	jg_kint(&j, "schemaVersion", 2);
	jg_kstr(&j, "mediaType", manifest->media_type ? manifest->media_type : OCI_MEDIA_TYPE_MANIFEST);
	jg_key(&j, "config");
	gen_descriptor(&j, &manifest->config);
	jg_key(&j, "layers");
	jg_aopen(&j);
	for (size_t i = 0; i < manifest->n_layers; i++)
		gen_descriptor(&j, &manifest->layers[i]);
	jg_aclose(&j);
	if (manifest->n_annotations)
		jg_kkv(&j, "annotations", manifest->annotations, manifest->n_annotations);
	jg_close(&j);
	return jgen_finish(&j, NULL, ret_json, ret_len);
}

static void kstr_opt(struct jgen *j, const char *key, const char *s)
{
	if (s)
		jg_kstr(j, key, s);
}

static void kstrv_opt(struct jgen *j, const char *key, char *const *strv)
{
	if (strv)
		jg_kstrv(j, key, strv);
}

/* {"80/tcp": {}, ...} */
static void kset_opt(struct jgen *j, const char *key, char *const *keys)
{
	if (!keys)
		return;
	jg_key(j, key);
	jg_open(j);
	for (; *keys; keys++) {
		jg_key(j, *keys);
		jg_open(j);
		jg_close(j);
	}
	jg_close(j);
}

static void gen_exec_config(struct jgen *j, const struct oci_image_config *c)
{
	jg_open(j);
	kstr_opt(j, "User", c->user);
	kset_opt(j, "ExposedPorts", c->exposed_ports);
	kstrv_opt(j, "Env", c->env);
	kstrv_opt(j, "Entrypoint", c->entrypoint);
	kstrv_opt(j, "Cmd", c->cmd);
	kset_opt(j, "Volumes", c->volumes);
	kstr_opt(j, "WorkingDir", c->working_dir);
	if (c->n_labels)
		jg_kkv(j, "Labels", c->labels, c->n_labels);
	kstr_opt(j, "StopSignal", c->stop_signal);
	jg_close(j);
}

static void gen_config_body(struct jgen *j, const struct oci_image_config *c)
{
	kstr_opt(j, "created", c->created);
	kstr_opt(j, "author", c->author);
	jg_kstr(j, "architecture", c->architecture);
	jg_kstr(j, "os", c->os);
	kstr_opt(j, "variant", c->variant);
	jg_key(j, "config");
	gen_exec_config(j, c);
	jg_key(j, "rootfs");
	jg_open(j);
	jg_kstr(j, "type", c->rootfs_type ? c->rootfs_type : "layers");
	jg_kstrv(j, "diff_ids", c->diff_ids);
	jg_close(j);
}

int oci_image_config_to_json(const struct oci_image_config *config, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r = jgen_init(&j);

	if (r < 0)
		return r;
	jg_open(&j);
	gen_config_body(&j, config);
	jg_close(&j);
	return jgen_finish(&j, NULL, ret_json, ret_len);
}

/* The config digest is the image id. */
static const char *image_id(const struct oci_image_summary *s)
{
	return s->manifest ? s->manifest->config.digest : "";
}

static void gen_summary(struct jgen *j, const struct oci_image_summary *s)
{
	const struct oci_image_config *c = s->config;

	jg_kstrv(j, "names", s->names);
	jg_kstr(j, "id", image_id(s));
	jg_kstr(j, "digest", s->digest);
	jg_kstr(j, "created", c && c->created ? c->created : "");
	jg_kuint(j, "size", s->size);
	jg_kstr(j, "architecture", c && c->architecture ? c->architecture : "");
	jg_kstr(j, "os", c && c->os ? c->os : "");
}

int oci_image_list_to_json(const struct oci_image_summary *images, size_t n, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r = jgen_init(&j);

	if (r < 0)
		return r;
	jg_aopen(&j);
	for (size_t i = 0; i < n; i++) {
		jg_open(&j);
		gen_summary(&j, &images[i]);
		jg_close(&j);
	}
	jg_aclose(&j);
	return jgen_finish(&j, "  ", ret_json, ret_len);
}

int oci_image_inspect_to_json(const struct oci_image_summary *image, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r = jgen_init(&j);

	if (r < 0)
		return r;
	jg_open(&j);
	gen_summary(&j, image);
	if (image->manifest) {
		jg_kstr(&j, "manifestMediaType",
			image->manifest->media_type ? image->manifest->media_type : OCI_MEDIA_TYPE_MANIFEST);
		jg_key(&j, "layers");
		jg_aopen(&j);
		for (size_t i = 0; i < image->manifest->n_layers; i++)
			gen_descriptor(&j, &image->manifest->layers[i]);
		jg_aclose(&j);
	}
	if (image->config) {
		jg_key(&j, "config");
		jg_open(&j);
		gen_config_body(&j, image->config);
		jg_close(&j);
	}
	jg_close(&j);
	return jgen_finish(&j, "  ", ret_json, ret_len);
}
