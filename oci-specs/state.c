/* The state document, `list`/`ps` output, and berth's own per-container record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "berth/version.h"
#include "json_internal.h"

const char *oci_status_name(enum oci_status status)
{
	static const char *const names[] = {
	    [OCI_STATUS_CREATING] = "creating", [OCI_STATUS_CREATED] = "created",
	    [OCI_STATUS_RUNNING] = "running",   [OCI_STATUS_STOPPED] = "stopped",
	    [OCI_STATUS_PAUSED] = "paused",
	};

	if ((unsigned)status >= ARRAY_SIZE(names))
		return "unknown";
	return names[status];
}

int oci_state_to_json(const struct oci_state *state, bool pretty, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r;

	if (!state || !ret_json)
		return -EINVAL;
	r = jgen_init(&j);
	if (r < 0)
		return r;
	jg_open(&j);
	jg_kstr(&j, "ociVersion", state->oci_version ? state->oci_version : BERTH_OCI_VERSION);
	jg_kstr(&j, "id", state->id);
	jg_kstr(&j, "status", oci_status_name(state->status));
	if (state->pid > 0)
		jg_kint(&j, "pid", state->pid);
	jg_kstr(&j, "bundle", state->bundle);
	if (state->n_annotations)
		jg_kkv(&j, "annotations", state->annotations, state->n_annotations);
	jg_close(&j);
	/* Two spaces, as runc's `state` prints it. */
	return jgen_finish(&j, pretty ? "  " : NULL, ret_json, ret_len);
}

/* ---- list, ps ---- */

static void list_entry(struct jgen *j, const struct oci_list_entry *e)
{
	jg_open(j);
	jg_kstr(j, "ociVersion", BERTH_OCI_VERSION);
	jg_kstr(j, "id", e->id);
	jg_kint(j, "pid", e->pid);
	jg_kstr(j, "status", oci_status_name(e->status));
	jg_kstr(j, "bundle", e->bundle);
	jg_kstr(j, "rootfs", e->rootfs);
	jg_kstr(j, "created", e->created);
	jg_kstr(j, "owner", e->owner);
	if (e->n_annotations)
		jg_kkv(j, "annotations", e->annotations, e->n_annotations);
	jg_close(j);
}

int oci_list_to_json(const struct oci_list_entry *entries, size_t n, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r;

	if ((n && !entries) || !ret_json)
		return -EINVAL;
	r = jgen_init(&j);
	if (r < 0)
		return r;
	/* runc prints null for no containers; an empty array is what callers can iterate. */
	jg_aopen(&j);
	for (size_t i = 0; i < n; i++)
		list_entry(&j, &entries[i]);
	jg_aclose(&j);
	return jgen_finish(&j, NULL, ret_json, ret_len);
}

int oci_pids_to_json(const pid_t *pids, size_t n, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r;

	if ((n && !pids) || !ret_json)
		return -EINVAL;
	r = jgen_init(&j);
	if (r < 0)
		return r;
	jg_aopen(&j);
	for (size_t i = 0; i < n; i++)
		jg_int(&j, pids[i]);
	jg_aclose(&j);
	return jgen_finish(&j, NULL, ret_json, ret_len);
}

/* ---- berth_record ----
 *
 * Field names are part of the on-disk format: a berth upgraded while containers run must read
 * the records the previous version wrote. Add fields, never rename them. NULL strings are
 * omitted and read back as NULL; "" is written and read back as "". */

static void jg_kopt(struct jgen *j, const char *key, const char *s)
{
	if (s)
		jg_kstr(j, key, s);
}

int berth_record_to_json(const struct berth_record *rec, char **ret_json, size_t *ret_len)
{
	struct jgen j;
	int r;

	if (!rec || !ret_json)
		return -EINVAL;
	r = jgen_init(&j);
	if (r < 0)
		return r;
	jg_open(&j);
	jg_kopt(&j, "id", rec->id);
	jg_kopt(&j, "bundle", rec->bundle);
	jg_kopt(&j, "rootfs", rec->rootfs);
	jg_kint(&j, "pid", rec->pid);
	jg_kuint(&j, "pidStartTime", rec->pid_start_time);
	jg_kopt(&j, "created", rec->created);
	jg_kopt(&j, "owner", rec->owner);
	jg_kopt(&j, "cgroupPath", rec->cgroup_path);
	jg_kbool(&j, "cgroupOwned", rec->cgroup_owned);
	jg_kbool(&j, "systemdCgroup", rec->systemd_cgroup);
	if (rec->hook_kinds_known)
		jg_kuint(&j, "hookKinds", rec->hook_kinds);
	if (rec->n_annotations)
		jg_kkv(&j, "annotations", rec->annotations, rec->n_annotations);
	jg_key(&j, "namespaces");
	jg_open(&j);
	for (int t = 0; t < OCI_NS_MAX; t++)
		jg_kopt(&j, oci_ns_type_name((enum oci_ns_type)t), rec->ns_paths[t]);
	jg_close(&j);
	jg_close(&j);
	return jgen_finish(&j, NULL, ret_json, ret_len);
}

