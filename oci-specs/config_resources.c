/* linux.resources: the cgroup settings. Values are range-checked here; whether the host's
 * cgroup version can apply them is the cgroups module's call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "json_internal.h"

static int parse_device_rule(struct jctx *c, yajl_val v, void *out)
{
	struct oci_device_cgroup *d = out;
	_cleanup_free_ char *type = NULL;
	bool has_allow = false;
	int r;

	r = jget_bool(c, v, "allow", &d->allow, &has_allow);
	if (r == 0)
		r = jget_string(c, v, "type", &type);
	if (r == 0)
		r = jget_i64(c, v, "major", &d->major, &d->has_major);
	if (r == 0)
		r = jget_i64(c, v, "minor", &d->minor, &d->has_minor);
	if (r == 0)
		r = jget_string(c, v, "access", &d->access);
	if (r < 0)
		return r;
	if (!has_allow)
		return jfail_at(c, "allow", "required");
	if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
		return jfail_at(c, "type", "must be one of a, c, b");
	d->type = type ? type[0] : 'a';
	/* Some writers spell "any" as -1 (runc's internal form); fold it into "absent". */
	if (d->has_major && d->major == -1)
		d->has_major = false;
	if (d->has_minor && d->minor == -1)
		d->has_minor = false;
	if (d->has_major && d->major < 0)
		return jfail_at(c, "major", "must not be negative");
	if (d->has_minor && d->minor < 0)
		return jfail_at(c, "minor", "must not be negative");
	if (d->access && strspn(d->access, "rwm") != strlen(d->access))
		return jfail_at(c, "access", "must be a combination of r, w, m");
	return 0;
}

static int parse_memory(struct jctx *c, yajl_val v, void *out)
{
	struct oci_resources *res = out;
	typeof(res->memory) *m = &res->memory;
	int r;

	r = jget_i64(c, v, "limit", &m->limit, &m->has_limit);
	if (r == 0)
		r = jget_i64(c, v, "reservation", &m->reservation, &m->has_reservation);
	if (r == 0)
		r = jget_i64(c, v, "swap", &m->swap, &m->has_swap);
	if (r == 0)
		r = jget_i64(c, v, "kernel", &m->kernel, &m->has_kernel);
	if (r == 0)
		r = jget_i64(c, v, "kernelTCP", &m->kernel_tcp, &m->has_kernel_tcp);
	if (r == 0)
		r = jget_u64(c, v, "swappiness", &m->swappiness, &m->has_swappiness);
	if (r == 0)
		r = jget_bool(c, v, "disableOOMKiller", &m->disable_oom_killer, &m->has_disable_oom_killer);
	if (r == 0)
		r = jget_bool(c, v, "useHierarchy", &m->use_hierarchy, &m->has_use_hierarchy);
	if (r == 0)
		r = jget_bool(c, v, "checkBeforeUpdate", &m->check_before_update,
			      &m->has_check_before_update);
	if (r < 0)
		return r;
	if (m->has_swappiness && m->swappiness > 100)
		return jfail_at(c, "swappiness", "must be between 0 and 100");
	return 0;
}

static int parse_cpu(struct jctx *c, yajl_val v, void *out)
{
	struct oci_resources *res = out;
	typeof(res->cpu) *p = &res->cpu;
	int r;

	r = jget_u64(c, v, "shares", &p->shares, &p->has_shares);
	if (r == 0)
		r = jget_i64(c, v, "quota", &p->quota, &p->has_quota);
	if (r == 0)
		r = jget_u64(c, v, "burst", &p->burst, &p->has_burst);
	if (r == 0)
		r = jget_u64(c, v, "period", &p->period, &p->has_period);
	if (r == 0)
		r = jget_i64(c, v, "realtimeRuntime", &p->realtime_runtime, &p->has_realtime_runtime);
	if (r == 0)
		r = jget_u64(c, v, "realtimePeriod", &p->realtime_period, &p->has_realtime_period);
	if (r == 0)
		r = jget_string(c, v, "cpus", &p->cpus);
	if (r == 0)
		r = jget_string(c, v, "mems", &p->mems);
	if (r == 0)
		r = jget_i64(c, v, "idle", &p->idle, &p->has_idle);
	if (r < 0)
		return r;
	/* cpu.idle is a boolean in the kernel (0 or 1). */
	if (p->has_idle && p->idle != 0 && p->idle != 1)
		return jfail_at(c, "idle", "must be 0 or 1");
	return 0;
}

static int parse_pids(struct jctx *c, yajl_val v, void *out)
{
	struct oci_resources *res = out;

	/* runtime-spec 1.2.1 made limit optional; without it the object changes nothing. */
	return jget_i64(c, v, "limit", &res->pids_limit, &res->has_pids);
}

static int parse_weight_device(struct jctx *c, yajl_val v, void *out)
{
	struct oci_weight_device *d = out;
	bool has_major = false, has_minor = false;
	int r;

	r = jget_i64(c, v, "major", &d->major, &has_major);
	if (r == 0)
		r = jget_i64(c, v, "minor", &d->minor, &has_minor);
	if (r == 0)
		r = jget_u16(c, v, "weight", &d->weight, &d->has_weight);
	if (r == 0)
		r = jget_u16(c, v, "leafWeight", &d->leaf_weight, &d->has_leaf_weight);
	if (r < 0)
		return r;
	if (!has_major)
		return jfail_at(c, "major", "required");
	if (!has_minor)
		return jfail_at(c, "minor", "required");
	return 0;
}

