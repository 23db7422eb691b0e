/* Fake cgroupfs trees in a temporary directory, shared by the cgroup resource, device and
 * statistics unit tests (each test program includes it once). Files are plain files, so a write
 * replaces the content: a test sees the last value written to each file. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/cgroups.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "../../cgroups/resources.h"

#define LEAF "/berth-test/c1"

struct fake {
	char dir[64];
	int root_fd;
	struct cgroup cg;
	struct berth_error err;
};

static inline int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-cgres-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->root_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->root_fd < 0 ? -1 : 0;
}

static inline int fake_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static inline int fake_teardown(void **state)
{
	struct fake *f = *state;
	cgroup_free(&f->cg);
	close(f->root_fd);
	int r = nftw(f->dir, fake_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

static inline void fake_mkdirs(int root_fd, const char *path)
{
	char buf[PATH_MAX + 2];
	snprintf(buf, sizeof(buf), "%.*s/", PATH_MAX - 1, path);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(root_fd, buf, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
}

/* mkdir -p of the directory part of @path, then write @content to it. */
static inline void put(int root_fd, const char *path, const char *content)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		fake_mkdirs(root_fd, dir);
	}
	int fd = openat(root_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("create %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

/* The content of @path (trailing newlines stripped), in a static buffer. */
static inline const char *get(int root_fd, const char *path)
{
	static char buf[8192];
	int r = cg_read(root_fd, path, buf, sizeof(buf));
	if (r < 0)
		fail_msg("read %s: %s", path, strerror(-r));
	return buf;
}

/* "<hierarchy>/berth-test/c1/<file>", in one of four rotating static buffers: copy it to keep it. */
static inline const char *at(const char *hier, const char *file)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *b = buf[next++ % 4];
	if (hier)
		snprintf(b, PATH_MAX, "%s%s/%s", hier, LEAF, file);
	else
		snprintf(b, PATH_MAX, "berth-test/c1/%s", file);
	return b;
}

static inline void put_leaf(int root_fd, const char *hier, const char *file, const char *content)
{
	put(root_fd, at(hier, file), content);
}

static inline const char *get_leaf(int root_fd, const char *hier, const char *file)
{
	return get(root_fd, at(hier, file));
}

/* A pure cgroup v2 host with every controller enabled down to the leaf. */
static inline void tree_unified(int fd)
{
	static const char *const leaf[][2] = {
	    {"cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n"},
	    {"cgroup.subtree_control", ""},
	    {"cgroup.procs", ""},
	    {"memory.max", "max\n"},
	    {"memory.low", "0\n"},
	    {"memory.high", "max\n"},
	    {"memory.swap.max", "max\n"},
	    {"memory.current", "4096\n"},
	    {"cpu.weight", "100\n"},
	    {"cpu.max", "max 100000\n"},
	    {"cpu.max.burst", "0\n"},
	    {"cpu.idle", "0\n"},
	    {"cpuset.cpus", "\n"},
	    {"cpuset.mems", "\n"},
	    {"pids.max", "max\n"},
	    {"io.weight", "default 100\n"},
	    {"io.max", ""},
	    {"hugetlb.2MB.max", "max\n"},
	    {"hugetlb.2MB.rsvd.max", "max\n"},
	    {"hugetlb.1GB.max", "max\n"},
	    {"rdma.max", ""},
	};
	put(fd, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(fd, "cgroup.subtree_control", "cpuset cpu io memory hugetlb pids rdma\n");
	put(fd, "cgroup.procs", "1\n");
	put(fd, "berth-test/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n");
	put(fd, "berth-test/cgroup.subtree_control", "cpuset cpu io memory hugetlb pids rdma\n");
	for (size_t i = 0; i < sizeof(leaf) / sizeof(leaf[0]); i++)
		put_leaf(fd, NULL, leaf[i][0], leaf[i][1]);
}

/* The v1 hierarchies of a hybrid or legacy host, each with the leaf's files as a fresh cgroup
 * shows them. "cpu,cpuacct" and "net_cls,net_prio" are combined with symlinks, as systemd
 * mounts them; there is no rdma hierarchy. */
static inline void tree_v1(int fd)
{
	static const char *const files[][3] = {
	    {"memory", "memory.limit_in_bytes", "9223372036854771712\n"},
	    {"memory", "memory.memsw.limit_in_bytes", "9223372036854771712\n"},
	    {"memory", "memory.soft_limit_in_bytes", "9223372036854771712\n"},
	    {"memory", "memory.swappiness", "60\n"},
	    {"memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
	    {"memory", "memory.usage_in_bytes", "4096\n"},
	    {"memory", "memory.kmem.limit_in_bytes", "9223372036854771712\n"},
	    {"cpu,cpuacct", "cpu.shares", "1024\n"},
	    {"cpu,cpuacct", "cpu.cfs_quota_us", "-1\n"},
	    {"cpu,cpuacct", "cpu.cfs_period_us", "100000\n"},
	    {"cpu,cpuacct", "cpu.cfs_burst_us", "0\n"},
	    {"cpu,cpuacct", "cpu.rt_runtime_us", "0\n"},
	    {"cpu,cpuacct", "cpu.rt_period_us", "1000000\n"},
	    {"cpu,cpuacct", "cpu.idle", "0\n"},
	    {"cpuset", "cpuset.cpus", "0-3\n"},
	    {"cpuset", "cpuset.mems", "0\n"},
	    {"pids", "pids.max", "max\n"},
	    {"blkio", "blkio.bfq.weight", "100\n"},
	    {"blkio", "blkio.bfq.weight_device", ""},
	    {"blkio", "blkio.throttle.read_bps_device", ""},
	    {"blkio", "blkio.throttle.write_bps_device", ""},
	    {"blkio", "blkio.throttle.read_iops_device", ""},
	    {"blkio", "blkio.throttle.write_iops_device", ""},
	    {"devices", "devices.allow", ""},
	    {"devices", "devices.deny", ""},
	    {"hugetlb", "hugetlb.2MB.limit_in_bytes", "9223372036854771712\n"},
	    {"net_cls,net_prio", "net_cls.classid", "0\n"},
	    {"net_cls,net_prio", "net_prio.ifpriomap", ""},
	    {"freezer", "freezer.state", "THAWED\n"},
	};
	static const char *const hiers[] = {"memory",  "cpu,cpuacct", "cpuset",           "pids",   "blkio",
					    "devices", "hugetlb",     "net_cls,net_prio", "freezer"};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(hiers) / sizeof(hiers[0]); i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", hiers[i]);
		put(fd, path, "1\n");
	}
	assert_int_equal(symlinkat("cpu,cpuacct", fd, "cpu"), 0);
	assert_int_equal(symlinkat("cpu,cpuacct", fd, "cpuacct"), 0);
	assert_int_equal(symlinkat("net_cls,net_prio", fd, "net_cls"), 0);
	assert_int_equal(symlinkat("net_cls,net_prio", fd, "net_prio"), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put_leaf(fd, files[i][0], files[i][1], files[i][2]);
}

/* Hybrid: v1 hierarchies plus a cgroup2 tree at "unified" with no controllers. */
static inline void tree_hybrid(int fd)
{
	tree_v1(fd);
	put(fd, "unified/cgroup.controllers", "");
	put(fd, "unified/cgroup.subtree_control", "");
	put(fd, "unified/cgroup.procs", "1\n");
	put(fd, "unified/berth-test/cgroup.controllers", "");
	put(fd, "unified/berth-test/cgroup.subtree_control", "");
	put_leaf(fd, "unified", "cgroup.controllers", "");
	put_leaf(fd, "unified", "cgroup.procs", "");
	put_leaf(fd, "unified", "memory.pressure", "");
}

static inline void fake_resolve(struct fake *f)
{
	if (cg_resolve_with(f->root_fd, LEAF, "c1", NULL, &f->cg, &f->err) < 0)
		fail_msg("resolve: %s", f->err.msg);
}

static inline void apply_ok(struct fake *f, const struct oci_resources *res, bool is_update)
{
	berth_error_clear(&f->err);
	if (cgroup_apply_resources(&f->cg, res, is_update, &f->err) < 0)
		fail_msg("apply: %s", f->err.msg);
}

/* Apply, expect failure with @code, return the message. */
static inline const char *apply_fails(struct fake *f, const struct oci_resources *res, bool is_update,
				      int code)
{
	berth_error_clear(&f->err);
	int r = cgroup_apply_resources(&f->cg, res, is_update, &f->err);
	if (r >= 0)
		fail_msg("apply succeeded, expected %s", strerror(-code));
	if (r != code)
		fail_msg("apply: %d (%s), expected %d", r, f->err.msg, code);
	assert_int_equal(f->err.code, code);
	return f->err.msg;
}