static int parse_record_namespaces(struct jctx *c, yajl_val v, void *out)
{
	struct berth_record *rec = out;
	int r = 0;

	if (!YAJL_IS_OBJECT(v))
		return jfail(c, "expected an object");
	/* One pass over the members (a lookup per type would scan them OCI_NS_MAX times). Types this
	 * version does not know are skipped, like any unknown field; the last duplicate wins. */
	for (size_t i = 0; i < v->u.object.len && r == 0; i++) {
		const char *key = v->u.object.keys[i];
		yajl_val val = v->u.object.values[i];
		for (int t = 0; t < OCI_NS_MAX; t++) {
			if (strcmp(key, oci_ns_type_name((enum oci_ns_type)t)) != 0)
				continue;
			if (!YAJL_IS_NULL(val)) {
				size_t mark = jpath_key(c, key);
				char *s = NULL;
				r = jval_string(c, val, &s);
				jpath_pop(c, mark);
				if (r == 0) {
					free(rec->ns_paths[t]);
					rec->ns_paths[t] = s;
				}
			}
			break;
		}
	}
	return r;
}

static int parse_record(struct jctx *c, yajl_val doc, struct berth_record *rec)
{
	int64_t pid = 0;
	int r;

	r = jget_string(c, doc, "id", &rec->id);
	if (r == 0)
		r = jget_string(c, doc, "bundle", &rec->bundle);
	if (r == 0)
		r = jget_string(c, doc, "rootfs", &rec->rootfs);
	if (r == 0)
		r = jget_int_range(c, doc, "pid", 0, INT32_MAX, "a process id", &pid, NULL);
	if (r == 0)
		r = jget_u64(c, doc, "pidStartTime", &rec->pid_start_time, NULL);
	if (r == 0)
		r = jget_string(c, doc, "created", &rec->created);
	if (r == 0)
		r = jget_string(c, doc, "owner", &rec->owner);
	if (r == 0)
		r = jget_string(c, doc, "cgroupPath", &rec->cgroup_path);
	if (r == 0)
		r = jget_bool(c, doc, "cgroupOwned", &rec->cgroup_owned, NULL);
	if (r == 0)
		r = jget_bool(c, doc, "systemdCgroup", &rec->systemd_cgroup, NULL);
	if (r == 0)
		r = jget_u32(c, doc, "hookKinds", &rec->hook_kinds, &rec->hook_kinds_known);
	if (r == 0)
		r = jget_kv_map(c, doc, "annotations", &rec->annotations, &rec->n_annotations);
	if (r == 0)
		r = jget_with(c, doc, "namespaces", parse_record_namespaces, rec, NULL);
	rec->pid = (pid_t)pid;
	if (r == 0 && (!rec->id || !*rec->id))
		return jfail_at(c, "id", "required");
	return r;
}

static void berth_record_freep(struct berth_record **p)
{
	berth_record_free(*p);
	*p = NULL;
}

int berth_record_parse(const char *json, size_t len, struct berth_record **ret_rec, struct berth_error *err)
{
	_cleanup_yajl_ yajl_val doc = NULL;
	_cleanup_(berth_record_freep) struct berth_record *rec = NULL;
	struct jctx c;
	int r;

	if (!json || !ret_rec)
		return berth_error_set(err, -EINVAL, "state.json: no document");
	r = json_parse_doc("state.json", json, len, &doc, err);
	if (r < 0)
		return r;
	jctx_init(&c, "state.json", err);
	if (!YAJL_IS_OBJECT(doc))
		return jfail(&c, "expected a JSON object");
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return berth_error_set(err, -ENOMEM, "state.json: out of memory");
	r = parse_record(&c, doc, rec);
	if (r < 0)
		return r;
	*ret_rec = TAKE_PTR(rec);
	return 0;
}

void berth_record_free(struct berth_record *rec)
{
	if (!rec)
		return;
	free(rec->id);
	free(rec->bundle);
	free(rec->rootfs);
	free(rec->created);
	free(rec->owner);
	free(rec->cgroup_path);
	oci_kv_free_array(rec->annotations, rec->n_annotations);
	for (int t = 0; t < OCI_NS_MAX; t++)
		free(rec->ns_paths[t]);
	free(rec);
}
