/* cgroup v1 resource writers (hybrid and legacy hosts): memory, cpu, blkio, net_cls, net_prio.
 * Each controller lives in its own hierarchy; @fd is the container's directory there. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "resources.h"

#define MEMSW "memory.memsw.limit_in_bytes"
#define LIMIT "memory.limit_in_bytes"

/* ---- memory ---- */

static int put_i64(int fd, const char *file, int64_t v, const char *field, struct berth_error *err)
{
	return cg_putf(fd, file, field, err, "%" PRId64, v);
}

/* The kernel refuses any state with memsw < limit, so the order of the two writes depends on
 * where the limits move: raise memsw first when the new memsw is above the current memory
 * limit (or unlimited), else lower the memory limit first. 0 means "not set". */
static int limit_and_swap(int fd, int64_t limit, int64_t swap, struct berth_error *err)
{
	const char *fl = "linux.resources.memory.limit", *fs = "linux.resources.memory.swap";
	uint64_t cur = 0;
	int r = 0;

	if (limit != 0 && swap != 0) {
		r = cg_read_u64(fd, LIMIT, &cur);
		if (r < 0)
			return berth_error_setf_errno(err, r, "%s: read " LIMIT, fl);
		if (swap == -1 || (uint64_t)swap > cur) {
			r = put_i64(fd, MEMSW, swap, fs, err);
			return r < 0 ? r : put_i64(fd, LIMIT, limit, fl, err);
		}
		r = put_i64(fd, LIMIT, limit, fl, err);
		return r < 0 ? r : put_i64(fd, MEMSW, swap, fs, err);
	}
	if (limit != 0)
		r = put_i64(fd, LIMIT, limit, fl, err);
	if (r >= 0 && swap != 0)
		r = put_i64(fd, MEMSW, swap, fs, err);
	return r;
}

/* Validate and settle the limit/swap pair. *swap is adjusted: an unlimited memory limit pulls an
 * unset memsw to unlimited too (else the kernel would refuse the limit); without swap accounting
 * an unlimited memsw is dropped. */
static int memory_values(int fd, const struct oci_resources *res, int64_t *limit, int64_t *swap,
			 struct berth_error *err)
{
	const typeof(res->memory) *m = &res->memory;
	/* Present only with swap accounting (a kernel option). */
	bool memsw = faccessat(fd, MEMSW, F_OK, AT_SYMLINK_NOFOLLOW) == 0;

	*limit = m->has_limit ? m->limit : 0;
	*swap = m->has_swap ? m->swap : 0;
	if (*limit < -1)
		return berth_error_set(
		    err, -EINVAL, "linux.resources.memory.limit: %" PRId64 " is not -1 (unlimited) or a size",
		    *limit);
	if (*swap < -1)
		return berth_error_set(
		    err, -EINVAL, "linux.resources.memory.swap: %" PRId64 " is not -1 (unlimited) or a size",
		    *swap);
	if (*limit > 0 && *swap > 0 && *swap < *limit)
		return berth_error_set(err, -EINVAL,
				       "linux.resources.memory.swap: %" PRId64
				       " is below linux.resources.memory.limit %" PRId64
				       " (swap is the memory+swap limit)",
				       *swap, *limit);
	if (*limit == -1 && *swap == 0 && memsw)
		*swap = -1;
	if (*swap != 0 && !memsw) {
		if (*swap != -1)
			return berth_error_set(
			    err, -EOPNOTSUPP,
			    "linux.resources.memory.swap: swap accounting is not enabled in "
			    "this kernel (no " MEMSW ")");
		*swap = 0;
	}
	return 0;
}

/* memory.kernelTCP: the TCP buffer limit still exists in v1 (memory.kmem.tcp.limit_in_bytes, unlike
 * the general kmem limit that current kernels no longer enforce): written where the kernel has the
 * file, as runc 1.1 does; 0 means unset. */
static int kernel_tcp(int fd, bool set, int64_t value, struct berth_error *err)
{
	static const char file[] = "memory.kmem.tcp.limit_in_bytes";

	if (!set || value == 0)
		return 0;
	if (!cg_has_file(fd, file)) {
		log_warn("linux.resources.memory.kernelTCP: ignored: this kernel has no %s", file);
		return 0;
	}
	return put_i64(fd, file, value, "linux.resources.memory.kernelTCP", err);
}

