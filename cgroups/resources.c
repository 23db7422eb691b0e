/* cgroup_apply_resources(): which hierarchy applies each controller, the unified map, device
 * rules, and the value conversions runc established. The per-version writers live in
 * resources_v1.c and resources_v2.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "resources.h"

/* ---- shared helpers ---- */

int cg_put(int fd, const char *file, const char *value, const char *field, struct berth_error *err)
{
	int r = cg_write(fd, file, value, false);
	if (r < 0)
		return berth_error_setf_errno(err, r, "%s: write %s", field, file);
	log_debug("cgroup: %s <- %s", file, value);
	return 0;
}

int cg_putf(int fd, const char *file, const char *field, struct berth_error *err, const char *fmt, ...)
{
	char value[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value))
		return berth_error_set(err, -EINVAL, "%s: value for %s is too long", field, file);
	return cg_put(fd, file, value, field, err);
}

int cg_read_u64(int fd, const char *name, uint64_t *ret)
{
	char buf[64];
	int r = cg_read(fd, name, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (strcmp(buf, "max") == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf || *end || buf[0] == '-')
		return -EBADMSG;
	*ret = v;
	return 0;
}

/* true when the space-separated list in @fd's cgroup.controllers names @controller. */
static bool controller_listed(int fd, const char *controller)
{
	char buf[1024];
	size_t len = strlen(controller);

	if (cg_read(fd, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return false;
	for (const char *p = buf; *p;) {
		p += strspn(p, " \t\n");
		size_t n = strcspn(p, " \t\n");
		if (n == len && strncmp(p, controller, len) == 0)
			return true;
		p += n;
	}
	return false;
}

int cg_ctl_open(const struct cgroup *cg, const char *v1_name, const char *v2_name, struct cg_ctl *ret)
{
	struct cg_hier h;

	if (v1_name && cg_find_v1(cg, v1_name, &h)) {
		int fd = cg_open(cg, &h);
		if (fd < 0)
			return fd;
		*ret = (struct cg_ctl){.fd = fd, .v2 = false};
		return 0;
	}
	if (v2_name && cg_find_unified(cg, &h)) {
		_cleanup_close_ int fd = cg_open(cg, &h);
		if (fd < 0)
			return fd;
		if (!controller_listed(fd, v2_name))
			return -ENOENT;
		*ret = (struct cg_ctl){.fd = TAKE_FD(fd), .v2 = true};
		return 0;
	}
	return -ENOENT;
}

int cg_ctl_missing(const struct cgroup *cg, const char *field, const char *controller, int code,
		   struct berth_error *err)
{
	if (code != -ENOENT)
		return berth_error_setf_errno(err, code, "%s: open cgroup '%s' for the %s controller", field,
					      cg->path, controller);
	if (cg->layout == CGROUP_LAYOUT_UNIFIED)
		return berth_error_set(err, -EOPNOTSUPP,
				       "%s: the %s controller is not enabled for cgroup '%s' (it is not "
				       "listed in its cgroup.controllers)",
				       field, controller, cg->path);
	return berth_error_set(err, -EOPNOTSUPP,
			       "%s: the %s controller is not available on this host (no v1 %s hierarchy, "
			       "and the cgroup2 tree does not offer it)",
			       field, controller, controller);
}

/* ---- conversions ---- */

uint64_t cgroup_cpu_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	/* The v1 kernel clamps shares to [2, 262144]; map that range linearly onto [1, 10000]. */
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + ((weight - 10) * 9999) / 990;
}

int cgroup_memory_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret_swap, struct berth_error *err)
{
	/* An unlimited memory limit with no swap setting means "both unlimited", as on v1, where
	 * memsw must stay >= the memory limit. */
	if (limit == -1 && swap == 0) {
		*ret_swap = -1;
		return 1;
	}
	if (swap == 0)
		return 0;
	if (swap == -1) {
		*ret_swap = -1;
		return 1;
	}
	if (swap < -1)
		return berth_error_set(
		    err, -EINVAL, "linux.resources.memory.swap: %" PRId64 " is not -1 (unlimited) or a size",
		    swap);
	if (limit <= 0)
		return berth_error_set(err, -EINVAL,
				       "linux.resources.memory.swap: needs linux.resources.memory.limit "
				       "(swap is the memory+swap limit)");
	if (swap < limit)
		return berth_error_set(err, -EINVAL,
				       "linux.resources.memory.swap: %" PRId64
				       " is below linux.resources.memory.limit %" PRId64
				       " (swap is the memory+swap limit)",
				       swap, limit);
	/* swap == limit: memory+swap equals memory, i.e. no swap at all ("0", not "unset"). */
	*ret_swap = swap - limit;
	return 1;
}

/* ---- which controllers a configuration uses ---- */

static bool wants_memory(const struct oci_resources *res)
{
	const typeof(res->memory) *m = &res->memory;
	return res->has_memory && (m->has_limit || m->has_reservation || m->has_swap || m->has_swappiness ||
				   m->has_disable_oom_killer);
}

static bool wants_cpu(const struct oci_resources *res)
{
	const typeof(res->cpu) *c = &res->cpu;
	return res->has_cpu &&
	       ((c->has_shares && c->shares) || (c->has_quota && c->quota) || (c->has_period && c->period) ||
		c->has_burst || c->has_idle || (c->has_realtime_runtime && c->realtime_runtime) ||
		(c->has_realtime_period && c->realtime_period));
}

static bool wants_cpuset(const struct oci_resources *res)
{
	return res->has_cpu && ((res->cpu.cpus && *res->cpu.cpus) || (res->cpu.mems && *res->cpu.mems));
}

static bool wants_pids(const struct oci_resources *res)
{
	return res->has_pids;
}

static bool wants_io(const struct oci_resources *res)
{
	const typeof(res->block_io) *b = &res->block_io;
	return res->has_block_io &&
	       ((b->has_weight && b->weight) || (b->has_leaf_weight && b->leaf_weight) ||
		b->n_weight_device || b->n_throttle_read_bps || b->n_throttle_write_bps ||
		b->n_throttle_read_iops || b->n_throttle_write_iops);
}

static bool wants_hugetlb(const struct oci_resources *res)
{
	return res->n_hugepage_limits > 0;
}

static bool wants_rdma(const struct oci_resources *res)
{
	return res->n_rdma > 0;
}

static bool wants_net_cls(const struct oci_resources *res)
{
	return res->has_network && res->network.has_class_id;
}

static bool wants_net_prio(const struct oci_resources *res)
{
	return res->has_network && res->network.n_priorities > 0;
}

struct applier {
	const char *field;
	const char *v1, *v2; /* controller names; v2 NULL: v1 only */
	bool (*wanted)(const struct oci_resources *res);
	cg_writer_fn *apply_v1, *apply_v2;
};

/* Order: memory before cpu so a tight memory limit holds before anything else changes;
 * cpuset before the rest of cpu is irrelevant to the kernel. */
static const struct applier appliers[] = {
    {"linux.resources.memory", "memory", "memory", wants_memory, cg_v1_memory, cg_v2_memory},
    {"linux.resources.cpu", "cpu", "cpu", wants_cpu, cg_v1_cpu, cg_v2_cpu},
    {"linux.resources.cpu", "cpuset", "cpuset", wants_cpuset, cg_cpuset, cg_cpuset},
    {"linux.resources.pids", "pids", "pids", wants_pids, cg_pids, cg_pids},
    {"linux.resources.blockIO", "blkio", "io", wants_io, cg_v1_blkio, cg_v2_io},
    {"linux.resources.hugepageLimits", "hugetlb", "hugetlb", wants_hugetlb, cg_v1_hugetlb, cg_v2_hugetlb},
    {"linux.resources.rdma", "rdma", "rdma", wants_rdma, cg_rdma, cg_rdma},
    {"linux.resources.network.classID", "net_cls", NULL, wants_net_cls, cg_v1_net_cls, NULL},
    {"linux.resources.network.priorities", "net_prio", NULL, wants_net_prio, cg_v1_net_prio, NULL},
};

size_t cg_needed_v2_controllers(const struct cgroup *cg, const struct oci_resources *res, const char **out,
				size_t max)
{
	struct cg_hier h;
	size_t n = 0;

	for (size_t i = 0; res && i < ARRAY_SIZE(appliers) && n < max; i++) {
		const struct applier *a = &appliers[i];
		if (a->v2 && a->wanted(res) && !cg_find_v1(cg, a->v1, &h))
			out[n++] = a->v2;
	}
	return n;
}

const char *cgroup_resources_limit_field(const struct oci_resources *res)
{
	for (size_t i = 0; res && i < ARRAY_SIZE(appliers); i++)
		if (appliers[i].wanted(res))
			return appliers[i].wanted == wants_memory && res->memory.has_limit
				   ? "linux.resources.memory.limit"
				   : appliers[i].field;
	return res && res->n_unified ? "linux.resources.unified" : NULL;
}

/* The controller's name as the host knows it: "io" on a v2 host, "blkio" elsewhere. */
static const char *ctl_name(const struct cgroup *cg, const struct applier *a)
{
	return cg->layout == CGROUP_LAYOUT_UNIFIED && a->v2 ? a->v2 : a->v1;
}

static int apply_one(const struct cgroup *cg, const struct applier *a, const struct oci_resources *res,
		     bool is_update, struct berth_error *err)
{
	struct cg_ctl ctl;
	int r = cg_ctl_open(cg, a->v1, a->v2, &ctl);

	if (r == -ENOENT && !a->v2 && cg->layout == CGROUP_LAYOUT_UNIFIED) {
		/* runc ignores these on v2, which has no net_cls/net_prio: keep configs portable. */
		log_warn("%s: ignored: cgroup v2 has no %s controller", a->field, a->v1);
		return 0;
	}
	if (r < 0)
		return cg_ctl_missing(cg, a->field, ctl_name(cg, a), r, err);
	_cleanup_close_ int fd = ctl.fd;
	return ctl.v2 ? a->apply_v2(fd, res, is_update, err) : a->apply_v1(fd, res, is_update, err);
}

/* ---- devices ---- */

static int apply_devices(const struct cgroup *cg, const struct oci_resources *res, struct berth_error *err)
{
	struct cg_hier h;
	int r;

	if (res->n_devices == 0)
		return 0;
	for (size_t i = 0; i < res->n_devices; i++) {
		r = cg_device_rule_check(&res->devices[i], i, err);
		if (r < 0)
			return r;
	}
	/* A v1 devices hierarchy is what the kernel consults on a hybrid host (and what runc
	 * uses there); the eBPF program is the v2 mechanism. */
	if (cg_find_v1(cg, "devices", &h)) {
		_cleanup_close_ int fd = cg_open(cg, &h);
		if (fd < 0)
			return berth_error_setf_errno(err, fd,
						      "linux.resources.devices: open cgroup '%s' in "
						      "hierarchy '%s'",
						      h.path, h.dir);
		return cg_v1_devices(fd, res->devices, res->n_devices, err);
	}
	if (cg_find_unified(cg, &h)) {
		_cleanup_close_ int fd = cg_open(cg, &h);
		if (fd < 0)
			return berth_error_setf_errno(err, fd, "linux.resources.devices: open cgroup '%s'",
						      h.path);
		r = cgroup_devices_bpf_apply(fd, res->devices, res->n_devices, err);
		if (r < 0)
			berth_error_prefix(err, "linux.resources.devices");
		return r;
	}
	return berth_error_set(err, -EOPNOTSUPP,
			       "linux.resources.devices: no devices cgroup on this host (neither a v1 "
			       "devices hierarchy nor cgroup2)");
}

/* ---- the unified map ---- */

/* Files that move or kill processes rather than limit them. */
static const char *const unified_refused[] = {"cgroup.procs", "cgroup.threads", "cgroup.kill"};

static int unified_check(int fd, const char *path, const char *key, struct berth_error *err)
{
	struct stat st;

	if (!*key || strchr(key, '/') || strstr(key, "..") || key[0] == '.')
		return berth_error_set(err, -EINVAL,
				       "linux.resources.unified[\"%s\"]: not a plain cgroup file name", key);
	for (size_t i = 0; i < ARRAY_SIZE(unified_refused); i++)
		if (strcmp(key, unified_refused[i]) == 0)
			return berth_error_set(err, -EINVAL,
					       "linux.resources.unified[\"%s\"]: moves or kills processes, "
					       "not a resource setting",
					       key);
	if (fstatat(fd, key, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return berth_error_set(err, -ENOENT,
					       "linux.resources.unified[\"%s\"]: no such file in cgroup '%s' "
					       "(is its controller enabled?)",
					       key, path);
		return berth_error_setf_errno(err, -errno, "linux.resources.unified[\"%s\"]", key);
	}
	if (!S_ISREG(st.st_mode))
		return berth_error_set(err, -EINVAL,
				       "linux.resources.unified[\"%s\"]: not a cgroup file in cgroup '%s'",
				       key, path);
	return 0;
}

static int apply_unified(const struct cgroup *cg, const struct oci_resources *res, struct berth_error *err)
{
	struct cg_hier h;
	char field[320];

	if (res->n_unified == 0)
		return 0;
	if (!cg_find_unified(cg, &h))
		return berth_error_set(err, -EOPNOTSUPP,
				       "linux.resources.unified: needs a cgroup v2 hierarchy, and this host "
				       "has none");
	_cleanup_close_ int fd = cg_open(cg, &h);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "linux.resources.unified: open cgroup '%s'", h.path);
	/* Validate everything before writing anything. */
	for (size_t i = 0; i < res->n_unified; i++) {
		int r = unified_check(fd, h.path, res->unified[i].key, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < res->n_unified; i++) {
		const struct oci_kv *kv = &res->unified[i];
		snprintf(field, sizeof(field), "linux.resources.unified[\"%s\"]", kv->key);
		int r = cg_put(fd, kv->key, kv->value ? kv->value : "", field, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cgroup_apply_resources(const struct cgroup *cg, const struct oci_resources *res, bool is_update,
			   struct berth_error *err)
{
	int r;

	if (!res)
		return 0;
	if (!cg || !cg->path)
		return berth_error_set(err, -EINVAL,
				       "cgroup path is not resolved (call cgroup_resolve first)");
	r = apply_devices(cg, res, err);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(appliers); i++)
		if (appliers[i].wanted(res))
			r = apply_one(cg, &appliers[i], res, is_update, err);
	/* Last: the unified map is the escape hatch that overrides the typed fields. */
	if (r >= 0)
		r = apply_unified(cg, res, err);
	return r < 0 ? r : 0;
}
