/* cgroup_resolve(): from linux.cgroupsPath to the container's path in every hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

/* Refuse paths that would escape or alias a cgroup: "..", ".", empty components, names
 * over NAME_MAX, and the root cgroup itself (destroy would try to remove it). */
static int validate_path(const char *path, struct berth_error *err)
{
	const char *p = path + (path[0] == '/');

	if (strlen(path) >= PATH_MAX)
		return berth_error_set(err, -EINVAL, "linux.cgroupsPath is longer than %d bytes",
				       PATH_MAX - 1);
	if (*p == '\0')
		return berth_error_set(err, -EINVAL, "linux.cgroupsPath '%s' names the root cgroup", path);
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 0)
			return berth_error_set(err, -EINVAL, "linux.cgroupsPath '%s' has an empty component",
					       path);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return berth_error_set(err, -EINVAL, "linux.cgroupsPath '%s' must not contain '%.*s'",
					       path, (int)len, p);
		if (len > NAME_MAX)
			return berth_error_set(err, -EINVAL,
					       "linux.cgroupsPath '%s' has a component longer than %d bytes",
					       path, NAME_MAX);
		p += len;
		if (*p == '/' && p[1] == '\0')
			return berth_error_set(err, -EINVAL, "linux.cgroupsPath '%s' has an empty component",
					       path);
		p += (*p == '/');
	}
	return 0;
}

/* A copy of @path without trailing slashes ("/a/b/" -> "/a/b"), as runc's path cleaning does. */
static char *strip_trailing_slashes(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return NULL;
	for (size_t len = strlen(copy); len > 1 && copy[len - 1] == '/'; len--)
		copy[len - 1] = '\0';
	return copy;
}

/* The caller's own cgroup in one hierarchy, from /proc/self/cgroup lines "id:controllers:path":
 * the "0::" line for the unified tree (@dir NULL), else the line sharing a controller with @dir. */
static int self_cgroup_of(const char *text, const char *dir, const char **ret, size_t *ret_len)
{
	for (const char *line = text; line && *line;) {
		const char *end = strchrnul(line, '\n');
		const char *c1 = memchr(line, ':', (size_t)(end - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2 && c2 + 1 < end && c2[1] == '/') {
			char ctrl[256];
			size_t clen = (size_t)(c2 - c1 - 1);
			bool unified = c1 - line == 1 && line[0] == '0' && clen == 0;
			snprintf(ctrl, sizeof(ctrl), "%.*s", (int)clen, c1 + 1);
			if (dir ? (clen > 0 && cg_controllers_overlap(ctrl, dir)) : unified) {
				*ret = c2 + 1;
				*ret_len = (size_t)(end - c2 - 1);
				return 0;
			}
		}
		line = *end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* Resolve relative @rel below the caller's cgroup in one hierarchy into a malloc'd path. */
static int resolve_relative(const char *self, const char *dir, const char *rel, char **ret,
			    struct berth_error *err)
{
	const char *base;
	size_t blen;
	char *out = NULL;

	if (!self || self_cgroup_of(self, dir, &base, &blen) < 0)
		return berth_error_set(err, -ENOENT,
				       "cannot resolve relative linux.cgroupsPath '%s': the caller's cgroup "
				       "in hierarchy '%s' is not listed in /proc/self/cgroup",
				       rel, dir ? dir : "unified");
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (asprintf(&out, "%.*s/%s", (int)blen, base, rel) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	if (strlen(out) >= PATH_MAX) {
		free(out);
		return berth_error_set(err, -EINVAL,
				       "linux.cgroupsPath '%s' below the caller's cgroup is "
				       "longer than %d bytes",
				       rel, PATH_MAX - 1);
	}
	*ret = out;
	return 0;
}

/* Relative paths: cg->path in the unified tree (or the first v1 hierarchy without one);
 * v1_path[i] only where the caller's cgroup differs. */
static int resolve_relative_all(struct cgroup *cg, const char *rel, const char *self, struct berth_error *err)
{
	int r = 0;

	if (cg->has_unified)
		r = resolve_relative(self, NULL, rel, &cg->path, err);
	for (size_t i = 0; r >= 0 && i < cg->n_v1; i++) {
		char *p = NULL;
		r = resolve_relative(self, cg->v1[i], rel, &p, err);
		if (r < 0)
			break;
		if (!cg->path)
			cg->path = p;
		else if (strcmp(p, cg->path) == 0)
			free(p);
		else
			cg->v1_path[i] = p;
	}
	return r;
}

static int resolve_paths(struct cgroup *cg, const char *cgroups_path, const char *id, const char *self,
			 struct berth_error *err)
{
	_cleanup_free_ char *clean = NULL;
	int r;

	if (!cgroups_path || !*cgroups_path) {
		if (!id || !*id || strchr(id, '/'))
			return berth_error_set(err, -EINVAL, "container id '%s' cannot name a cgroup",
					       id ? id : "");
		if (asprintf(&clean, "/berth/%s", id) < 0)
			return berth_error_set(err, -ENOMEM, "out of memory");
	} else {
		clean = strip_trailing_slashes(cgroups_path);
		if (!clean)
			return berth_error_set(err, -ENOMEM, "out of memory");
	}
	r = validate_path(clean, err);
	if (r < 0)
		return r;
	if (clean[0] == '/') {
		cg->path = TAKE_PTR(clean);
		return 0;
	}
	return resolve_relative_all(cg, clean, self, err);
}

int cg_resolve_with(int root_fd, const char *cgroups_path, const char *id, const char *self_cgroup,
		    struct cgroup *cg, struct berth_error *err)
{
	struct cgroup tmp = {.root_fd = root_fd};
	int r = cg_detect_layout(root_fd, &tmp, err);

	if (r >= 0)
		r = resolve_paths(&tmp, cgroups_path, id, self_cgroup, err);
	if (r < 0) {
		cgroup_free(&tmp);
		return r;
	}
	*cg = tmp;
	return 0;
}

int cgroup_resolve(int root_fd, const char *cgroups_path, const char *id, struct cgroup *cg,
		   struct berth_error *err)
{
	_cleanup_free_ char *self = NULL;

	/* Only a relative path depends on where the caller itself sits. */
	if (cgroups_path && *cgroups_path && cgroups_path[0] != '/') {
		int r = cg_read_alloc(AT_FDCWD, "/proc/self/cgroup", &self);
		if (r < 0)
			return berth_error_setf_errno(err, r, "read /proc/self/cgroup");
	}
	return cg_resolve_with(root_fd, cgroups_path, id, self, cg, err);
}

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	free(cg->path);
	cg->path = NULL;
	for (size_t i = 0; i < CGROUP_V1_MAX; i++) {
		free(cg->v1[i]);
		cg->v1[i] = NULL;
		free(cg->v1_path[i]);
		cg->v1_path[i] = NULL;
	}
	cg->n_v1 = 0;
}
