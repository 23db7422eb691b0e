/* cgroups: placing a container in its cgroup and removing it again.
 * Works on a pure v2 host (cgroup2 at the root) and on hybrid hosts (v1 hierarchies own the
 * controllers, cgroup2 at <root>/unified tracks processes). The cgroupfs root is injectable as
 * a directory descriptor so tests can point the module at a temporary tree.
 * This module never includes runtime headers: it takes plain values and descriptors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berth_error;

enum cgroup_layout {
	CGROUP_LAYOUT_UNIFIED = 0, /* cgroup2 mounted at the root */
	CGROUP_LAYOUT_HYBRID,      /* v1 controllers + cgroup2 at "unified" */
	CGROUP_LAYOUT_LEGACY,      /* v1 only */
};

#define CGROUP_V1_MAX 12

/* A container's cgroup, across every hierarchy it lives in. */
struct cgroup {
	int root_fd; /* the cgroupfs root (/sys/fs/cgroup); borrowed, not closed by cgroup_* */
	enum cgroup_layout layout;
	char *path; /* absolute within each hierarchy, e.g. "/berth-test/c1" (no trailing '/') */
	/* v1 hierarchies in use on hybrid/legacy hosts: directory names below the root
	 * ("memory", "cpu", ...); n_v1 == 0 on a unified host */
	char *v1[CGROUP_V1_MAX];
	size_t n_v1;
	bool has_unified; /* a cgroup2 tree exists (root itself, or "unified") */
	/* Per v1 hierarchy: the path there when it differs from @path (a relative cgroupsPath on a
	 * host where the caller sits in different cgroups per hierarchy); NULL means @path. */
	char *v1_path[CGROUP_V1_MAX];
	/* Enable in cgroup.subtree_control only the controllers the config's limits need, not every
	 * one the root offers (rootless: the levels above the delegated subtree are not ours). */
	bool only_needed;
};

/* Inspect the mounts below @root_fd and fill @cg->layout, @cg->v1, @cg->has_unified.
 * @cg->path is resolved from @cgroups_path:
 *   absolute ("/a/b")  -> used as is;
 *   relative ("a/b")   -> below the caller's own cgroup (from /proc/self/cgroup, unified entry);
 *   NULL or ""         -> "/berth/<id>".
 * "..", empty components and paths over PATH_MAX are refused with -EINVAL naming linux.cgroupsPath.
 * @cg must be zeroed; release with cgroup_free(). */
int cgroup_resolve(int root_fd, const char *cgroups_path, const char *id, struct cgroup *cg,
		   struct berth_error *err);

void cgroup_free(struct cgroup *cg);

/* Remember the hierarchy layout found below a cgroupfs root for the rest of this process, so
 * that commands resolving several cgroups (exec: the freezer, then the placement) scan the
 * mounts once. For short-lived commands only: mounts made afterwards are not seen. Off unless
 * enabled (tests change their trees between calls). */
void cgroup_layout_cache(bool enable);

/* Create the cgroup directory in every hierarchy (mkdir -p). v1 cpuset: cpuset.cpus and
 * cpuset.mems are copied down from the parent so processes can join. Sets *ret_created when
 * berth made the leaf itself (false when it already existed, e.g. a shared cgroupsPath).
 * On failure nothing created by this call is left behind. */
int cgroup_create(struct cgroup *cg, bool *ret_created, struct berth_error *err);

/* exec --cgroup: narrow @cg to its existing sub-cgroup @sub (relative to the container's cgroup,
 * no "." or ".." components) in the v1 hierarchy carrying @controller, or in every hierarchy when
 * @controller is NULL (runc 1.1's "[controller:]path"). A controller on a pure v2 host is refused.
 * Errors: -EINVAL / -ENOENT with @err starting "--cgroup:"; @cg may be partly changed then. */
int cgroup_descend(struct cgroup *cg, const char *controller, const char *sub, struct berth_error *err);

/* Take the host-wide lock (per cgroupfs root) that create and delete hold while they decide who
 * uses a cgroup, waiting at most @limit_ms. *ret_fd holds it; close it to release.
 * Errors: -ETIMEDOUT (@err names the lock), -errno. */
int cgroup_lock(const struct cgroup *cg, unsigned int limit_ms, int *ret_fd, struct berth_error *err);

/* An O_DIRECTORY|O_CLOEXEC descriptor of the container's cgroup2 directory, for
 * clone3(CLONE_INTO_CGROUP). -ENOENT when there is no unified hierarchy. */