int cg_v1_memory(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	const typeof(res->memory) *m = &res->memory;
	int64_t limit, swap;
	int r = memory_values(fd, res, &limit, &swap, err);

	if (r < 0)
		return r;
	if (m->has_kernel && m->kernel)
		log_warn("linux.resources.memory.kernel: ignored: kernel memory limits are deprecated and "
			 "not enforced by current kernels");
	r = kernel_tcp(fd, m->has_kernel_tcp, m->kernel_tcp, err);
	if (r < 0)
		return r;
	if (is_update && m->check_before_update && limit > 0) {
		uint64_t usage = 0;
		r = cg_read_u64(fd, "memory.usage_in_bytes", &usage);
		if (r < 0)
			return berth_error_setf_errno(
			    err, r, "linux.resources.memory.checkBeforeUpdate: read memory.usage_in_bytes");
		if ((uint64_t)limit < usage)
			return berth_error_set(err, -EBUSY,
					       "linux.resources.memory.limit: %" PRId64
					       " bytes is below the current usage of %" PRIu64
					       " bytes (checkBeforeUpdate is set)",
					       limit, usage);
	}
	r = limit_and_swap(fd, limit, swap, err);
	if (r >= 0 && m->has_reservation)
		r = put_i64(fd, "memory.soft_limit_in_bytes", m->reservation,
			    "linux.resources.memory.reservation", err);
	if (r >= 0 && m->has_swappiness)
		r = cg_putf(fd, "memory.swappiness", "linux.resources.memory.swappiness", err, "%" PRIu64,
			    m->swappiness);
	if (r >= 0 && m->has_disable_oom_killer)
		r = cg_put(fd, "memory.oom_control", m->disable_oom_killer ? "1" : "0",
			   "linux.resources.memory.disableOOMKiller", err);
	return r;
}

/* ---- cpu ---- */

static void val_u64(struct cg_val *v, uint64_t n)
{
	v->set = true;
	snprintf(v->value, sizeof(v->value), "%" PRIu64, n);
}

static void val_i64(struct cg_val *v, int64_t n)
{
	v->set = true;
	snprintf(v->value, sizeof(v->value), "%" PRId64, n);
}

static int need_file(int fd, const struct cg_val *v, struct berth_error *err)
{
	if (v->set && !cg_has_file(fd, v->file))
		return berth_error_set(err, -EOPNOTSUPP, "%s: this kernel has no %s", v->field, v->file);
	return 0;
}

int cg_v1_cpu(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	const typeof(res->cpu) *c = &res->cpu;
	/* The kernel checks period, quota and burst against each other's current values, and the
	 * realtime runtime against its period: cg_put_ordered retries a refused one after the rest. */
	struct cg_val bw[3] = {
	    {.file = "cpu.cfs_period_us", .field = "linux.resources.cpu.period"},
	    {.file = "cpu.cfs_quota_us", .field = "linux.resources.cpu.quota"},
	    {.file = "cpu.cfs_burst_us", .field = "linux.resources.cpu.burst"},
	};
	struct cg_val rt[2] = {
	    {.file = "cpu.rt_period_us", .field = "linux.resources.cpu.realtimePeriod"},
	    {.file = "cpu.rt_runtime_us", .field = "linux.resources.cpu.realtimeRuntime"},
	};
	int r = 0;

	(void)is_update;
	if (c->has_shares && c->shares)
		r = cg_putf(fd, "cpu.shares", "linux.resources.cpu.shares", err, "%" PRIu64, c->shares);
	if (r < 0)
		return r;
	if (c->has_period && c->period)
		val_u64(&bw[0], c->period);
	if (c->has_quota && c->quota)
		val_i64(&bw[1], c->quota > 0 ? c->quota : -1);
	if (c->has_burst)
		val_u64(&bw[2], c->burst);
	if (c->has_realtime_period && c->realtime_period)
		val_u64(&rt[0], c->realtime_period);
	if (c->has_realtime_runtime && c->realtime_runtime)
		val_i64(&rt[1], c->realtime_runtime);
	r = need_file(fd, &bw[2], err);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(rt); i++)
		r = need_file(fd, &rt[i], err);
	if (r >= 0)
		r = cg_put_ordered(fd, bw, ARRAY_SIZE(bw), err);
	if (r >= 0)
		r = cg_put_ordered(fd, rt, ARRAY_SIZE(rt), err);
	if (r >= 0 && c->has_idle) {
		struct cg_val idle = {.file = "cpu.idle", .field = "linux.resources.cpu.idle", .set = true};
		r = need_file(fd, &idle, err);
		if (r >= 0)
			r = cg_putf(fd, "cpu.idle", idle.field, err, "%" PRId64, c->idle);
	}
	return r;
}

/* ---- blkio ---- */

struct blkio_files {
	const char *weight, *weight_device; /* CFQ or BFQ names; NULL when neither exists */
	bool cfq;
};

static int check_dev(int64_t major, int64_t minor, const char *field, struct berth_error *err)
{
	if (major < 0 || major > UINT32_MAX || minor < 0 || minor > UINT32_MAX)
		return berth_error_set(err, -EINVAL,
				       "%s: device %" PRId64 ":%" PRId64 " is not a valid major:minor", field,
				       major, minor);
	return 0;
}

