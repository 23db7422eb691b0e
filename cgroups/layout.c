/* Which cgroup hierarchies exist below the cgroupfs root: decided by the files present, not by
 * /proc/mounts, so tests can point the module at a plain directory tree. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "internal.h"

/* Controllers a v1 hierarchy may carry, in the order we keep them when there are more mounts
 * than CGROUP_V1_MAX: the ones that limit or track processes first. */
static const char *const v1_controllers[] = {
    "memory", "pids",    "cpuset", "cpu",  "cpuacct",    "devices", "freezer",
    "blkio",  "hugetlb", "misc",   "rdma", "perf_event", "net_cls", "net_prio",
};

struct candidate {
	int rank;
	char *name;
};

/* Rank of a hierarchy directory such as "cpu,cpuacct": the best rank among its controllers,
 * -1 when none is a known v1 controller (e.g. "systemd", "unified"). */
static int v1_rank(const char *name)
{
	int best = -1;

	for (const char *p = name; *p;) {
		size_t len = strcspn(p, ",");
		for (size_t i = 0; i < ARRAY_SIZE(v1_controllers); i++) {
			if (strlen(v1_controllers[i]) == len && strncmp(p, v1_controllers[i], len) == 0 &&
			    (best < 0 || (int)i < best))
				best = (int)i;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return best;
}

/* true when the comma-separated controller lists @a and @b share a controller: the same
 * hierarchy mounted twice must be joined once. */
bool cg_controllers_overlap(const char *a, const char *b)
{
	for (const char *p = a; *p;) {
		size_t len = strcspn(p, ",");
		for (const char *q = b; *q;) {
			size_t qlen = strcspn(q, ",");
			if (len == qlen && strncmp(p, q, len) == 0)
				return true;
			q += qlen + (q[qlen] == ',');
		}
		p += len + (p[len] == ',');
	}
	return false;
}

static int candidate_cmp(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A v1 hierarchy: a real directory (not a symlink like "cpu" -> "cpu,cpuacct") named after
 * known controllers that holds a cgroup.procs. */
static bool is_v1_hierarchy(int dfd, const char *name)
{
	char procs[300];
	struct stat st;

	if (name[0] == '.' || v1_rank(name) < 0)
		return false;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return false;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", name);
	return fstatat(dfd, procs, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static void candidates_free(struct candidate *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].name);
	free(c);
}

/* Collect every v1 hierarchy directory below @root_fd, unsorted. */
static int collect_v1(int root_fd, struct candidate **ret, size_t *ret_n)
{
	_cleanup_close_ int dfd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d)
		return -errno;
	TAKE_FD(dfd);
	_cleanup_closedir_ DIR *dir = d;
	struct candidate *c = NULL;
	size_t n = 0;
	struct dirent *de;

	while ((de = readdir(dir))) {
		if (!is_v1_hierarchy(dirfd(dir), de->d_name))
			continue;
		struct candidate *grown = realloc(c, (n + 1) * sizeof(*c));
		char *name = strdup(de->d_name);
		if (!grown || !name) {
			free(name);
			candidates_free(grown ? grown : c, n);
			return -ENOMEM;
		}
		c = grown;
		c[n++] = (struct candidate){.rank = v1_rank(de->d_name), .name = name};
	}
	*ret = c;
	*ret_n = n;
	return 0;
}

/* Fill @cg->v1 with up to CGROUP_V1_MAX hierarchies, most useful first, each controller once. */
static int scan_v1(int root_fd, struct cgroup *cg)
{
	struct candidate *c = NULL;
	size_t n = 0;
	int r = collect_v1(root_fd, &c, &n);
	if (r < 0)
		return r;
	if (n > 0)
		qsort(c, n, sizeof(*c), candidate_cmp);
	for (size_t i = 0; i < n && cg->n_v1 < CGROUP_V1_MAX; i++) {
		bool dup = false;
		for (size_t j = 0; j < cg->n_v1 && !dup; j++)
			dup = cg_controllers_overlap(cg->v1[j], c[i].name);
		if (!dup)
			cg->v1[cg->n_v1++] = TAKE_PTR(c[i].name);
	}
	candidates_free(c, n);
	return 0;
}

/* The last layout found, for cgroup_layout_cache(): keyed by the root directory's identity. */
static struct {
	bool enabled, valid;
	dev_t dev;
	ino_t ino;
	struct cgroup cg; /* layout, has_unified, v1 and n_v1 only */
} cache;

void cgroup_layout_cache(bool enable)
{
	cache.enabled = enable;
	if (!enable) {
		for (size_t i = 0; i < cache.cg.n_v1; i++)
			free(cache.cg.v1[i]);
		memset(&cache.cg, 0, sizeof(cache.cg));
		cache.valid = false;
	}
}

/* Copy the cached layout into @cg when it is for @root_fd: 1 on a hit, 0 on a miss, -ENOMEM. */
static int cache_get(int root_fd, struct cgroup *cg, struct stat *st)
{
	if (!cache.enabled || fstat(root_fd, st) < 0)
		return 0;
	if (!cache.valid || cache.dev != st->st_dev || cache.ino != st->st_ino)
		return 0;
	cg->layout = cache.cg.layout;
	cg->has_unified = cache.cg.has_unified;
	for (size_t i = 0; i < cache.cg.n_v1; i++) {
		cg->v1[i] = strdup(cache.cg.v1[i]);
		if (!cg->v1[i])
			return -ENOMEM;
		cg->n_v1 = i + 1;
	}
	return 1;
}

static void cache_put(const struct stat *st, const struct cgroup *cg)
{
	if (!cache.enabled || cache.valid)
		return;
	for (size_t i = 0; i < cg->n_v1; i++)
		if (!(cache.cg.v1[i] = strdup(cg->v1[i]))) {
			while (i-- > 0)
				free(cache.cg.v1[i]);
			return;
		}
	cache.cg.n_v1 = cg->n_v1;
	cache.cg.layout = cg->layout;
	cache.cg.has_unified = cg->has_unified;
	cache.dev = st->st_dev;
	cache.ino = st->st_ino;
	cache.valid = true;
}

static int detect_layout(int root_fd, struct cgroup *cg, struct berth_error *err);

/* Decide the layout and fill cg->layout, cg->has_unified and cg->v1. */
int cg_detect_layout(int root_fd, struct cgroup *cg, struct berth_error *err)
{
	struct stat st = {0};
	int r = cache_get(root_fd, cg, &st);
	if (r < 0)
		return berth_error_setf_errno(err, r, "scan the cgroup hierarchies");
	if (r > 0)
		return 0;
	r = detect_layout(root_fd, cg, err);
	if (r == 0 && st.st_ino)
		cache_put(&st, cg);
	return r;
}

static int detect_layout(int root_fd, struct cgroup *cg, struct berth_error *err)
{
	int r;

	if (cg_has_file(root_fd, "cgroup.controllers")) {
		cg->layout = CGROUP_LAYOUT_UNIFIED;
		cg->has_unified = true;
		return 0;
	}
	cg->has_unified = cg_has_file(root_fd, "unified/cgroup.controllers");
	cg->layout = cg->has_unified ? CGROUP_LAYOUT_HYBRID : CGROUP_LAYOUT_LEGACY;
	r = scan_v1(root_fd, cg);
	if (r < 0)
		return berth_error_setf_errno(err, r, "scan the cgroup hierarchies");
	if (!cg->has_unified && cg->n_v1 == 0)
		return berth_error_set(err, -ENOENT,
				       "no cgroup hierarchy found: neither cgroup2 nor a v1 controller is "
				       "mounted below the cgroup root");
	return 0;
}
