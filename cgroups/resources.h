/* Resource writers and statistics: internals shared by resources*.c, controllers.c, devices_*.c,
 * stats.c and their unit tests only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct berth_error;
struct oci_resources;
struct oci_device_cgroup;

/* The container's directory in the hierarchy that carries one controller. */
struct cg_ctl {
	int fd;  /* O_DIRECTORY descriptor, owned by the caller */
	bool v2; /* the unified hierarchy (cgroup2 file names) */
};

/* Which hierarchy applies a controller: the v1 hierarchy named after @v1_name when one exists,
 * else the unified hierarchy when its leaf lists @v2_name in cgroup.controllers (@v2_name NULL:
 * the controller has no v2 equivalent). Returns 0, -ENOENT when neither has it, or -errno from
 * opening the directory. */
int cg_ctl_open(const struct cgroup *cg, const char *v1_name, const char *v2_name, struct cg_ctl *ret);

/* The v2 controllers @res needs that no v1 hierarchy provides, into @out (at most @max). */
size_t cg_needed_v2_controllers(const struct cgroup *cg, const struct oci_resources *res, const char **out,
				size_t max);

/* The error for a field whose controller is missing, naming both. */
int cg_ctl_missing(const struct cgroup *cg, const char *field, const char *controller, int code,
		   struct berth_error *err);

/* Write @value to @file in @fd; on failure "<field>: write <file>: <strerror>". */
int cg_put(int fd, const char *file, const char *value, const char *field, struct berth_error *err);
int cg_putf(int fd, const char *file, const char *field, struct berth_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A regular file @name exists in @fd. */
/* Read a decimal or "max" (UINT64_MAX) value. -EBADMSG when the file holds something else. */
int cg_read_u64(int fd, const char *name, uint64_t *ret);

/* Per-controller writers: @fd is the container's directory in the controller's hierarchy;
 * @is_update only matters for memory (checkBeforeUpdate). */
typedef int cg_writer_fn(int fd, const struct oci_resources *res, bool is_update, struct berth_error *err);

cg_writer_fn cg_v2_memory, cg_v2_cpu, cg_v2_io, cg_v2_hugetlb;
cg_writer_fn cg_v1_memory, cg_v1_cpu, cg_v1_blkio, cg_v1_hugetlb, cg_v1_net_cls, cg_v1_net_prio;
/* Same file names and formats in both versions. */
cg_writer_fn cg_cpuset, cg_pids, cg_rdma;

int cg_v1_devices(int fd, const struct oci_device_cgroup *rules, size_t n, struct berth_error *err);

/* One write to devices.allow or devices.deny. */
struct cg_dev_line {
	bool allow;
	size_t rule;   /* index into the rules; SIZE_MAX for the leading reset */
	char line[64]; /* "a", or "c 1:3 rwm" with '*' for a wildcard */
};

/* The v1 writes for @rules, in order: "a" to devices.deny first unless the list starts with a
 * whole-wildcard rule (an allowlist: what no rule allows is denied), a type-'a' rule that
 * names a major, a minor or part of "rwm" as a 'c' and a 'b' line (the kernel's "a" would reset
 * everything). @out needs room for 2 * @n + 1 lines. */
int cg_v1_device_lines(const struct oci_device_cgroup *rules, size_t n, struct cg_dev_line *out,
		       size_t *ret_n, struct berth_error *err);

/* Validate one device rule (major/minor within u32) naming linux.resources.devices[@i]. */
int cg_device_rule_check(const struct oci_device_cgroup *rule, size_t i, struct berth_error *err);
/* A rule's access as BPF_DEVCG_ACC_* bits (NULL or "" = all three). */
unsigned cg_device_access_bits(const char *access);

/* The io.max lines for the four throttle lists, merged per device in order of first appearance
 * ("8:0 rbps=1048576 wiops=max"; a rate of 0 removes the limit, i.e. "max"). @fn is called per
 * line; a negative return stops the walk and is returned. -EINVAL with @err naming the entry for
 * a negative or oversized major/minor. */
int cg_io_max_foreach(const struct oci_resources *res, int (*fn)(const char *line, void *ctx), void *ctx,
		      struct berth_error *err);

/* A sequence of writes whose order the kernel cares about (cpu period/quota/burst, realtime):
 * write each; one refused with EINVAL is retried once after the others, since the kernel checks
 * a value against the current value of its siblings. */
struct cg_val {
	const char *file, *field;
	char value[64];
	bool set;
};
int cg_put_ordered(int fd, struct cg_val *vals, size_t n, struct berth_error *err);

/* Statistics parsers, exposed for fixture tests: each reads the files of one controller in the
 * directory @fd, sets the matching has_* when its main file exists, and fails with -EBADMSG and
 * @err naming the file that exists but cannot be parsed. */
int cg_stats_v2_memory(int fd, struct cgroup_stats *st, struct berth_error *err);
int cg_stats_v1_memory(int fd, struct cgroup_stats *st, struct berth_error *err);
int cg_stats_v2_cpu(int fd, struct cgroup_stats *st, struct berth_error *err);
int cg_stats_v1_cpu(int cpu_fd, int cpuacct_fd, struct cgroup_stats *st, struct berth_error *err);
int cg_stats_v2_io(int fd, struct cgroup_stats *st, struct berth_error *err);
int cg_stats_v1_blkio(int fd, struct cgroup_stats *st, struct berth_error *err);
int cg_stats_pids(int fd, struct cgroup_stats *st, struct berth_error *err);
int cg_stats_hugetlb(int fd, bool v2, struct cgroup_stats *st, struct berth_error *err);

/* Our device programs attached to @cgroup_fd: their ids in @ids (up to @max), count in *ret_n. */
int cg_bpf_list_ours(int cgroup_fd, uint32_t *ids, size_t max, size_t *ret_n);
