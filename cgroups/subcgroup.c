/* exec --cgroup [controller:]path: run an exec'd process in an existing sub-cgroup of the
 * container's cgroup, as runc 1.1 does. The path is relative to the container's cgroup; a
 * controller names one v1 hierarchy (cgroup v1 only), no controller means every hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

/* A relative path without "", "." or ".." components (a leading '/' is dropped). */
static int check_sub(const char *sub, struct berth_error *err)
{
	if (!*sub)
		return berth_error_set(err, -EINVAL, "--cgroup: empty sub-cgroup path");
	for (const char *p = sub; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return berth_error_set(err, -EINVAL,
					       "--cgroup: \"%s\" must be a path below the container's cgroup "
					       "(no empty, \".\" or \"..\" components)",
					       sub);
		p += len + (p[len] == '/');
	}
	return 0;
}

/* Point *@slot at "<h->path>/<sub>" after checking that directory exists; the old value goes to
 * *@ret_old (freed by the caller once no struct cg_hier points into it any more). */
static int descend_one(const struct cgroup *cg, const struct cg_hier *h, char **slot, const char *sub,
		       char **ret_old, struct berth_error *err)
{
	struct cg_hier child = *h;
	char rel[CG_RELPATH_MAX];
	char *joined = NULL;
	struct stat st;

	if (asprintf(&joined, "%s/%s", h->path, sub) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	child.path = joined;
	if (cg_relpath(&child, rel, sizeof(rel)) < 0 || fstatat(cg->root_fd, rel, &st, 0) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		berth_error_set(err, -ENOENT,
				"--cgroup: sub-cgroup \"%s\" does not exist in hierarchy \"%s\"", joined,
				h->dir ? h->dir : "/");
		free(joined);
		return -ENOENT;
	}
	*ret_old = *slot;
	*slot = joined;
	return 0;
}

int cgroup_descend(struct cgroup *cg, const char *controller, const char *sub, struct berth_error *err)
{
	struct cg_hier h[CG_HIER_MAX];
	char *old[CG_HIER_MAX] = {0};
	size_t n = cg_hierarchies(cg, h);
	bool found = false;
	int r = 0;

	while (*sub == '/')
		sub++;
	r = check_sub(sub, err);
	if (r < 0)
		return r;
	if (controller && cg->layout == CGROUP_LAYOUT_UNIFIED)
		return berth_error_set(err, -EINVAL,
				       "--cgroup: \"%s:%s\": a controller is for cgroup v1 hierarchies; this "
				       "host has cgroup v2 only (give the path alone)",
				       controller, sub);
	/* every slot first checked and replaced; the v1 slots follow the unified one */
	for (size_t i = 0; i < n; i++) {
		char **slot;

		if (controller && (h[i].unified || !cg_controllers_overlap(h[i].dir, controller)))
			continue;
		found = true;
		if (h[i].unified) {
			/* the v1 hierarchies that follow @path must keep the old value */
			for (size_t j = 0; j < cg->n_v1; j++)
				if (!cg->v1_path[j] && !(cg->v1_path[j] = strdup(cg->path)))
					return berth_error_set(err, -ENOMEM, "out of memory");
			slot = &cg->path;
		} else {
			slot = &cg->v1_path[i - (cg->has_unified ? 1 : 0)];
		}
		r = descend_one(cg, &h[i], slot, sub, &old[i], err);
		if (r < 0)
			break;
	}
	for (size_t i = 0; i < n; i++)
		free(old[i]);
	if (r < 0)
		return r;
	if (!found)
		return berth_error_set(err, -ENOENT, "--cgroup: no cgroup v1 hierarchy has controller \"%s\"",
				       controller ? controller : "");
	return 0;
}