static int parse_throttle_device(struct jctx *c, yajl_val v, void *out)
{
	struct oci_throttle_device *d = out;
	bool has_major = false, has_minor = false, has_rate = false;
	int r;

	r = jget_i64(c, v, "major", &d->major, &has_major);
	if (r == 0)
		r = jget_i64(c, v, "minor", &d->minor, &has_minor);
	if (r == 0)
		r = jget_u64(c, v, "rate", &d->rate, &has_rate);
	if (r < 0)
		return r;
	if (!has_major)
		return jfail_at(c, "major", "required");
	if (!has_minor)
		return jfail_at(c, "minor", "required");
	if (!has_rate)
		return jfail_at(c, "rate", "required");
	return 0;
}

static int parse_block_io(struct jctx *c, yajl_val v, void *out)
{
	struct oci_resources *res = out;
	typeof(res->block_io) *b = &res->block_io;
	int r;

	r = jget_u16(c, v, "weight", &b->weight, &b->has_weight);
	if (r == 0)
		r = jget_u16(c, v, "leafWeight", &b->leaf_weight, &b->has_leaf_weight);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "weightDevice", parse_weight_device, &b->weight_device,
				  &b->n_weight_device);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "throttleReadBpsDevice", parse_throttle_device, &b->throttle_read_bps,
				  &b->n_throttle_read_bps);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "throttleWriteBpsDevice", parse_throttle_device,
				  &b->throttle_write_bps, &b->n_throttle_write_bps);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "throttleReadIOPSDevice", parse_throttle_device,
				  &b->throttle_read_iops, &b->n_throttle_read_iops);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "throttleWriteIOPSDevice", parse_throttle_device,
				  &b->throttle_write_iops, &b->n_throttle_write_iops);
	return r;
}

static int parse_hugepage_limit(struct jctx *c, yajl_val v, void *out)
{
	struct oci_hugepage_limit *h = out;
	bool has_limit = false;
	int r;

	r = jget_string(c, v, "pageSize", &h->page_size);
	if (r == 0)
		r = jget_u64(c, v, "limit", &h->limit, &has_limit);
	if (r < 0)
		return r;
	if (!h->page_size || !*h->page_size)
		return jfail_at(c, "pageSize", "required");
	/* It becomes part of a cgroup file name ("hugetlb.2MB.max"). */
	if (strchr(h->page_size, '/') || strstr(h->page_size, ".."))
		return jfail_at(c, "pageSize", "invalid page size");
	if (!has_limit)
		return jfail_at(c, "limit", "required");
	return 0;
}

static int parse_net_priority(struct jctx *c, yajl_val v, void *out)
{
	struct oci_net_priority *p = out;
	bool has_priority = false;
	int r;

	r = jget_string(c, v, "name", &p->name);
	if (r == 0)
		r = jget_u32(c, v, "priority", &p->priority, &has_priority);
	if (r < 0)
		return r;
	if (!p->name || !*p->name)
		return jfail_at(c, "name", "required");
	if (!has_priority)
		return jfail_at(c, "priority", "required");
	return 0;
}

static int parse_network(struct jctx *c, yajl_val v, void *out)
{
	struct oci_resources *res = out;
	int r;

	r = jget_u32(c, v, "classID", &res->network.class_id, &res->network.has_class_id);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "priorities", parse_net_priority, &res->network.priorities,
				  &res->network.n_priorities);
	return r;
}

static int parse_rdma(struct jctx *c, const char *key, yajl_val v, void *out)
{
	struct oci_rdma_limit *l = out;
	int r;

	if (!YAJL_IS_OBJECT(v))
		return jfail(c, "expected an object");
	l->device = strdup(key);
	if (!l->device)
		return berth_error_set(c->err, -ENOMEM, "%s: out of memory", c->doc);
	r = jget_u32(c, v, "hcaHandles", &l->hca_handles, &l->has_hca_handles);
	if (r == 0)
		r = jget_u32(c, v, "hcaObjects", &l->hca_objects, &l->has_hca_objects);
	return r;
}

/* unified keys are cgroup v2 file names, written inside the container's cgroup directory. */
static int check_unified(struct jctx *c, const struct oci_resources *res)
{
	char q[JQUOTE_MAX];

	for (size_t i = 0; i < res->n_unified; i++) {
		const char *k = res->unified[i].key;

		if (!*k || strchr(k, '/') || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
			return jfail_at(c, "unified", "invalid cgroup file name %s", jquote(q, sizeof(q), k));
	}
	return 0;
}

int parse_resources(struct jctx *c, yajl_val v, void *out)
{
	struct oci_resources *res = out;
	int r;

	r = JGET_ARRAY_OF(c, v, "devices", parse_device_rule, &res->devices, &res->n_devices);
	if (r == 0)
		r = jget_with(c, v, "memory", parse_memory, res, &res->has_memory);
	if (r == 0)
		r = jget_with(c, v, "cpu", parse_cpu, res, &res->has_cpu);
	if (r == 0)
		r = jget_with(c, v, "pids", parse_pids, res, NULL);
	if (r == 0)
		r = jget_with(c, v, "blockIO", parse_block_io, res, &res->has_block_io);
	if (r == 0)
		r = JGET_ARRAY_OF(c, v, "hugepageLimits", parse_hugepage_limit, &res->hugepage_limits,
				  &res->n_hugepage_limits);
	if (r == 0)
		r = jget_with(c, v, "network", parse_network, res, &res->has_network);
	if (r == 0)
		r = JGET_MAP_OF(c, v, "rdma", parse_rdma, &res->rdma, &res->n_rdma);
	if (r == 0)
		r = jget_kv_map(c, v, "unified", &res->unified, &res->n_unified);
	if (r == 0)
		r = check_unified(c, res);
	return r;
}