int cgroup_open_unified(const struct cgroup *cg, struct berth_error *err);

/* For a container's view of its own cgroups (a config "cgroup" mount): hierarchy @index (0, 1, ...
 * as cgroup_enter uses them: the unified tree first when there is one, then each v1 hierarchy).
 * *ret_name is its directory below the cgroupfs root ("memory", "cpu,cpuacct", "unified"; NULL for
 * a cgroup2 root), borrowed from @cg; *ret_fd an O_PATH descriptor of the container's own cgroup
 * directory there (the caller closes it). -ERANGE past the last hierarchy, -errno when the
 * directory cannot be opened. */
int cgroup_open_view(const struct cgroup *cg, size_t index, const char **ret_name, bool *ret_unified,
		     int *ret_fd);

/* Move @pid into the cgroup in every hierarchy but those @skip names (CGROUP_SKIP_UNIFIED when
 * CLONE_INTO_CGROUP already placed it, CGROUP_SKIP_V1 when it moves itself: cgroup_movers_*). */
#define CGROUP_SKIP_UNIFIED 1u
#define CGROUP_SKIP_V1 2u
int cgroup_enter(const struct cgroup *cg, pid_t pid, unsigned int skip, struct berth_error *err);

/* A child moving itself into the v1 hierarchies. Writing another process's pid into a v1
 * cgroup.procs takes the kernel's global threadgroup lock, whose RCU grace period costs 5-15 ms
 * whenever no other move happened just before; a single-threaded process writing "0" into
 * "tasks" moves itself without that lock (0.06 ms here). The parent opens the files before
 * clone (cgroup_movers_open); the child, still single-threaded, calls cgroup_movers_enter_self. */
struct cgroup_movers {
	int fd[CGROUP_V1_MAX];
	size_t hier[CGROUP_V1_MAX]; /* index into cg_hierarchies(), for messages */
	size_t n;
};
int cgroup_movers_open(const struct cgroup *cg, struct cgroup_movers *m, struct berth_error *err);
int cgroup_movers_enter_self(const struct cgroup *cg, const struct cgroup_movers *m, struct berth_error *err);
void cgroup_movers_close(struct cgroup_movers *m);

/* Pids in the cgroup (unified cgroup.procs, else the first v1 hierarchy). *ret_pids malloc'd. */
int cgroup_pids(const struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct berth_error *err);

/* true when frozen (cgroup.freeze / v1 freezer.state FROZEN). */
int cgroup_is_frozen(const struct cgroup *cg, bool *ret_frozen);

/* The directory whose freezer holds the cgroup frozen (its own cgroup.freeze set, else its v1
 * freezer FROZEN), relative to the cgroupfs root ("unified/berth-test/c1"); -ENOENT when it is
 * not frozen by itself. */
int cgroup_frozen_dir(const struct cgroup *cg, char *buf, size_t size);

/* Freeze or thaw, waiting (bounded) for the kernel to report the new state. */
int cgroup_freeze(const struct cgroup *cg, bool freeze, struct berth_error *err);

/* Send @sig to every process in the cgroup (cgroup.kill for SIGKILL where available). */
int cgroup_signal_all(const struct cgroup *cg, int sig, struct berth_error *err);

/* Remove the cgroup directory from every hierarchy. Lingering processes are killed and
 * waited for; EBUSY is retried with a bounded back-off. A missing directory is not an error. */
int cgroup_destroy(const struct cgroup *cg, struct berth_error *err);

/* ---- resource limits (linux.resources) ---- */

struct oci_resources;
struct oci_device_cgroup;
struct bpf_insn;

/* Make the cgroup2 controllers that @res needs usable in the container's cgroup: write
 * "+<controller>" to cgroup.subtree_control of the hierarchy root and of every ancestor on the
 * way down (never of the leaf itself). On a pure v2 host every controller the root offers among
 * cpu cpuset io memory hugetlb pids rdma misc is enabled (as runc does, so statistics and later
 * updates work); on a hybrid host only those @res needs and no v1 hierarchy provides. Levels that
 * already have a controller are not written. @res may be NULL. A controller the root does not
 * offer is skipped here and reported by cgroup_apply_resources() naming the field.
 * Errors: -errno with @err naming the cgroup.subtree_control that could not be written. */
int cgroup_enable_controllers(const struct cgroup *cg, const struct oci_resources *res,
			      struct berth_error *err);

