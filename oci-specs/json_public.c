/* The public face of oci-specs' JSON plumbing for the modules above it (which may not include
 * yajl): a resources document parser for `update --resources`, and an incremental writer for
 * output whose shape lives elsewhere (`events` statistics). */
#include <errno.h>
#include <stdlib.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "json_internal.h"

int oci_resources_parse(const char *json, size_t len, struct oci_resources **ret, struct berth_error *err)
{
	_cleanup_yajl_ yajl_val doc = NULL;
	int r = json_parse_doc("resources", json, len, &doc, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(doc))
		return berth_error_set(err, -EINVAL, "resources: expected an object");
	struct oci_resources *res = calloc(1, sizeof(*res));
	if (!res)
		return berth_error_set(err, -ENOMEM, "out of memory");
	struct jctx c;
	jctx_init(&c, "resources", err);
	r = parse_resources(&c, doc, res);
	if (r < 0) {
		oci_resources_free(res);
		return r;
	}
	*ret = res;
	return 0;
}

void oci_resources_free(struct oci_resources *res)
{
	if (!res)
		return;
	oci_resources_clear(res);
	free(res);
}

struct oci_json {
	struct jgen g;
};

struct oci_json *oci_json_new(void)
{
	struct oci_json *j = calloc(1, sizeof(*j));
	if (j && jgen_init(&j->g) < 0) {
		free(j);
		return NULL;
	}
	return j;
}

void oci_json_open(struct oci_json *j)
{
	jg_open(&j->g);
}

void oci_json_close(struct oci_json *j)
{
	jg_close(&j->g);
}

void oci_json_array_open(struct oci_json *j)
{
	jg_aopen(&j->g);
}

void oci_json_array_close(struct oci_json *j)
{
	jg_aclose(&j->g);
}

void oci_json_key(struct oci_json *j, const char *key)
{
	jg_key(&j->g, key);
}

void oci_json_str(struct oci_json *j, const char *s)
{
	jg_str(&j->g, s);
}

void oci_json_uint(struct oci_json *j, uint64_t v)
{
	jg_uint(&j->g, v);
}

int oci_json_finish(struct oci_json *j, char **ret_json, size_t *ret_len)
{
	int r = jgen_finish(&j->g, NULL, ret_json, ret_len);
	oci_json_free(j);
	return r;
}

void oci_json_free(struct oci_json *j)
{
	if (!j)
		return;
	jgen_done(&j->g);
	free(j);
}
