/* Creating a container's cgroup in every hierarchy, moving processes in, removing it again. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

#define NOTHING_CREATED SIZE_MAX

static const char *hier_name(const struct cg_hier *h)
{
	return h->dir ? h->dir : "unified";
}

/* A new v1 cpuset cgroup starts with empty cpuset.cpus/mems and refuses every process until
 * they are set: inherit the parent's. @level is the new directory, relative to @hfd. */
static int cpuset_copy_down(int hfd, const char *level)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	const char *slash = strrchr(level, '/');
	char parent[PATH_MAX];
	char value[4096];

	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - level) : 1, slash ? level : ".");
	_cleanup_close_ int pfd = openat(hfd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int cfd = openat(hfd, level, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || cfd < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int r = cg_read(cfd, files[i], value, sizeof(value));
		if (r > 0 && strspn(value, " \t\n") < (size_t)r)
			continue; /* already set */
		if (r < 0 && r != -ENOENT)
			return r;
		r = cg_read(pfd, files[i], value, sizeof(value));
		if (r == -ENOENT || r == 0)
			continue; /* nothing to inherit */
		if (r < 0)
			return r;
		/* O_CREAT only matters for a plain directory tree; cgroupfs always has the file. */
		r = cg_write(cfd, files[i], value, true);
		if (r < 0)
			return r;
	}
	return 0;
}

/* rmdir @rel and its parents down to (and including) component index @first. */
static void remove_levels(int hfd, const char *rel, size_t first)
{
	char buf[PATH_MAX];
	size_t depth = 0;

	if (first == NOTHING_CREATED)
		return;
	snprintf(buf, sizeof(buf), "%s", rel);
	for (const char *p = buf; (p = strchr(p, '/')); p++)
		depth++;
	for (;;) {
		unlinkat(hfd, buf, AT_REMOVEDIR);
		char *slash = strrchr(buf, '/');
		if (depth == first || !slash)
			break;
		*slash = '\0';
		depth--;
	}
}

/* mkdir -p of @rel (no leading '/') below @hfd. *ret_first is the index of the first component
 * this call created (NOTHING_CREATED if none); on failure nothing new is left behind. */
static int make_levels(int hfd, const char *rel, bool cpuset, size_t *ret_first)
{
	char buf[PATH_MAX];
	size_t depth = 0, first = NOTHING_CREATED;
	int r = 0;

	if (snprintf(buf, sizeof(buf), "%s", rel) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf;; depth++) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (mkdirat(hfd, buf, 0755) == 0) {
			if (first == NOTHING_CREATED)
				first = depth;
			if (cpuset)
				r = cpuset_copy_down(hfd, buf);
		} else if (errno != EEXIST) {
			r = -errno;
		} else if (cpuset) {
			/* An existing level another tool made and left empty would refuse every
			 * process below it: fill it in too (a no-op when it is set). */
			r = cpuset_copy_down(hfd, buf);
		}
		if (slash)
			*slash = '/';
		if (r < 0 || !slash)
			break;
		p = slash + 1;
	}
	if (r < 0) {
		remove_levels(hfd, buf, first);
		return r;
	}
	*ret_first = first;
	return 0;
}

static int create_in(const struct cgroup *cg, const struct cg_hier *h, size_t *ret_first,
		     struct berth_error *err)
{
	if (!h->path || h->path[0] != '/')
		return berth_error_set(err, -EINVAL,
				       "cgroup path is not resolved (call cgroup_resolve first)");
	_cleanup_close_ int hfd = cg_open_hier(cg, h);
	if (hfd < 0)
		return berth_error_setf_errno(err, hfd, "open cgroup hierarchy '%s'", hier_name(h));
	bool cpuset = !h->unified && cg_controllers_overlap(h->dir, "cpuset");
	int r = make_levels(hfd, h->path + 1, cpuset, ret_first);
	if (r < 0)
		return berth_error_setf_errno(err, r, "create cgroup '%s' in hierarchy '%s'", h->path,
					      hier_name(h));
	return 0;
}

