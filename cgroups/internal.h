/* cgroups module internals: shared by the files of this module and by its unit tests only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "berth/cgroups.h"

struct berth_error;

/* The unified tree plus every v1 hierarchy. */
#define CG_HIER_MAX (CGROUP_V1_MAX + 1)

/* Room for "<hierarchy dir>/<cgroup path>" relative to the cgroupfs root. */
#define CG_RELPATH_MAX (4096 + 256)

/* How long freeze/thaw and destroy wait for the kernel before giving up. */
#define CG_WAIT_MS 2000

/* One hierarchy the container's cgroup lives in. Strings are borrowed from the struct cgroup. */
struct cg_hier {
	const char *dir;  /* below the root: NULL for a cgroup2 root, "unified", or a v1 name */
	const char *path; /* absolute cgroup path within this hierarchy ("/berth-test/c1") */
	bool unified;
};

/* Inspect the files below @root_fd: fill cg->layout, cg->has_unified and cg->v1 / cg->n_v1. */
int cg_detect_layout(int root_fd, struct cgroup *cg, struct berth_error *err);

/* true when the comma-separated controller lists @a and @b ("cpu,cpuacct") share a controller. */
bool cg_controllers_overlap(const char *a, const char *b);

/* Fill @out with the unified hierarchy (when present) first, then every v1 hierarchy.
 * Returns how many were filled. */
size_t cg_hierarchies(const struct cgroup *cg, struct cg_hier out[CG_HIER_MAX]);

/* The unified hierarchy, or the first v1 hierarchy with controller @controller; false if absent. */
bool cg_find_unified(const struct cgroup *cg, struct cg_hier *ret);
bool cg_find_v1(const struct cgroup *cg, const char *controller, struct cg_hier *ret);

/* "<dir>/<path>" relative to the root descriptor ("." + path for a cgroup2 root). */
int cg_relpath(const struct cg_hier *h, char *buf, size_t size);

/* Open the hierarchy's mount directory (dirfd for mkdir) or the container's cgroup directory in it.
 * Returns a descriptor (O_DIRECTORY|O_CLOEXEC) or -errno. */
int cg_open_hier(const struct cgroup *cg, const struct cg_hier *h);
int cg_open(const struct cgroup *cg, const struct cg_hier *h);

/* Read a small cgroupfs file into @buf (NUL-terminated, trailing newlines stripped).
 * cgroupfs files report size 0, so this reads until EOF. Returns the length or -errno. */
int cg_read(int dirfd, const char *name, char *buf, size_t size);
/* Read a file of any size (bounded by 64 MiB) into a malloc'd NUL-terminated buffer. */
int cg_read_alloc(int dirfd, const char *name, char **ret_buf);
/* A regular file @name below @fd (not following symlinks). */
bool cg_has_file(int fd, const char *name);
/* Write @value with a single write(): cgroupfs treats each write as one command, so a short
 * write is an error, not something to continue. @create is for plain directories (tests). */
int cg_write(int dirfd, const char *name, const char *value, bool create);

/* Parse a cgroup.procs listing: one decimal pid per line. Sorted, duplicates removed (v1 may
 * list a pid twice). */
int cg_parse_pids(const char *text, pid_t **ret_pids, size_t *ret_n);

/* Send @sig to every pid listed in cgroup.procs of the cgroup directory @dirfd.
 * Returns how many pids were listed, or -errno. */
int cg_kill_listed(int dirfd, int sig);

/* Thaw the v1 freezer of the cgroup if it is (being) frozen: a process frozen there cannot act
 * on SIGKILL. No-op without a v1 freezer hierarchy. */
int cg_thaw_v1(const struct cgroup *cg);

/* Monotonic milliseconds, and a sleep that doubles @delay_us up to 50 ms. */
uint64_t cg_now_ms(void);
void cg_backoff(unsigned *delay_us);

/* cgroup_resolve() with the caller's /proc/self/cgroup content given as @self_cgroup (may be
 * NULL for absolute and default paths). Exposed for tests. */
int cg_resolve_with(int root_fd, const char *cgroups_path, const char *id, const char *self_cgroup,
		    struct cgroup *cg, struct berth_error *err);