/* Write every field of @res that is set into the container's cgroup files, through descriptors
 * below cg->root_fd (nothing outside the cgroup directories is written). Each controller is
 * applied in its v1 hierarchy when one exists, else in the unified hierarchy when the controller
 * is enabled there. Device rules go to the v1 devices hierarchy when there is one, else into an
 * eBPF program on the unified directory (cgroup_devices_bpf_apply). Rules are an allowlist
 * evaluated like runc: the last rule that matches a device and access wins, and what no rule
 * matches is denied; an empty list leaves device access unchanged.
 * @is_update: apply memory.checkBeforeUpdate (refuse a limit below the current usage).
 * Fields runc treats as "unset" when 0 (memory limit/swap, cpu shares/quota/period, blockIO
 * weight) are not written when 0. Errors: -errno with @err starting with the field
 * ("linux.resources.memory.limit: write memory.max: Invalid argument"); fields written before
 * the failure stay written. */
int cgroup_apply_resources(const struct cgroup *cg, const struct oci_resources *res, bool is_update,
			   struct berth_error *err);

/* runc's conversions, exposed for tests and for callers that report effective values.
 * cpu.shares (2..262144) -> cpu.weight (1..10000); 0 for shares 0 (unset). */
uint64_t cgroup_cpu_shares_to_weight(uint64_t shares);
/* blkio weight (10..1000) -> io.weight (1..10000); 0 for weight 0 (unset). */
uint64_t cgroup_blkio_weight_to_io_weight(uint64_t weight);
/* memory+swap (v1 semantics, OCI memory.swap; 0 = unset) -> memory.swap.max. Returns 1 with
 * *ret_swap to write (-1 for "max", else the swap-only amount; 0 when swap equals the limit, i.e.
 * no swap), 0 when memory.swap.max is to be left alone. -EINVAL with @err naming
 * linux.resources.memory.swap when swap < limit or swap is set without a limit. */
int cgroup_memory_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret_swap, struct berth_error *err);

/* ---- cgroup v2 device control: an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program ---- */

/* Name the programs berth attaches carry (bpf_prog_info.name), to find and replace only ours. */
#define CGROUP_DEVICES_BPF_NAME "berth_devices"
/* At most this many device rules (a bound on program size). */
#define CGROUP_DEVICES_BPF_MAX_RULES 4096

/* Translate @rules into a program: evaluated from the last rule back to the first, the first
 * (i.e. last listed) rule that matches the device decides each requested access bit; bits no
 * rule matches are denied. *ret_insns is malloc'd (free()), *ret_n instructions.
 * Errors: -EINVAL naming linux.resources.devices[i] (major/minor over 2^32-1), -E2BIG for more
 * than CGROUP_DEVICES_BPF_MAX_RULES rules, -ENOMEM. */
int cgroup_devices_bpf_build(const struct oci_device_cgroup *rules, size_t n, struct bpf_insn **ret_insns,
			     size_t *ret_n, struct berth_error *err);

/* Build and load the program for @rules, attach it to the cgroup2 directory @cgroup_fd with
 * BPF_CGROUP_DEVICE and BPF_F_ALLOW_MULTI, then detach the programs named
 * CGROUP_DEVICES_BPF_NAME that were attached there before (so an update replaces ours and never
 * touches programs others attached). Needs CAP_SYS_ADMIN (or CAP_BPF + CAP_NET_ADMIN).
 * Errors: -errno with @err naming the bpf(2) step (the verifier's last line for a rejected load). */
int cgroup_devices_bpf_apply(int cgroup_fd, const struct oci_device_cgroup *rules, size_t n,
			     struct berth_error *err);

/* Count berth's device programs attached directly to @cgroup_fd (0 when none). */
int cgroup_devices_bpf_count(int cgroup_fd, size_t *ret_n, struct berth_error *err);

/* Detach berth's device programs from @cgroup_fd (device access is then unrestricted by us). */
int cgroup_devices_bpf_detach(int cgroup_fd, struct berth_error *err);

/* ---- statistics ---- */

#define CGROUP_STATS_MAX_DEVICES 32
#define CGROUP_STATS_MAX_HUGEPAGES 8
#define CGROUP_STATS_MAX_RAW 96

/* A usage counter as runc reports it. limit is UINT64_MAX for "max" on v2, the kernel's value
 * (e.g. 9223372036854771712) on v1. */
struct cgroup_usage {
	uint64_t usage, max_usage, limit, failcnt;
};

struct cgroup_stat_kv {
	char key[48];
	uint64_t value;
};

