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
	kopt(&j, "network", m->network);
	jg_kbool(&j, "hasRootfs", m->has_rootfs);
	kopt(&j, "created", m->created);
	jg_close(&j);
	return jgen_finish(&j, "  ", ret_json, ret_len);
}

static void manifest_freep(struct oci_ckpt_manifest **m)
{
	oci_ckpt_manifest_free(*m);
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
	    (r = jget_string(c, doc, "network", &m->network)) < 0 ||
	    (r = jget_bool(c, doc, "hasRootfs", &m->has_rootfs, NULL)) < 0 ||
	    (r = jget_string(c, doc, "created", &m->created)) < 0)
		return r;
	if (!m->container_id || !m->container_id[0])
		return jfail_in(c, "containerId", "required");
	if (!m->kernel)
		return jfail_in(c, "kernel", "required");
	if (!m->arch)
		return jfail_in(c, "arch", "required");
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
	free(m->network);
	free(m->created);
	free(m);
}
