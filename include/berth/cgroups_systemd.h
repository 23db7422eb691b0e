/* cgroups, systemd driver (--systemd-cgroup): the container's cgroup is a transient scope unit
 * that systemd creates and delegates to berth over its D-Bus API. The path and property helpers
 * are pure (unit-tested); the D-Bus calls load libsystemd with dlopen() on first use, so a
 * container without --systemd-cgroup never maps the library nor connects to a bus. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berth_error;
struct oci_resources;
struct oci_device_cgroup;

#define CGROUP_SYSTEMD_NAME_MAX 256
#define CGROUP_SYSTEMD_PATH_MAX 4096

/* Where a container lives under systemd: @slice ("kubepods-besteffort.slice", "-.slice" for the
 * root), @unit ("cri-containerd-abc.scope") and @path, the scope's cgroup below the cgroup2 root
 * ("/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope"). */
struct cgroup_systemd_unit {
	char slice[CGROUP_SYSTEMD_NAME_MAX];
	char unit[CGROUP_SYSTEMD_NAME_MAX];
	char path[CGROUP_SYSTEMD_PATH_MAX];
};

/* Parse linux.cgroupsPath in runc's systemd form "slice:prefix:name": empty slice means
 * "system.slice", "-" or "-.slice" the root slice; the unit is "prefix-name.scope" ("name.scope"
 * with an empty prefix). NULL or "" means "system.slice:berth:<id>". A name ending in ".slice"
 * (a slice as the container's own cgroup) is refused. Errors: -EINVAL naming linux.cgroupsPath. */
int cgroup_systemd_parse(const char *cgroups_path, const char *id, struct cgroup_systemd_unit *ret,
			 struct berth_error *err);

/* systemd's slice naming rule: "a-b-c.slice" lives under "a-b.slice" under "a.slice", so its
 * cgroup is "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" is the root ("" written). -EINVAL for a
 * name without ".slice", with "/", an empty component ("a--b.slice", "-a.slice", "a-.slice");
 * -ENAMETOOLONG when @size is too small. */
int cgroup_systemd_expand_slice(const char *slice, char *buf, size_t size);

/* The unit name a record's cgroup path stands for: its last component ("x.scope"). NULL when
 * the path has none. Borrowed from @path. */
const char *cgroup_systemd_unit_of_path(const char *path);

/* A unit property berth sets from linux.resources. */
enum cgroup_systemd_prop_type {
	CGSD_U64,          /* "t" */
	CGSD_BITS,         /* "ay": a CPU or NUMA node mask */
	CGSD_STR,          /* "s": @str */
	CGSD_DEVICE_ALLOW, /* "a(ss)" of one entry (@str, @access), or none (a reset) when @str is "" */
};

#define CGROUP_SYSTEMD_BITS_MAX 128 /* 1024 CPUs / nodes */

struct cgroup_systemd_prop {
	char name[32];
	enum cgroup_systemd_prop_type type;
	uint64_t u64; /* UINT64_MAX is systemd's "infinity" */
	unsigned char bits[CGROUP_SYSTEMD_BITS_MAX];
	size_t n_bits; /* bytes used in @bits */
	char str[56];
	char access[4];
};

#define CGROUP_SYSTEMD_PROPS_MAX 64
/* At most this many DeviceAllow entries; a longer list is left to berth's eBPF program alone. */
#define CGROUP_SYSTEMD_DEVICES_MAX 48

/* The unit properties systemd has for @res (NULL: none): MemoryMax, MemoryLow, MemorySwapMax,
 * CPUWeight (from shares, as runc converts them), CPUQuotaPerSecUSec (quota / period, rounded up
 * to systemd's 10 ms granularity) and CPUQuotaPeriodUSec, TasksMax, AllowedCPUs,
 * AllowedMemoryNodes, IOWeight (from blkio weight). Fields without a property stay for the
 * cgroupfs writer. Errors: -EINVAL naming the field (a malformed cpuset list, a negative limit). */
int cgroup_systemd_properties(const struct oci_resources *res, struct cgroup_systemd_prop *props, size_t max,
			      size_t *ret_n, struct berth_error *err);

/* The device rules (berth's semantics: in order, the last match wins, no match is denied) as
 * systemd's DevicePolicy=strict plus DeviceAllow entries ("/dev/char/1:3", "char-pts" for a major
 * named in @proc_devices, the text of /proc/devices; "char-*" for any major), appended at
 * @props[*n]; the list is reset first, so an update replaces it. Nothing is appended (and 0
 * returned) when systemd cannot say the same thing: access to everything but some devices, a
 * deny that cuts into an earlier wildcard allow, an unnamed major, more than
 * CGROUP_SYSTEMD_DEVICES_MAX entries. berth's own eBPF program enforces the rules either way;
 * systemd's program then adds no restriction of its own. */
int cgroup_systemd_device_props(const struct oci_device_cgroup *rules, size_t n_rules,
				const char *proc_devices, struct cgroup_systemd_prop *props, size_t max,
				size_t *n);

/* systemd's CPUQuotaPerSecUSec for a CFS quota and period (microseconds): quota * 1s / period,
 * rounded up to a multiple of 10000; UINT64_MAX (no limit) for quota <= 0. */
uint64_t cgroup_systemd_quota_per_sec(int64_t quota, uint64_t period);

/* A cpuset list ("0-3,8") as the byte mask systemd's AllowedCPUs takes (bit n of byte n/8).
 * -EINVAL for a malformed list, -ERANGE for a CPU past CGROUP_SYSTEMD_BITS_MAX * 8. */
int cgroup_systemd_cpuset_mask(const char *list, unsigned char *bits, size_t *ret_n);

/* Is systemd running as PID 1 here (/run/systemd/system exists)? */
bool cgroup_systemd_booted(void);

/* One property as one word for berth-ext's command line ("MemoryMax=t:1048576",
 * "AllowedCPUs=ay:0f", "DevicePolicy=s:strict", "DeviceAllow=a(ss):rwm:/dev/char/1:3"), and back. -EINVAL for
 * a malformed word, -ENAMETOOLONG for a short @buf. */
int cgroup_systemd_prop_format(const struct cgroup_systemd_prop *p, char *buf, size_t size);
int cgroup_systemd_prop_parse(const char *word, struct cgroup_systemd_prop *ret);

/* Create the transient scope @u->unit in @u->slice holding @pid (Delegate=yes, the slices made
 * by systemd when missing), with @props (cgroup_systemd_properties), and wait for its start job
 * to finish. Errors: -errno with @err naming linux.cgroupsPath, the unit and systemd's reason
 * ("Unit x already exists"). */
int cgroup_systemd_start(const struct cgroup_systemd_unit *u, pid_t pid,
			 const struct cgroup_systemd_prop *props, size_t n, struct berth_error *err);

/* Change the running unit's properties (SetUnitProperties, runtime only). */
int cgroup_systemd_update(const char *unit, const struct cgroup_systemd_prop *props, size_t n,
			  struct berth_error *err);

/* Stop @unit and wait for the job; forget a failed state (ResetFailedUnit). A unit that is not
 * loaded is not an error. */
int cgroup_systemd_stop(const char *unit, struct berth_error *err);
