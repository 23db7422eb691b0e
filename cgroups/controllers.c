/* cgroup_enable_controllers(): on cgroup2 a controller's files appear in a cgroup only when its
 * parent lists the controller in cgroup.subtree_control, so every level from the hierarchy
 * root down to the container's parent has to enable it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "resources.h"

#define WANT_MAX 16

/* The cgroup2 controllers berth knows how to use or report. */
static const char *const known[] = {"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"};

static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		p += strspn(p, " \t\n");
		size_t n = strcspn(p, " \t\n");
		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
	}
	return false;
}

static void add_want(const char **want, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(want[i], name) == 0)
			return;
	if (*n < WANT_MAX)
		want[(*n)++] = name;
}

/* The known controller a unified key belongs to ("memory.high" -> "memory"), or NULL. */
static const char *key_controller(const char *key)
{
	size_t len = strcspn(key, ".");

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strlen(known[i]) == len && strncmp(key, known[i], len) == 0)
			return known[i];
	return NULL;
}

static size_t wanted(const struct cgroup *cg, const struct oci_resources *res, const char **want)
{
	size_t n = 0;

	if (cg->layout == CGROUP_LAYOUT_UNIFIED && !cg->only_needed) {
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			add_want(want, &n, known[i]);
		return n;
	}
	/* Hybrid: only what the v1 hierarchies cannot provide, so the host's shared cgroup2 root
	 * is left as it is unless the configuration needs it. */
	const char *needed[WANT_MAX];
	size_t k = cg_needed_v2_controllers(cg, res, needed, WANT_MAX);
	for (size_t i = 0; i < k; i++)
		add_want(want, &n, needed[i]);
	for (size_t i = 0; res && i < res->n_unified; i++) {
		const char *c = res->unified[i].key ? key_controller(res->unified[i].key) : NULL;
		if (c)
			add_want(want, &n, c);
	}
	return n;
}

/* Enable at one level whatever of @want it offers and has not enabled yet. */
static int enable_at(int fd, const char *where, const char **want, size_t n, struct berth_error *err)
{
	char avail[1024], enabled[1024], cmd[256];
	size_t len = 0;
	int r = cg_read(fd, "cgroup.controllers", avail, sizeof(avail));

	if (r < 0)
		return berth_error_setf_errno(err, r, "read %s/cgroup.controllers", where);
	r = cg_read(fd, "cgroup.subtree_control", enabled, sizeof(enabled));
	if (r < 0)
		return berth_error_setf_errno(err, r, "read %s/cgroup.subtree_control", where);
	cmd[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!listed(avail, want[i]) || listed(enabled, want[i]))
			continue;
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, "%s+%s", len ? " " : "", want[i]);
	}
	if (len == 0)
		return 0;
	r = cg_write(fd, "cgroup.subtree_control", cmd, false);
	if (r == -EBUSY)
		return berth_error_set(err, r,
				       "enable '%s' in %s/cgroup.subtree_control: the cgroup has processes "
				       "of its own, and cgroup v2 only delegates controllers from cgroups "
				       "without processes",
				       cmd, where);
	if (r < 0)
		return berth_error_setf_errno(err, r, "enable '%s' in %s/cgroup.subtree_control", cmd, where);
	log_debug("cgroup: %s/cgroup.subtree_control <- %s", where, cmd);
	return 0;
}

int cgroup_enable_controllers(const struct cgroup *cg, const struct oci_resources *res,
			      struct berth_error *err)
{
	const char *want[WANT_MAX];
	char where[PATH_MAX];
	struct cg_hier h;

	if (!cg || !cg->path)
		return berth_error_set(err, -EINVAL,
				       "cgroup path is not resolved (call cgroup_resolve first)");
	if (!cg_find_unified(cg, &h))
		return 0;
	size_t n = wanted(cg, res, want);
	if (n == 0)
		return 0;
	_cleanup_close_ int fd = cg_open_hier(cg, &h);
	if (fd < 0)
		return berth_error_setf_errno(err, fd, "open the cgroup2 hierarchy");
	snprintf(where, sizeof(where), "%s", "");
	/* Every level above the leaf: "/", "/a", ... for a path "/a/b". */
	for (const char *p = h.path + 1;;) {
		size_t len = strcspn(p, "/");
		if (p[len] == '\0')
			return enable_at(fd, *where ? where : "/", want, n, err);
		int r = enable_at(fd, *where ? where : "/", want, n, err);
		if (r < 0)
			return r;
		size_t wl = strlen(where);
		snprintf(where + wl, sizeof(where) - wl, "/%.*s", (int)len, p);
		char comp[NAME_MAX + 1];
		snprintf(comp, sizeof(comp), "%.*s", (int)len, p);
		int child = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (child < 0)
			return berth_error_setf_errno(err, -errno, "open cgroup '%s'", where);
		close(fd);
		fd = child;
		p += len + 1;
	}
}
