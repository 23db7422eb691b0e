/* cgroups: placing a container in its cgroup and removing it again.
 * Works on a pure v2 host (cgroup2 at the root) and on hybrid hosts (v1 hierarchies own the
 * controllers, cgroup2 at <root>/unified tracks processes). The cgroupfs root is injectable as
 * a directory descriptor so tests can point the module at a temporary tree.
 * This module never includes runtime headers: it takes plain values and descriptors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
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

/* Create the cgroup directory in every hierarchy (mkdir -p). v1 cpuset: cpuset.cpus and
 * cpuset.mems are copied down from the parent so processes can join. Sets *ret_created when
 * berth made the leaf itself (false when it already existed, e.g. a shared cgroupsPath).
 * On failure nothing created by this call is left behind. */
int cgroup_create(struct cgroup *cg, bool *ret_created, struct berth_error *err);

/* An O_DIRECTORY|O_CLOEXEC descriptor of the container's cgroup2 directory, for
 * clone3(CLONE_INTO_CGROUP). -ENOENT when there is no unified hierarchy. */
int cgroup_open_unified(const struct cgroup *cg, struct berth_error *err);

/* Move @pid into the cgroup in every hierarchy (skips the unified one when @skip_unified,
 * i.e. when CLONE_INTO_CGROUP already placed it). */
int cgroup_enter(const struct cgroup *cg, pid_t pid, bool skip_unified, struct berth_error *err);

/* Pids in the cgroup (unified cgroup.procs, else the first v1 hierarchy). *ret_pids malloc'd. */
int cgroup_pids(const struct cgroup *cg, pid_t **ret_pids, size_t *ret_n, struct berth_error *err);

/* true when frozen (cgroup.freeze / v1 freezer.state FROZEN). */
int cgroup_is_frozen(const struct cgroup *cg, bool *ret_frozen);

/* Freeze or thaw, waiting (bounded) for the kernel to report the new state. */
int cgroup_freeze(const struct cgroup *cg, bool freeze, struct berth_error *err);

/* Send @sig to every process in the cgroup (cgroup.kill for SIGKILL where available). */
int cgroup_signal_all(const struct cgroup *cg, int sig, struct berth_error *err);

/* Remove the cgroup directory from every hierarchy. Lingering processes are killed and
 * waited for; EBUSY is retried with a bounded back-off. A missing directory is not an error. */
int cgroup_destroy(const struct cgroup *cg, struct berth_error *err);
