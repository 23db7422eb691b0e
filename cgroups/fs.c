/* Hierarchy iteration and cgroupfs file access shared by the cgroups module. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/util.h"
#include "internal.h"

/* cgroup.procs of a full pid space is a few MiB; anything larger is not a cgroupfs file. */
#define CG_READ_MAX (64u << 20)

size_t cg_hierarchies(const struct cgroup *cg, struct cg_hier out[CG_HIER_MAX])
{
	size_t n = 0;

	if (cg->has_unified)
		out[n++] = (struct cg_hier){
		    .dir = cg->layout == CGROUP_LAYOUT_UNIFIED ? NULL : "unified",
		    .path = cg->path,
		    .unified = true,
		};
	for (size_t i = 0; i < cg->n_v1 && i < CGROUP_V1_MAX; i++)
		out[n++] = (struct cg_hier){
		    .dir = cg->v1[i],
		    .path = cg->v1_path[i] ? cg->v1_path[i] : cg->path,
		    .unified = false,
		};
	return n;
}

bool cg_find_unified(const struct cgroup *cg, struct cg_hier *ret)
{
	struct cg_hier h[CG_HIER_MAX];

	if (cg_hierarchies(cg, h) == 0 || !h[0].unified)
		return false;
	*ret = h[0];
	return true;
}

bool cg_find_v1(const struct cgroup *cg, const char *controller, struct cg_hier *ret)
{
	struct cg_hier h[CG_HIER_MAX];
	size_t n = cg_hierarchies(cg, h);

	for (size_t i = 0; i < n; i++) {
		if (!h[i].unified && cg_controllers_overlap(h[i].dir, controller)) {
			*ret = h[i];
			return true;
		}
	}
	return false;
}

int cg_relpath(const struct cg_hier *h, char *buf, size_t size)
{
	int n;

	if (!h->path || h->path[0] != '/')
		return -EINVAL;
	if (h->dir)
		n = snprintf(buf, size, "%s%s", h->dir, h->path);
	else
		n = snprintf(buf, size, ".%s", h->path);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int cg_open_hier(const struct cgroup *cg, const struct cg_hier *h)
{
	int fd = openat(cg->root_fd, h->dir ? h->dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cg_open(const struct cgroup *cg, const struct cg_hier *h)
{
	char rel[CG_RELPATH_MAX];
	int r = cg_relpath(h, rel, sizeof(rel));
	if (r < 0)
		return r;
	int fd = openat(cg->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cg_read(int dirfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (size == 0)
		return -EINVAL;
	ssize_t n = read_full(fd, buf, size - 1);
	if (n < 0)
		return (int)n;
	if ((size_t)n == size - 1) {
		char extra;
		if (read_full(fd, &extra, 1) > 0)
			return -EFBIG;
	}
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return (int)n;
}

int cg_read_alloc(int dirfd, const char *name, char **ret_buf)
{
	/* cgroupfs files report size 0: read_file_at reads to EOF whatever the size says. */
	return read_file_at(dirfd, name, CG_READ_MAX, ret_buf, NULL);
}

bool cg_has_file(int fd, const char *name)
{
	struct stat st;
	return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int cg_write(int dirfd, const char *name, const char *value, bool create)
{
	int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | (create ? O_CREAT : 0);
	_cleanup_close_ int fd = openat(dirfd, name, flags, 0644);
	size_t len = strlen(value);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int cgroup_open_view(const struct cgroup *cg, size_t index, const char **ret_name, bool *ret_unified,
		     int *ret_fd)
{
	struct cg_hier h[CG_HIER_MAX];
	char rel[CG_RELPATH_MAX], full[CG_RELPATH_MAX + PATH_MAX], root[PATH_MAX], link[64];
	size_t n = cg_hierarchies(cg, h);
	ssize_t len;
	int r, fd;

	if (index >= n)
		return -ERANGE;
	r = cg_relpath(&h[index], rel, sizeof(rel));
	if (r < 0)
		return r;
	/* By path, not below root_fd: the caller may be in a new mount namespace, and a mount of
	 * another namespace cannot be bound (open_tree: EINVAL). */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", cg->root_fd);
	len = readlink(link, root, sizeof(root) - 1);
	if (len < 0)
		return -errno;
	root[len] = '\0';
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", root, rel) >= sizeof(full))
		return -ENAMETOOLONG;
	fd = open(full, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_name = h[index].dir;
	*ret_unified = h[index].unified;
	*ret_fd = fd;
	return 0;
}