static int blkio_weight_devices(int fd, const struct oci_resources *res, const struct blkio_files *f,
				struct berth_error *err)
{
	const typeof(res->block_io) *b = &res->block_io;
	char field[96];

	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct oci_weight_device *d = &b->weight_device[i];
		snprintf(field, sizeof(field), "linux.resources.blockIO.weightDevice[%zu]", i);
		int r = check_dev(d->major, d->minor, field, err);
		if (r >= 0 && d->has_weight)
			r = cg_putf(fd, f->weight_device, field, err, "%" PRId64 ":%" PRId64 " %u", d->major,
				    d->minor, (unsigned)d->weight);
		if (r >= 0 && d->has_leaf_weight) {
			if (f->cfq)
				r = cg_putf(fd, "blkio.leaf_weight_device", field, err,
					    "%" PRId64 ":%" PRId64 " %u", d->major, d->minor,
					    (unsigned)d->leaf_weight);
			else
				log_warn("%s.leafWeight: ignored: BFQ has no leaf weight", field);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int blkio_throttle(int fd, const char *file, const char *list, const struct oci_throttle_device *devs,
			  size_t n, struct berth_error *err)
{
	char field[96];

	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "linux.resources.blockIO.%s[%zu]", list, i);
		int r = check_dev(devs[i].major, devs[i].minor, field, err);
		/* A rate of 0 removes the device's limit (v1 semantics). */
		if (r >= 0)
			r = cg_putf(fd, file, field, err, "%" PRId64 ":%" PRId64 " %" PRIu64, devs[i].major,
				    devs[i].minor, devs[i].rate);
		if (r < 0)
			return r;
	}
	return 0;
}

int cg_v1_blkio(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	const typeof(res->block_io) *b = &res->block_io;
	/* CFQ files where the kernel still has them, else BFQ's (CFQ is gone since Linux 5.0). */
	struct blkio_files f = {0};
	int r = 0;

	(void)is_update;
	if (cg_has_file(fd, "blkio.weight"))
		f = (struct blkio_files){"blkio.weight", "blkio.weight_device", true};
	else if (cg_has_file(fd, "blkio.bfq.weight"))
		f = (struct blkio_files){"blkio.bfq.weight", "blkio.bfq.weight_device", false};
	if (!f.weight && ((b->has_weight && b->weight) || b->n_weight_device))
		return berth_error_set(
		    err, -EOPNOTSUPP,
		    "linux.resources.blockIO.weight: neither blkio.weight nor "
		    "blkio.bfq.weight exists (no proportional I/O scheduler for this cgroup)");
	if (b->has_weight && b->weight)
		r = cg_putf(fd, f.weight, "linux.resources.blockIO.weight", err, "%u", (unsigned)b->weight);
	if (r >= 0 && b->has_leaf_weight && b->leaf_weight) {
		if (f.cfq)
			r = cg_putf(fd, "blkio.leaf_weight", "linux.resources.blockIO.leafWeight", err, "%u",
				    (unsigned)b->leaf_weight);
		else
			log_warn("linux.resources.blockIO.leafWeight: ignored: BFQ has no leaf weight");
	}
	if (r >= 0)
		r = blkio_weight_devices(fd, res, &f, err);
	if (r >= 0)
		r = blkio_throttle(fd, "blkio.throttle.read_bps_device", "throttleReadBpsDevice",
				   b->throttle_read_bps, b->n_throttle_read_bps, err);
	if (r >= 0)
		r = blkio_throttle(fd, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice",
				   b->throttle_write_bps, b->n_throttle_write_bps, err);
	if (r >= 0)
		r = blkio_throttle(fd, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice",
				   b->throttle_read_iops, b->n_throttle_read_iops, err);
	if (r >= 0)
		r = blkio_throttle(fd, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice",
				   b->throttle_write_iops, b->n_throttle_write_iops, err);
	return r;
}

/* ---- network ---- */

int cg_v1_net_cls(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	(void)is_update;
	return cg_putf(fd, "net_cls.classid", "linux.resources.network.classID", err, "%u",
		       (unsigned)res->network.class_id);
}

int cg_v1_net_prio(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err)
{
	char field[96];

	(void)is_update;
	for (size_t i = 0; i < res->network.n_priorities; i++) {
		const struct oci_net_priority *p = &res->network.priorities[i];
		const char *name = p->name ? p->name : "";
		snprintf(field, sizeof(field), "linux.resources.network.priorities[%zu]", i);
		/* One "<ifname> <prio>" per write; an interface name never has blanks. */
		if (!*name || strlen(name) >= 16 || name[strcspn(name, " \t\n/")] != '\0')
			return berth_error_set(err, -EINVAL, "%s.name: '%.64s' is not an interface name",
					       field, name);
		int r = cg_putf(fd, "net_prio.ifpriomap", field, err, "%s %u", name, (unsigned)p->priority);
		if (r < 0)
			return r;
	}
	return 0;
}