struct cgroup_io_device {
	uint32_t major, minor;
	uint64_t read_bytes, write_bytes, read_ios, write_ios;
};

struct cgroup_hugetlb_stat {
	char page_size[16]; /* "2MB" */
	struct cgroup_usage usage;
};

/* Statistics of a container's cgroup, from whichever hierarchy has each controller.
 * has_* tells which parts could be read; everything else is 0. */
struct cgroup_stats {
	bool has_memory, has_cpu, has_pids, has_io, has_hugetlb;
	struct {
		struct cgroup_usage usage; /* memory.current / usage_in_bytes */
		/* memory+swap, as runc reports it on both versions: v1 memsw.*, v2 memory.* plus
		 * memory.swap.* (limit UINT64_MAX when either is "max") */
		struct cgroup_usage swap;
		uint64_t swap_only;         /* swap alone: v2 memory.swap.current, v1 memsw - usage */
		struct cgroup_usage kernel; /* v1 memory.kmem.* only */
		uint64_t cache, rss;        /* memory.stat: v2 file/anon, v1 cache/rss */
		uint64_t oom, oom_kill;     /* v2 memory.events oom/oom_kill; v1 oom_control oom_kill */
		bool under_oom;             /* v1 oom_control */
		/* memory.stat verbatim (the first CGROUP_STATS_MAX_RAW keys) */
		struct cgroup_stat_kv raw[CGROUP_STATS_MAX_RAW];
		size_t n_raw;
	} memory;
	struct {
		uint64_t usage_total, usage_user, usage_system;    /* nanoseconds */
		uint64_t nr_periods, nr_throttled, throttled_time; /* throttled_time in ns */
	} cpu;
	struct {
		uint64_t current, limit; /* limit 0 = no limit ("max") */
	} pids;
	struct {
		struct cgroup_io_device dev[CGROUP_STATS_MAX_DEVICES];
		size_t n;
	} io;
	struct {
		struct cgroup_hugetlb_stat page[CGROUP_STATS_MAX_HUGEPAGES];
		size_t n;
	} hugetlb;
};

/* Read the statistics of the container's cgroup into *@ret (zeroed first). A controller whose
 * files are missing leaves its has_* false; a file that exists but cannot be parsed is an error.
 * Errors: -errno / -EBADMSG with @err naming the file. */
int cgroup_stats_read(const struct cgroup *cg, struct cgroup_stats *ret, struct berth_error *err);

/* How many times the OOM killer killed a process in the cgroup (v2 memory.events oom_kill, v1
 * memory.oom_control oom_kill): a caller polls it and reports an "oom" event when it grows.
 * -ENOENT without a memory controller for the cgroup. */
int cgroup_oom_count(const struct cgroup *cg, uint64_t *ret);

/* ---- rootless: delegated subtrees of a pure cgroup v2 host (delegate.c) ---- */

/* Where a caller with uid @uid, whose own cgroup is @self ("/user.slice/.../app.slice/x.scope",
 * from cgroup_self_v2), may create a container's cgroup below the cgroup2 root @v2_root_fd.
 * @self is delegated when it and its cgroup.procs and cgroup.subtree_control belong to @uid (what
 * systemd's Delegate=yes does). cgroup v2 only enables controllers below a cgroup that has no
 * processes of its own, and @self holds the caller: the answer is the nearest delegated cgroup
 * from @self upwards that holds no process, else @self itself (placement without limits).
 * Returns 1 with the absolute path in @ret, 0 with a reason in @why when @self is not delegated,
 * -errno on failure. */
int cgroup_delegated_parent(int v2_root_fd, const char *self, uid_t uid, char *ret, size_t size, char *why,
			    size_t why_size);

/* 1 when the nearest existing level of the absolute cgroup @path is delegated to @uid (berth can
 * create the rest below it), 0 with a reason in @why when not, -errno on failure. */
int cgroup_path_delegated(int v2_root_fd, const char *path, uid_t uid, char *why, size_t why_size);

/* The caller's own cgroup in the unified hierarchy (the "0::" line of /proc/self/cgroup). */
int cgroup_self_v2(char *ret, size_t size);

/* The config field of the first limit @res sets that needs a cgroup controller
 * ("linux.resources.memory", ... "linux.resources.unified"), NULL when it sets none. Device rules
 * do not count (rootless containers have no device cgroup; their devices are bind mounts). */
const char *cgroup_resources_limit_field(const struct oci_resources *res);
