/* cgroup v2 resource writers (memory, cpu, io, hugetlb) and the writers whose files are the same
 * in both versions (cpuset, pids, rdma). Each takes the container's directory in the hierarchy
 * that carries the controller; nothing here knows where that directory is. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "resources.h"

/* ---- helpers shared with resources_v1.c ---- */

int cg_put_ordered(int fd, struct cg_val *vals, size_t n, struct berth_error *err)
{
	bool retry[8] = {false};
	int r;

	if (n > ARRAY_SIZE(retry))
		return berth_error_set(err, -EINVAL, "internal: too many ordered cgroup writes");
	for (size_t i = 0; i < n; i++) {
		if (!vals[i].set)
			continue;
		r = cg_write(fd, vals[i].file, vals[i].value, false);
		if (r == -EINVAL)
			retry[i] = true;
		else if (r < 0)
			return berth_error_setf_errno(err, r, "%s: write %s", vals[i].field, vals[i].file);
		else
			log_debug("cgroup: %s <- %s", vals[i].file, vals[i].value);
	}
	for (size_t i = 0; i < n; i++) {
		if (!retry[i])
			continue;
		r = cg_put(fd, vals[i].file, vals[i].value, vals[i].field, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A throttle entry's device, validated, as "MAJ:MIN". */
static int device_key(const struct oci_throttle_device *d, const char *list, size_t i, char *buf, size_t size,
		      struct berth_error *err)
{
	if (d->major < 0 || d->major > UINT32_MAX || d->minor < 0 || d->minor > UINT32_MAX)
		return berth_error_set(err, -EINVAL,
				       "linux.resources.blockIO.%s[%zu]: device %" PRId64 ":%" PRId64
				       " is not a valid major:minor",
				       list, i, d->major, d->minor);
	snprintf(buf, size, "%" PRId64 ":%" PRId64, d->major, d->minor);
	return 0;
}

struct throttle_list {
	const char *name, *key; /* JSON list name, io.max key */
	const struct oci_throttle_device *devs;
	size_t n;
};

static void throttle_lists(const struct oci_resources *res, struct throttle_list out[4])
{
	const typeof(res->block_io) *b = &res->block_io;
	out[0] = (struct throttle_list){"throttleReadBpsDevice", "rbps", b->throttle_read_bps,
					b->n_throttle_read_bps};
	out[1] = (struct throttle_list){"throttleWriteBpsDevice", "wbps", b->throttle_write_bps,
					b->n_throttle_write_bps};
	out[2] = (struct throttle_list){"throttleReadIOPSDevice", "riops", b->throttle_read_iops,
					b->n_throttle_read_iops};
	out[3] = (struct throttle_list){"throttleWriteIOPSDevice", "wiops", b->throttle_write_iops,
					b->n_throttle_write_iops};
}

static bool same_device(const struct oci_throttle_device *a, const struct oci_throttle_device *b)
{
	return a->major == b->major && a->minor == b->minor;
}

/* Was @d's device listed before position (@l, @i)? Then its line was already produced. */
static bool seen_before(const struct throttle_list *lists, size_t l, size_t i,
			const struct oci_throttle_device *d)
{
	for (size_t pl = 0; pl <= l; pl++)
		for (size_t pi = 0; pi < (pl == l ? i : lists[pl].n); pi++)
			if (same_device(&lists[pl].devs[pi], d))
				return true;
	return false;
}

/* "MAJ:MIN key=value ..." for device @d over all four lists; the last entry for a key wins. */
static void io_max_line(const struct throttle_list *lists, const struct oci_throttle_device *d,
			const char *dev, char *line, size_t size)
{
	size_t len = (size_t)snprintf(line, size, "%s", dev);

	for (size_t l = 0; l < 4; l++) {
		const struct oci_throttle_device *last = NULL;
		for (size_t i = 0; i < lists[l].n; i++)
			if (same_device(&lists[l].devs[i], d))
				last = &lists[l].devs[i];
		if (!last || len >= size)
			continue;
		/* v1 semantics: a rate of 0 removes the limit; io.max refuses 0. */
		if (last->rate == 0)
			len += (size_t)snprintf(line + len, size - len, " %s=max", lists[l].key);
		else
			len += (size_t)snprintf(line + len, size - len, " %s=%" PRIu64, lists[l].key,
						last->rate);
	}
}

int cg_io_max_foreach(const struct oci_resources *res, int (*fn)(const char *line, void *ctx), void *ctx,
		      struct berth_error *err)
{
	struct throttle_list lists[4];
	char dev[48], line[160];

	throttle_lists(res, lists);
	for (size_t l = 0; l < 4; l++) {
		for (size_t i = 0; i < lists[l].n; i++) {
			const struct oci_throttle_device *d = &lists[l].devs[i];
			int r = device_key(d, lists[l].name, i, dev, sizeof(dev), err);
			if (r < 0)
				return r;
			if (seen_before(lists, l, i, d))
				continue;
			io_max_line(lists, d, dev, line, sizeof(line));
			r = fn(line, ctx);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* ---- memory ---- */

static int check_before_update(int fd, const char *usage_file, int64_t limit, struct berth_error *err)
{
	uint64_t usage = 0;
	int r = cg_read_u64(fd, usage_file, &usage);

	if (r < 0)
		return berth_error_setf_errno(err, r, "linux.resources.memory.checkBeforeUpdate: read %s",
					      usage_file);
	if ((uint64_t)limit < usage)
		return berth_error_set(err, -EBUSY,
				       "linux.resources.memory.limit: %" PRId64
				       " bytes is below the current usage of %" PRIu64
				       " bytes (checkBeforeUpdate is set)",
				       limit, usage);
	return 0;
}

/* -1 -> "max", else the number. */
static void v2_num(char *buf, size_t size, int64_t v)
{
	if (v < 0)
		snprintf(buf, size, "max");
	else
		snprintf(buf, size, "%" PRId64, v);
}

static int v2_swap(int fd, int64_t swap, struct berth_error *err)
{
	char value[32];

	v2_num(value, sizeof(value), swap);
	int r = cg_write(fd, "memory.swap.max", value, false);
	if (r == -ENOENT && swap == -1)
		return 0; /* no swap accounting: "unlimited" is what there is anyway */
	if (r == -ENOENT)
		return berth_error_set(err, -EOPNOTSUPP,
				       "linux.resources.memory.swap: this kernel has no memory.swap.max "
				       "(swap accounting is disabled)");
	if (r < 0)
		return berth_error_setf_errno(err, r, "linux.resources.memory.swap: write memory.swap.max");
	return 0;
}

int cg_v2_memory(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	const typeof(res->memory) *m = &res->memory;
	int64_t limit = m->has_limit ? m->limit : 0, swap = 0;
	bool set_swap;
	char value[32];
	int r;

	if (m->has_swappiness)
		return berth_error_set(err, -EOPNOTSUPP,
				       "linux.resources.memory.swappiness: not supported on cgroup v2");
	if (limit < -1)
		return berth_error_set(
		    err, -EINVAL, "linux.resources.memory.limit: %" PRId64 " is not -1 (unlimited) or a size",
		    limit);
	r = cgroup_memory_swap_to_v2(m->has_swap ? m->swap : 0, limit, &swap, err);
	if (r < 0)
		return r;
	set_swap = r > 0;
	if (m->has_disable_oom_killer && m->disable_oom_killer)
		log_warn("linux.resources.memory.disableOOMKiller: ignored: cgroup v2 cannot disable the "
			 "OOM killer");
	if ((m->has_kernel && m->kernel) || (m->has_kernel_tcp && m->kernel_tcp))
		log_warn("linux.resources.memory.kernel: ignored: cgroup v2 has no separate kernel memory "
			 "limit");
	if (is_update && m->check_before_update && limit > 0) {
		r = check_before_update(fd, "memory.current", limit, err);
		if (r < 0)
			return r;
	}
	r = set_swap ? v2_swap(fd, swap, err) : 0;
	if (r >= 0 && limit != 0) {
		v2_num(value, sizeof(value), limit);
		r = cg_put(fd, "memory.max", value, "linux.resources.memory.limit", err);
	}
	if (r >= 0 && m->has_reservation) {
		if (m->reservation < -1)
			return berth_error_set(err, -EINVAL,
					       "linux.resources.memory.reservation: %" PRId64
					       " is not -1 (unlimited) or a size",
					       m->reservation);
		v2_num(value, sizeof(value), m->reservation);
		r = cg_put(fd, "memory.low", value, "linux.resources.memory.reservation", err);
	}
	return r;
}

/* ---- cpu ---- */

/* The quota part of cpu.max: the new one, or the current one when only the period changes. */
static void v2_quota(int fd, const struct oci_resources *res, char buf[static 24], size_t size)
{
	const typeof(res->cpu) *c = &res->cpu;
	char cur[64];

	if (c->has_quota && c->quota != 0) {
		v2_num(buf, size, c->quota > 0 ? c->quota : -1);
		return;
	}
	/* cpu.max takes "QUOTA" or "QUOTA PERIOD", never the period alone: keep the quota set. */
	if (cg_read(fd, "cpu.max", cur, sizeof(cur)) > 0) {
		cur[strcspn(cur, " ")] = '\0';
		snprintf(buf, size, "%.20s", cur); /* "max" or at most 20 digits */
		return;
	}
	snprintf(buf, size, "max");
}

int cg_v2_cpu(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	const typeof(res->cpu) *c = &res->cpu;
	struct cg_val vals[2] = {{.file = "cpu.max", .field = "linux.resources.cpu.quota"},
				 {.file = "cpu.max.burst", .field = "linux.resources.cpu.burst"}};
	char quota[24];
	int r = 0;

	(void)is_update;
	if ((c->has_realtime_runtime && c->realtime_runtime) ||
	    (c->has_realtime_period && c->realtime_period))
		return berth_error_set(err, -EOPNOTSUPP,
				       "linux.resources.cpu.realtimeRuntime: not supported on cgroup v2 "
				       "(no realtime group scheduling there)");
	if (c->has_shares && c->shares)
		r = cg_putf(fd, "cpu.weight", "linux.resources.cpu.shares", err, "%" PRIu64,
			    cgroup_cpu_shares_to_weight(c->shares));
	if (r < 0)
		return r;
	bool set_quota = c->has_quota && c->quota != 0, set_period = c->has_period && c->period != 0;
	if (set_quota || set_period) {
		v2_quota(fd, res, quota, sizeof(quota));
		vals[0].set = true;
		if (set_period)
			snprintf(vals[0].value, sizeof(vals[0].value), "%s %" PRIu64, quota, c->period);
		else
			snprintf(vals[0].value, sizeof(vals[0].value), "%s", quota);
	}
	if (c->has_burst) {
		if (!cg_has_file(fd, "cpu.max.burst"))
			return berth_error_set(err, -EOPNOTSUPP,
					       "linux.resources.cpu.burst: this kernel has no cpu.max.burst");
		vals[1].set = true;
		snprintf(vals[1].value, sizeof(vals[1].value), "%" PRIu64, c->burst);
	}
	/* The kernel checks the burst against the quota: either may have to go first. */
	r = cg_put_ordered(fd, vals, ARRAY_SIZE(vals), err);
	if (r >= 0 && c->has_idle)
		r = cg_putf(fd, "cpu.idle", "linux.resources.cpu.idle", err, "%" PRId64, c->idle);
	return r;
}

/* ---- io ---- */

static int put_io_max(const char *line, void *ctx)
{
	struct {
		int fd;
		struct berth_error *err;
	} *c = ctx;
	return cg_put(c->fd, "io.max", line, "linux.resources.blockIO.throttle", c->err);
}

static int v2_weight_device(int fd, const struct oci_resources *res, bool bfq, struct berth_error *err)
{
	const typeof(res->block_io) *b = &res->block_io;
	char field[96];

	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct oci_weight_device *d = &b->weight_device[i];
		snprintf(field, sizeof(field), "linux.resources.blockIO.weightDevice[%zu]", i);
		if (d->major < 0 || d->major > UINT32_MAX || d->minor < 0 || d->minor > UINT32_MAX)
			return berth_error_set(
			    err, -EINVAL, "%s: device %" PRId64 ":%" PRId64 " is not a valid major:minor",
			    field, d->major, d->minor);
		if (d->has_leaf_weight)
			log_warn("%s.leafWeight: ignored: cgroup v2 has no leaf weight", field);
		if (!d->has_weight)
			continue;
		int r = bfq ? cg_putf(fd, "io.bfq.weight", field, err, "%" PRId64 ":%" PRId64 " %u", d->major,
				      d->minor, (unsigned)d->weight)
			    : cg_putf(fd, "io.weight", field, err, "%" PRId64 ":%" PRId64 " %" PRIu64,
				      d->major, d->minor, cgroup_blkio_weight_to_io_weight(d->weight));
		if (r < 0)
			return r;
	}
	return 0;
}

int cg_v2_io(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	const typeof(res->block_io) *b = &res->block_io;
	/* BFQ takes blkio weights as they are; io.weight (iocost) needs the conversion. */
	bool bfq = cg_has_file(fd, "io.bfq.weight");
	int r = 0;

	(void)is_update;
	if ((b->has_weight && b->weight) || b->n_weight_device) {
		if (!bfq && !cg_has_file(fd, "io.weight"))
			return berth_error_set(
			    err, -EOPNOTSUPP,
			    "linux.resources.blockIO.weight: neither io.bfq.weight nor "
			    "io.weight exists (no proportional I/O control in this kernel)");
	}
	if (b->has_weight && b->weight)
		r = bfq ? cg_putf(fd, "io.bfq.weight", "linux.resources.blockIO.weight", err, "%u",
				  (unsigned)b->weight)
			: cg_putf(fd, "io.weight", "linux.resources.blockIO.weight", err, "%" PRIu64,
				  cgroup_blkio_weight_to_io_weight(b->weight));
	if (r < 0)
		return r;
	if (b->has_leaf_weight && b->leaf_weight)
		log_warn("linux.resources.blockIO.leafWeight: ignored: cgroup v2 has no leaf weight");
	r = v2_weight_device(fd, res, bfq, err);
	if (r < 0)
		return r;
	struct {
		int fd;
		struct berth_error *err;
	} ctx = {fd, err};
	return cg_io_max_foreach(res, put_io_max, &ctx, err);
}

/* ---- hugetlb (both versions; only the file names differ) ---- */

static int hugetlb(int fd, const struct oci_resources *res, bool v2, struct berth_error *err)
{
	char field[64], file[96];

	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const struct oci_hugepage_limit *h = &res->hugepage_limits[i];
		const char *size = h->page_size ? h->page_size : "";
		snprintf(field, sizeof(field), "linux.resources.hugepageLimits[%zu]", i);
		bool plain = *size && strlen(size) < 16;
		for (const char *p = size; plain && *p; p++)
			plain = isalnum((unsigned char)*p);
		if (!plain)
			return berth_error_set(err, -EINVAL, "%s.pageSize: '%s' is not a page size like 2MB",
					       field, size);
		snprintf(file, sizeof(file), v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", size);
		if (!cg_has_file(fd, file))
			return berth_error_set(err, -EOPNOTSUPP,
					       "%s.pageSize: this host has no %s huge pages (no %s)", field,
					       size, file);
		int r = cg_putf(fd, file, field, err, "%" PRIu64, h->limit);
		if (r < 0)
			return r;
		/* Reservations are charged separately where the kernel accounts them: limit both, or a
		 * mapping could reserve beyond the limit. */
		snprintf(file, sizeof(file), v2 ? "hugetlb.%s.rsvd.max" : "hugetlb.%s.rsvd.limit_in_bytes",
			 size);
		if (cg_has_file(fd, file)) {
			r = cg_putf(fd, file, field, err, "%" PRIu64, h->limit);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int cg_v2_hugetlb(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	(void)is_update;
	return hugetlb(fd, res, true, err);
}

int cg_v1_hugetlb(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	(void)is_update;
	return hugetlb(fd, res, false, err);
}

/* ---- cpuset, pids, rdma: the same files in both versions ---- */

int cg_cpuset(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	int r = 0;

	(void)is_update;
	/* An empty string would leave a v1 cpuset unusable; absent and empty both mean "inherit". */
	if (res->cpu.cpus && *res->cpu.cpus)
		r = cg_put(fd, "cpuset.cpus", res->cpu.cpus, "linux.resources.cpu.cpus", err);
	if (r >= 0 && res->cpu.mems && *res->cpu.mems)
		r = cg_put(fd, "cpuset.mems", res->cpu.mems, "linux.resources.cpu.mems", err);
	return r;
}

int cg_pids(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	(void)is_update;
	if (res->pids_limit <= 0)
		return cg_put(fd, "pids.max", "max", "linux.resources.pids.limit", err);
	return cg_putf(fd, "pids.max", "linux.resources.pids.limit", err, "%" PRId64, res->pids_limit);
}

int cg_rdma(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	char field[160], line[160];

	(void)is_update;
	for (size_t i = 0; i < res->n_rdma; i++) {
		const struct oci_rdma_limit *l = &res->rdma[i];
		const char *dev = l->device ? l->device : "";
		snprintf(field, sizeof(field), "linux.resources.rdma[\"%.64s\"]", dev);
		if (!*dev || strlen(dev) > 64 || dev[strcspn(dev, " \t\n=")] != '\0')
			return berth_error_set(err, -EINVAL, "%s: not an RDMA device name", field);
		if (!l->has_hca_handles && !l->has_hca_objects)
			continue;
		size_t len = (size_t)snprintf(line, sizeof(line), "%s", dev);
		if (l->has_hca_handles)
			len += (size_t)snprintf(line + len, sizeof(line) - len, " hca_handle=%u",
						l->hca_handles);
		if (l->has_hca_objects)
			snprintf(line + len, sizeof(line) - len, " hca_object=%u", l->hca_objects);
		int r = cg_put(fd, "rdma.max", line, field, err);
		if (r < 0)
			return r;
	}
	return 0;
}