static void undo_create(const struct cgroup *cg, const struct cg_hier *h, size_t first)
{
	_cleanup_close_ int hfd = cg_open_hier(cg, h);
	if (hfd >= 0)
		remove_levels(hfd, h->path + 1, first);
}

int cgroup_create(struct cgroup *cg, bool *ret_created, struct berth_error *err)
{
	struct cg_hier h[CG_HIER_MAX];
	size_t first[CG_HIER_MAX];
	size_t n = cg_hierarchies(cg, h);
	bool all_new = n > 0;

	for (size_t i = 0; i < n; i++) {
		int r = create_in(cg, &h[i], &first[i], err);
		if (r < 0) {
			while (i-- > 0)
				undo_create(cg, &h[i], first[i]);
			return r;
		}
		all_new = all_new && first[i] != NOTHING_CREATED;
	}
	/* "Created" only when the leaf was new everywhere: a pre-existing leaf in any hierarchy
	 * means the cgroup is shared (or someone else's) and must not be destroyed by us. */
	if (ret_created)
		*ret_created = all_new;
	return 0;
}

int cgroup_open_unified(const struct cgroup *cg, struct berth_error *err)
{
	struct cg_hier h;

	if (!cg_find_unified(cg, &h))
		return berth_error_set(err, -ENOENT, "no cgroup2 hierarchy to place cgroup '%s' in",
				       cg->path);
	int fd = cg_open(cg, &h);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "open cgroup '%s' in hierarchy '%s'", h.path,
					      hier_name(&h));
	return fd;
}

int cgroup_enter(const struct cgroup *cg, pid_t pid, unsigned int skip, struct berth_error *err)
{
	struct cg_hier h[CG_HIER_MAX];
	size_t n = cg_hierarchies(cg, h);
	char value[32];

	snprintf(value, sizeof(value), "%d", (int)pid);
	for (size_t i = 0; i < n; i++) {
		if (h[i].unified ? (skip & CGROUP_SKIP_UNIFIED) : (skip & CGROUP_SKIP_V1))
			continue;
		_cleanup_close_ int fd = cg_open(cg, &h[i]);
		int r = fd < 0 ? fd : cg_write(fd, "cgroup.procs", value, false);
		if (r < 0)
			return berth_error_setf_errno(err, r,
						      "move process %d into cgroup '%s' in hierarchy '%s'",
						      (int)pid, h[i].path, hier_name(&h[i]));
	}
	return 0;
}

/* ---- a single-threaded child moving itself ---- */

void cgroup_movers_close(struct cgroup_movers *m)
{
	for (size_t i = 0; i < m->n; i++)
		closep(&m->fd[i]);
	m->n = 0;
}

int cgroup_movers_open(const struct cgroup *cg, struct cgroup_movers *m, struct berth_error *err)
{
	struct cg_hier h[CG_HIER_MAX];
	size_t n = cg_hierarchies(cg, h);

	m->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (h[i].unified)
			continue;
		_cleanup_close_ int dfd = cg_open(cg, &h[i]);
		int fd = dfd < 0 ? dfd : openat(dfd, "tasks", O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			int r = dfd < 0 ? dfd : -errno;
			cgroup_movers_close(m);
			return berth_error_setf_errno(err, r, "open cgroup '%s' in hierarchy '%s'", h[i].path,
						      hier_name(&h[i]));
		}
		m->hier[m->n] = i;
		m->fd[m->n++] = fd;
	}
	return 0;
}

int cgroup_movers_enter_self(const struct cgroup *cg, const struct cgroup_movers *m, struct berth_error *err)
{
	struct cg_hier h[CG_HIER_MAX];
	(void)cg_hierarchies(cg, h);
	for (size_t i = 0; i < m->n; i++) {
		/* "0" in tasks: the calling thread, which is the whole (single-threaded) process. */
		if (write(m->fd[i], "0", 1) < 0)
			return berth_error_setf_errno(err, -errno, "move into cgroup '%s' in hierarchy '%s'",
						      h[m->hier[i]].path, hier_name(&h[m->hier[i]]));
	}
	return 0;
}
