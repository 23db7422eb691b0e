/* manifest.json of a checkpoint archive (berth checkpoint --export): what the dumping host was,
 * so that the importing host can refuse early and clearly instead of failing inside CRIU. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "json_internal.h"

#define MANIFEST_DOC "manifest.json"

static void kopt(struct jgen *j, const char *key, const char *s)
{
	if (s)
		jg_kstr(j, key, s);
}

int oci_ckpt_manifest_to_json(const struct oci_ckpt_manifest *m, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r;

	if (!m || !ret_json)
		return -EINVAL;
	r = jgen_init(&j);
	if (r < 0)
		return r;
	jg_open(&j);
	jg_kint(&j, "formatVersion", m->format_version);
	kopt(&j, "berthVersion", m->berth_version);
	kopt(&j, "containerId", m->container_id);
	kopt(&j, "kernel", m->kernel);
	kopt(&j, "arch", m->arch);
	if (m->cpu_flags)
		jg_kstrv(&j, "cpuFlags", m->cpu_flags);
	kopt(&j, "image", m->image);
	kopt(&j, "imageDigest", m->image_digest);
	kopt(&j, "imageChainId", m->image_chain_id);
	kopt(&j, "network", m->network);
	jg_kbool(&j, "hasRootfs", m->has_rootfs);
	if (m->has_upper)
		jg_kbool(&j, "hasUpper", true);
	kopt(&j, "created", m->created);
	jg_close(&j);
	return jgen_finish(&j, "  ", ret_json, ret_len);
}

static void manifest_freep(struct oci_ckpt_manifest **m)
{
	oci_ckpt_manifest_free(*m);
}

/* "sha256:" and 64 lower-case hex digits: the only digest an image store names images by. */
static bool digest_ok(const char *d)
{
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int parse_fields(struct jctx *c, yajl_val doc, struct oci_ckpt_manifest *m)
{
	bool has = false;
	int r = jget_int_range(c, doc, "formatVersion", 1, 1000000, "a format version number",
			       &m->format_version, &has);
	if (r < 0)
		return r;
	if (!has)
		return jfail_in(c, "formatVersion", "required");
	if (m->format_version != OCI_CKPT_FORMAT_VERSION)
		return jfail_in(c, "formatVersion",
				"format version %lld is not supported (this berth reads version %d)",
				(long long)m->format_version, OCI_CKPT_FORMAT_VERSION);
	if ((r = jget_string(c, doc, "berthVersion", &m->berth_version)) < 0 ||
	    (r = jget_string(c, doc, "containerId", &m->container_id)) < 0 ||
	    (r = jget_string(c, doc, "kernel", &m->kernel)) < 0 ||
	    (r = jget_string(c, doc, "arch", &m->arch)) < 0 ||
	    (r = jget_strv(c, doc, "cpuFlags", &m->cpu_flags)) < 0 ||
	    (r = jget_string(c, doc, "image", &m->image)) < 0 ||
	    (r = jget_string(c, doc, "imageDigest", &m->image_digest)) < 0 ||
	    (r = jget_string(c, doc, "imageChainId", &m->image_chain_id)) < 0 ||
	    (r = jget_string(c, doc, "network", &m->network)) < 0 ||
	    (r = jget_bool(c, doc, "hasRootfs", &m->has_rootfs, NULL)) < 0 ||
	    (r = jget_bool(c, doc, "hasUpper", &m->has_upper, NULL)) < 0 ||
	    (r = jget_string(c, doc, "created", &m->created)) < 0)
		return r;
	if (!m->container_id || !m->container_id[0])
		return jfail_in(c, "containerId", "required");
	if (!m->kernel)
		return jfail_in(c, "kernel", "required");
	if (!m->arch)
		return jfail_in(c, "arch", "required");
	if (m->image_digest && !digest_ok(m->image_digest))
		return jfail_in(c, "imageDigest", "not a sha256 digest (\"sha256:\" and 64 hex digits)");
	if (m->image_chain_id && !digest_ok(m->image_chain_id))
		return jfail_in(c, "imageChainId", "not a sha256 digest (\"sha256:\" and 64 hex digits)");
	if (m->has_upper && m->has_rootfs)
		return jfail_in(c, "hasUpper",
				"an archive carries either the rootfs or an upper dir, not both");
	if (m->has_upper && (!m->image || !m->image[0]))
		return jfail_in(c, "image", "required with hasUpper (the image the upper dir goes onto)");
	if (m->has_upper && !m->image_digest)
		return jfail_in(c, "imageDigest", "required with hasUpper");
	return 0;
}

int oci_ckpt_manifest_parse(const char *json, size_t len, struct oci_ckpt_manifest **ret,
			    struct berth_error *err)
{
	_cleanup_yajl_ yajl_val doc = NULL;
	_cleanup_(manifest_freep) struct oci_ckpt_manifest *m = NULL;
	struct jctx c;
	int r;

	if (!json || !ret)
		return berth_error_set(err, -EINVAL, MANIFEST_DOC ": no document");
	r = json_parse_doc(MANIFEST_DOC, json, len, &doc, err);
	if (r < 0)
		return r;
	jctx_init(&c, MANIFEST_DOC, err);
	if (!YAJL_IS_OBJECT(doc))
		return jfail(&c, "expected a JSON object");
	m = calloc(1, sizeof(*m));
	if (!m)
		return berth_error_set(err, -ENOMEM, MANIFEST_DOC ": out of memory");
	r = parse_fields(&c, doc, m);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

void oci_ckpt_manifest_free(struct oci_ckpt_manifest *m)
{
	if (!m)
		return;
	free(m->berth_version);
	free(m->container_id);
	free(m->kernel);
	free(m->arch);
	if (m->cpu_flags)
		for (char **f = m->cpu_flags; *f; f++)
			free(*f);
	free(m->cpu_flags);
	free(m->image);
	free(m->image_digest);
	free(m->image_chain_id);
	free(m->network);
	free(m->created);
	free(m);
}

/* ---- config.json of an imported container ---- */

static void emit_tree(struct jgen *j, yajl_val v, int depth);

static const struct oci_kv *find_kv(const struct oci_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return &kv[i];
	return NULL;
}

/* The annotations object with @set applied: keys of @set replaced (or removed, value NULL), the
 * rest kept in order, new keys appended. */
static void emit_annotations(struct jgen *j, yajl_val obj, const struct oci_kv *set, size_t n_set)
{
	jg_open(j);
	for (size_t i = 0; obj && YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++) {
		const char *key = obj->u.object.keys[i];
		if (find_kv(set, n_set, key))
			continue;
		jg_key(j, key);
		emit_tree(j, obj->u.object.values[i], 2);
	}
	for (size_t i = 0; i < n_set; i++)
		if (set[i].value)
			jg_kstr(j, set[i].key, set[i].value);
	jg_close(j);
}

static void emit_tree(struct jgen *j, yajl_val v, int depth)
{
	if (j->r < 0)
		return;
	if (depth > 64) { /* json_parse_doc bounds the nesting already; belt and braces */
		j->r = -E2BIG;
		return;
	}
	if (YAJL_IS_OBJECT(v)) {
		jg_open(j);
		for (size_t i = 0; i < v->u.object.len; i++) {
			jg_key(j, v->u.object.keys[i]);
			emit_tree(j, v->u.object.values[i], depth + 1);
		}
		jg_close(j);
	} else if (YAJL_IS_ARRAY(v)) {
		jg_aopen(j);
		for (size_t i = 0; i < v->u.array.len; i++)
			emit_tree(j, v->u.array.values[i], depth + 1);
		jg_aclose(j);
	} else if (YAJL_IS_STRING(v)) {
		jg_str(j, v->u.string);
	} else if (YAJL_IS_NUMBER(v)) {
		if (yajl_gen_number(j->g, v->u.number.r, strlen(v->u.number.r)) != yajl_gen_status_ok)
			j->r = -EINVAL;
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		jg_bool(j, YAJL_IS_TRUE(v));
	} else if (yajl_gen_null(j->g) != yajl_gen_status_ok) {
		j->r = -EINVAL;
	}
}

int oci_ckpt_config_set_annotations(const char *json, size_t len, const struct oci_kv *set, size_t n_set,
				    char **ret_json, size_t *ret_len, struct berth_error *err)
{
	_cleanup_yajl_ yajl_val doc = NULL;
	struct jgen j;
	bool done = false;
	int r = json_parse_doc("config.json", json, len, &doc, err);

	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(doc))
		return berth_error_set(err, -EINVAL, "config.json: expected a JSON object");
	r = jgen_init(&j);
	if (r < 0)
		return berth_error_set(err, r, "config.json: out of memory");
	jg_open(&j);
	for (size_t i = 0; i < doc->u.object.len; i++) {
		const char *key = doc->u.object.keys[i];
		jg_key(&j, key);
		if (strcmp(key, "annotations") == 0) {
			emit_annotations(&j, doc->u.object.values[i], set, n_set);
			done = true;
		} else {
			emit_tree(&j, doc->u.object.values[i], 1);
		}
	}
	if (!done) {
		jg_key(&j, "annotations");
		emit_annotations(&j, NULL, set, n_set);
	}
	jg_close(&j);
	r = jgen_finish(&j, "\t", ret_json, ret_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "config.json: rewrite the annotations");
	return 0;
}
