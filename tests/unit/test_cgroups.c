/* cgroups module against fake cgroupfs trees in a temporary directory: layout detection, path
 * resolution, create/enter/freeze/destroy file effects. The real kernel is exercised by
 * test_cgroups_host.c. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/cgroups.h"
#include "berth/error.h"
#include "../../cgroups/internal.h"

struct fake {
	char dir[64];
	int root_fd;
	struct cgroup cg;
};

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-cgtest-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->root_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->root_fd < 0 ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;
	cgroup_free(&f->cg);
	close(f->root_fd);
	int r = nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

/* mkdir -p of the directory part of @path, then write @content to it. */
static void put(int root_fd, const char *path, const char *content)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(root_fd, buf, 0755) < 0)
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
	int fd = openat(root_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static char *get(int root_fd, const char *path, char *buf, size_t size)
{
	int r = cg_read(root_fd, path, buf, size);
	if (r < 0)
		fail_msg("read %s: %s", path, strerror(-r));
	return buf;
}

static bool is_dir(int root_fd, const char *path)
{
	struct stat st;
	return fstatat(root_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static void build_unified(int root_fd)
{
	put(root_fd, "cgroup.controllers", "cpu memory pids\n");
	put(root_fd, "cgroup.procs", "1\n");
}

/* A hybrid host as systemd lays it out: combined cpu,cpuacct with symlinks, a named systemd
 * hierarchy, and a "devices" directory that is not a mount (no cgroup.procs). */
static void build_hybrid(int root_fd)
{
	put(root_fd, "unified/cgroup.controllers", "");
	put(root_fd, "unified/cgroup.procs", "1\n");
	put(root_fd, "memory/cgroup.procs", "1\n");
	put(root_fd, "pids/cgroup.procs", "1\n");
	put(root_fd, "cpu,cpuacct/cgroup.procs", "1\n");
	assert_int_equal(symlinkat("cpu,cpuacct", root_fd, "cpu"), 0);
	assert_int_equal(symlinkat("cpu,cpuacct", root_fd, "cpuacct"), 0);
	put(root_fd, "cpuset/cgroup.procs", "1\n");
	put(root_fd, "cpuset/cpuset.cpus", "0-3\n");
	put(root_fd, "cpuset/cpuset.mems", "0\n");
	put(root_fd, "freezer/cgroup.procs", "1\n");
	put(root_fd, "systemd/cgroup.procs", "1\n");
	put(root_fd, "devices/README", "not a hierarchy\n");
}

static void build_legacy(int root_fd)
{
	put(root_fd, "memory/cgroup.procs", "1\n");
	put(root_fd, "pids/cgroup.procs", "1\n");
	put(root_fd, "freezer/cgroup.procs", "1\n");
	put(root_fd, "cpuset/cgroup.procs", "1\n");
	put(root_fd, "cpuset/cpuset.cpus", "0-1\n");
	put(root_fd, "cpuset/cpuset.mems", "0\n");
}

static void resolve_ok(struct fake *f, const char *path, const char *id)
{
	struct berth_error err = {0};
	cgroup_free(&f->cg);
	memset(&f->cg, 0, sizeof(f->cg));
	int r = cgroup_resolve(f->root_fd, path, id, &f->cg, &err);
	if (r < 0)
		fail_msg("resolve '%s': %s", path ? path : "(null)", err.msg);
}

static void test_detect_unified(void **state)
{
	struct fake *f = *state;
	build_unified(f->root_fd);
	resolve_ok(f, "/berth-test/c1", "c1");
	assert_int_equal(f->cg.layout, CGROUP_LAYOUT_UNIFIED);
	assert_true(f->cg.has_unified);
	assert_int_equal(f->cg.n_v1, 0);
	assert_int_equal(f->cg.root_fd, f->root_fd);
	assert_string_equal(f->cg.path, "/berth-test/c1");

	struct cg_hier h[CG_HIER_MAX];
	char rel[CG_RELPATH_MAX];
	assert_int_equal(cg_hierarchies(&f->cg, h), 1);
	assert_int_equal(cg_relpath(&h[0], rel, sizeof(rel)), 0);
	assert_string_equal(rel, "./berth-test/c1");
}

static void test_detect_hybrid(void **state)
{
	struct fake *f = *state;
	build_hybrid(f->root_fd);
	resolve_ok(f, "/berth-test/c1", "c1");
	assert_int_equal(f->cg.layout, CGROUP_LAYOUT_HYBRID);
	assert_true(f->cg.has_unified);
	/* Ordered by usefulness; symlinks, "systemd" and the non-mount "devices" are left out. */
	assert_int_equal(f->cg.n_v1, 5);
	assert_string_equal(f->cg.v1[0], "memory");
	assert_string_equal(f->cg.v1[1], "pids");
	assert_string_equal(f->cg.v1[2], "cpuset");
	assert_string_equal(f->cg.v1[3], "cpu,cpuacct");
	assert_string_equal(f->cg.v1[4], "freezer");

	struct cg_hier h[CG_HIER_MAX];
	char rel[CG_RELPATH_MAX];
	assert_int_equal(cg_hierarchies(&f->cg, h), 6);
	assert_true(h[0].unified);
	assert_int_equal(cg_relpath(&h[0], rel, sizeof(rel)), 0);
	assert_string_equal(rel, "unified/berth-test/c1");
	assert_int_equal(cg_relpath(&h[4], rel, sizeof(rel)), 0);
	assert_string_equal(rel, "cpu,cpuacct/berth-test/c1");
}

static void test_detect_legacy(void **state)
{
	struct fake *f = *state;
	build_legacy(f->root_fd);
	resolve_ok(f, "/x", "c1");
	assert_int_equal(f->cg.layout, CGROUP_LAYOUT_LEGACY);
	assert_false(f->cg.has_unified);
	assert_int_equal(f->cg.n_v1, 4);
	assert_string_equal(f->cg.v1[0], "memory");
	assert_string_equal(f->cg.v1[3], "freezer");
}

/* With the process-wide cache on, a second resolve under the same root reuses the first scan
 * (a hierarchy added since is not seen); turned off, the tree is scanned again. */
static void test_detect_cached(void **state)
{
	struct fake *f = *state;
	build_legacy(f->root_fd);
	cgroup_layout_cache(true);
	resolve_ok(f, "/x", "c1");
	assert_int_equal(f->cg.n_v1, 4);
	put(f->root_fd, "pids,extra/cgroup.procs", "1\n");
	put(f->root_fd, "blkio/cgroup.procs", "1\n");
	resolve_ok(f, "/y", "c2");
	assert_int_equal(f->cg.layout, CGROUP_LAYOUT_LEGACY);
	assert_int_equal(f->cg.n_v1, 4); /* from the cache */
	assert_string_equal(f->cg.v1[0], "memory");
	assert_string_equal(f->cg.path, "/y"); /* the path is resolved each time */
	cgroup_layout_cache(false);
	resolve_ok(f, "/y", "c2");
	assert_int_equal(f->cg.n_v1, 5); /* blkio now; "pids,extra" duplicates pids */
}

/* One hierarchy mounted twice (a real "cpu" directory next to "cpu,cpuacct") is joined once. */
static void test_detect_duplicate_mount(void **state)
{
	struct fake *f = *state;
	put(f->root_fd, "cpu,cpuacct/cgroup.procs", "");
	put(f->root_fd, "cpu/cgroup.procs", "");
	resolve_ok(f, "/x", "c1");
	assert_int_equal(f->cg.n_v1, 1);
	assert_string_equal(f->cg.v1[0], "cpu");
}

static void test_detect_nothing(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	put(f->root_fd, "systemd/cgroup.procs", "");
	assert_int_equal(cgroup_resolve(f->root_fd, "/x", "c1", &f->cg, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no cgroup hierarchy"));
	assert_null(f->cg.path);
}

static void test_resolve_absolute_and_default(void **state)
{
	struct fake *f = *state;
	build_unified(f->root_fd);
	resolve_ok(f, "/a/b", "c1");
	assert_string_equal(f->cg.path, "/a/b");
	resolve_ok(f, "/a/b//", "c1");
	assert_string_equal(f->cg.path, "/a/b");
	resolve_ok(f, NULL, "c1");
	assert_string_equal(f->cg.path, "/berth/c1");
	resolve_ok(f, "", "my.ctr-1");
	assert_string_equal(f->cg.path, "/berth/my.ctr-1");
}

static void expect_invalid(struct fake *f, const char *path, const char *id, const char *needle)
{
	struct berth_error err = {0};
	struct cgroup cg = {0};
	int r = cgroup_resolve(f->root_fd, path, id, &cg, &err);
	if (r != -EINVAL)
		fail_msg("'%s' gave %d, expected -EINVAL", path, r);
	if (!strstr(err.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", path, err.msg, needle);
	assert_null(cg.path); /* untouched */
	assert_int_equal(cg.n_v1, 0);
}

static void test_resolve_rejects(void **state)
{
	struct fake *f = *state;
	char longp[PATH_MAX + 16];
	char longc[NAME_MAX + 8];

	build_hybrid(f->root_fd);
	expect_invalid(f, "/a/../b", "c1", "'..'");
	expect_invalid(f, "..", "c1", "'..'");
	expect_invalid(f, "a/..", "c1", "'..'");
	expect_invalid(f, "/a/./b", "c1", "'.'");
	expect_invalid(f, "a//b", "c1", "empty component");
	expect_invalid(f, "/a//b", "c1", "empty component");
	expect_invalid(f, "/", "c1", "root cgroup");
	expect_invalid(f, "//", "c1", "root cgroup");
	expect_invalid(f, NULL, "a/b", "container id");
	memset(longc, 'x', sizeof(longc) - 1);
	longc[0] = '/';
	longc[sizeof(longc) - 1] = '\0';
	expect_invalid(f, longc, "c1", "longer than");
	for (size_t i = 0; i < sizeof(longp) - 1; i++)
		longp[i] = i % 100 == 0 ? '/' : 'y';
	longp[sizeof(longp) - 1] = '\0';
	expect_invalid(f, longp, "c1", "linux.cgroupsPath");
}

static const char *self_text = "9:name=systemd:/user.slice\n"
			       "8:pids:/user.slice\n"
			       "6:freezer:/\n"
			       "4:memory:/process_api/abc\n"
			       "3:cpuset:/\n"
			       "2:cpuacct,cpu:/\n"
			       "0::/user.slice/session-1.scope\n";

/* Relative paths go below the caller's cgroup, which differs per hierarchy on a hybrid host. */
static void test_resolve_relative_hybrid(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	struct cg_hier h[CG_HIER_MAX];

	build_hybrid(f->root_fd);
	assert_int_equal(cg_resolve_with(f->root_fd, "a/b", "c1", self_text, &f->cg, &err), 0);
	assert_string_equal(f->cg.path, "/user.slice/session-1.scope/a/b");
	assert_int_equal(cg_hierarchies(&f->cg, h), 6);
	assert_string_equal(h[0].path, "/user.slice/session-1.scope/a/b"); /* unified */
	assert_string_equal(h[1].path, "/process_api/abc/a/b");            /* memory */
	assert_string_equal(h[2].path, "/user.slice/a/b");                 /* pids */
	assert_string_equal(h[3].path, "/a/b");                            /* cpuset */
	assert_string_equal(h[4].path, "/a/b");                            /* cpu,cpuacct */
	assert_string_equal(h[5].path, "/a/b");                            /* freezer */
	/* Every v1 base differs from the unified one here, so each has its own path. */
	for (size_t i = 0; i < f->cg.n_v1; i++)
		assert_non_null(f->cg.v1_path[i]);

	cgroup_free(&f->cg);
	memset(&f->cg, 0, sizeof(f->cg));
	assert_int_equal(cg_resolve_with(f->root_fd, "a", "c1", "0::/\n", &f->cg, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "memory"));
	assert_null(f->cg.path);
}

static void test_resolve_relative_self(void **state)
{
	struct fake *f = *state;
	char self[4096];
	char expect[PATH_MAX];

	/* Against the real /proc/self/cgroup: the unified entry is the base. */
	build_unified(f->root_fd);
	assert_true(cg_read(AT_FDCWD, "/proc/self/cgroup", self, sizeof(self)) > 0);
	char *line = strstr(self, "0::");
	if (!line)
		skip();
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	snprintf(expect, sizeof(expect), "%s/rel/c1", strcmp(line, "/") == 0 ? "" : line);
	resolve_ok(f, "rel/c1", "c1");
	assert_string_equal(f->cg.path, expect);
}

static void test_create_hybrid(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	char buf[64];
	bool created = false;

	build_hybrid(f->root_fd);
	put(f->root_fd, "cpuset/pre/cpuset.cpus", "1\n");
	put(f->root_fd, "cpuset/pre/cpuset.mems", "\n");
	resolve_ok(f, "/berth-test/c1", "c1");
	assert_int_equal(cgroup_create(&f->cg, &created, &err), 0);
	assert_true(created);
	const char *leaves[] = {"unified", "memory", "pids", "cpuset", "cpu,cpuacct", "freezer"};
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		snprintf(buf, sizeof(buf), "%s/berth-test/c1", leaves[i]);
		assert_true(is_dir(f->root_fd, buf));
	}
	assert_false(is_dir(f->root_fd, "systemd/berth-test"));
	/* cpuset values copied into every new level; other hierarchies get no cpuset files. */
	assert_string_equal(get(f->root_fd, "cpuset/berth-test/cpuset.cpus", buf, sizeof(buf)), "0-3");
	assert_string_equal(get(f->root_fd, "cpuset/berth-test/c1/cpuset.cpus", buf, sizeof(buf)), "0-3");
	assert_string_equal(get(f->root_fd, "cpuset/berth-test/c1/cpuset.mems", buf, sizeof(buf)), "0");
	assert_int_equal(faccessat(f->root_fd, "memory/berth-test/cpuset.cpus", F_OK, 0), -1);

	/* Again: it exists now, so it is not ours to remove. */
	assert_int_equal(cgroup_create(&f->cg, &created, &err), 0);
	assert_false(created);

	/* Below an existing level: its own (non-empty) cpus are kept and inherited; its empty mems
	 * (left so by another tool: every process below would be refused) is filled from the root. */
	resolve_ok(f, "/pre/c2", "c2");
	assert_int_equal(cgroup_create(&f->cg, &created, &err), 0);
	assert_string_equal(get(f->root_fd, "cpuset/pre/cpuset.cpus", buf, sizeof(buf)), "1");
	assert_string_equal(get(f->root_fd, "cpuset/pre/cpuset.mems", buf, sizeof(buf)), "0");
	assert_string_equal(get(f->root_fd, "cpuset/pre/c2/cpuset.cpus", buf, sizeof(buf)), "1");
	assert_string_equal(get(f->root_fd, "cpuset/pre/c2/cpuset.mems", buf, sizeof(buf)), "0");
}

/* A failure in one hierarchy removes what this call created in the others, and only that. */
static void test_create_rollback(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	bool created = true;

	build_hybrid(f->root_fd);
	assert_int_equal(mkdirat(f->root_fd, "unified/berth-test", 0755), 0);
	put(f->root_fd, "pids/berth-test", "a file where a directory should be\n");
	resolve_ok(f, "/berth-test/c1", "c1");
	assert_int_equal(cgroup_create(&f->cg, &created, &err), -ENOTDIR);
	assert_true(created); /* untouched on failure */
	assert_non_null(strstr(err.msg, "'pids'"));
	assert_non_null(strstr(err.msg, "/berth-test/c1"));
	assert_true(is_dir(f->root_fd, "unified/berth-test")); /* existed before */
	assert_false(is_dir(f->root_fd, "unified/berth-test/c1"));
	assert_false(is_dir(f->root_fd, "memory/berth-test"));
	assert_false(is_dir(f->root_fd, "cpuset/berth-test"));
}

static void create_ok(struct fake *f)
{
	struct berth_error err = {0};
	if (cgroup_create(&f->cg, NULL, &err) < 0)
		fail_msg("create: %s", err.msg);
}

static void test_enter(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	char buf[64];

	build_hybrid(f->root_fd);
	resolve_ok(f, "/berth-test/c1", "c1");
	create_ok(f);
	/* No kernel here: give the new directories the file it would provide. */
	const char *procs[] = {"unified", "memory", "pids", "cpuset", "cpu,cpuacct", "freezer"};
	char path[128];
	for (size_t i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/berth-test/c1/cgroup.procs", procs[i]);
		put(f->root_fd, path, "");
	}
	assert_int_equal(cgroup_enter(&f->cg, 4242, false, &err), 0);
	for (size_t i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/berth-test/c1/cgroup.procs", procs[i]);
		assert_string_equal(get(f->root_fd, path, buf, sizeof(buf)), "4242");
	}
	assert_int_equal(cgroup_enter(&f->cg, 777, true, &err), 0);
	assert_string_equal(get(f->root_fd, "unified/berth-test/c1/cgroup.procs", buf, sizeof(buf)), "4242");
	assert_string_equal(get(f->root_fd, "memory/berth-test/c1/cgroup.procs", buf, sizeof(buf)), "777");

	/* Skipping the v1 hierarchies (the child moves itself there) writes only the unified one. */
	assert_int_equal(cgroup_enter(&f->cg, 31, CGROUP_SKIP_V1, &err), 0);
	assert_string_equal(get(f->root_fd, "unified/berth-test/c1/cgroup.procs", buf, sizeof(buf)), "31");
	assert_string_equal(get(f->root_fd, "memory/berth-test/c1/cgroup.procs", buf, sizeof(buf)), "777");

	/* A hierarchy without the cgroup: the error names the pid, the path and the hierarchy. */
	assert_int_equal(unlinkat(f->root_fd, "freezer/berth-test/c1/cgroup.procs", 0), 0);
	assert_int_equal(cgroup_enter(&f->cg, 5, true, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "process 5"));
	assert_non_null(strstr(err.msg, "'freezer'"));
}

/* The movers: one "tasks" file per v1 hierarchy (not the unified one), "0" written into each. */
static void test_movers(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	struct cgroup_movers m = {0};
	char buf[64], path[128];
	const char *v1[] = {"memory", "pids", "cpuset", "cpu,cpuacct", "freezer"};

	build_hybrid(f->root_fd);
	resolve_ok(f, "/berth-test/c1", "c1");
	create_ok(f);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/berth-test/c1/tasks", v1[i]);
		put(f->root_fd, path, "");
	}
	assert_int_equal(cgroup_movers_open(&f->cg, &m, &err), 0);
	assert_int_equal(m.n, 5);
	assert_int_equal(cgroup_movers_enter_self(&f->cg, &m, &err), 0);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/berth-test/c1/tasks", v1[i]);
		assert_string_equal(get(f->root_fd, path, buf, sizeof(buf)), "0");
	}
	cgroup_movers_close(&m);
	assert_int_equal(m.n, 0);

	/* A hierarchy without its tasks file: nothing stays open, the error names the hierarchy. */
	assert_int_equal(unlinkat(f->root_fd, "pids/berth-test/c1/tasks", 0), 0);
	assert_int_equal(cgroup_movers_open(&f->cg, &m, &err), -ENOENT);
	assert_int_equal(m.n, 0);
	assert_non_null(strstr(err.msg, "'pids'"));
}

static void test_open_unified(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	struct stat a, b;

	build_hybrid(f->root_fd);
	resolve_ok(f, "/berth-test/c1", "c1");
	assert_int_equal(cgroup_open_unified(&f->cg, &err), -ENOENT); /* not created yet */
	create_ok(f);
	int fd = cgroup_open_unified(&f->cg, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstatat(f->root_fd, "unified/berth-test/c1", &b, 0), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	cgroup_free(&f->cg);
	memset(&f->cg, 0, sizeof(f->cg));
	build_legacy(f->root_fd);
	assert_int_equal(unlinkat(f->root_fd, "unified/cgroup.controllers", 0), 0);
	resolve_ok(f, "/berth-test/c1", "c1");
	assert_int_equal(cgroup_open_unified(&f->cg, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no cgroup2"));
}

static void test_pids(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	pid_t *pids = NULL;
	size_t n = 99;

	build_legacy(f->root_fd);
	resolve_ok(f, "/c", "c");
	/* Legacy: "pids" is preferred over the first hierarchy, "memory"; v1 may repeat a pid. */
	put(f->root_fd, "memory/c/cgroup.procs", "1\n");
	put(f->root_fd, "pids/c/cgroup.procs", "30\n10\n30\n20\n");
	assert_int_equal(cgroup_pids(&f->cg, &pids, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 10);
	assert_int_equal(pids[1], 20);
	assert_int_equal(pids[2], 30);
	free(pids);

	pids = NULL;
	put(f->root_fd, "pids/c/cgroup.procs", "");
	assert_int_equal(cgroup_pids(&f->cg, &pids, &n, &err), 0);
	assert_int_equal(n, 0);
	free(pids);

	pids = NULL;
	put(f->root_fd, "pids/c/cgroup.procs", "12\nabc\n");
	assert_int_equal(cgroup_pids(&f->cg, &pids, &n, &err), -EBADMSG);
	assert_null(pids);
	assert_non_null(strstr(err.msg, "/c"));

	/* Hybrid: the unified listing wins. */
	cgroup_free(&f->cg);
	memset(&f->cg, 0, sizeof(f->cg));
	put(f->root_fd, "unified/cgroup.controllers", "");
	put(f->root_fd, "unified/c/cgroup.procs", "7\n");
	resolve_ok(f, "/c", "c");
	assert_int_equal(cgroup_pids(&f->cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], 7);
	free(pids);
}

static bool frozen_state(struct fake *f)
{
	bool frozen = false;
	int r = cgroup_is_frozen(&f->cg, &frozen);
	if (r < 0)
		fail_msg("is_frozen: %s", strerror(-r));
	return frozen;
}

static void test_is_frozen(void **state)
{
	struct fake *f = *state;
	bool frozen;

	build_hybrid(f->root_fd);
	resolve_ok(f, "/c", "c");
	assert_int_equal(cgroup_is_frozen(&f->cg, &frozen), -ENOENT);
	put(f->root_fd, "unified/c/cgroup.freeze", "0\n");
	put(f->root_fd, "unified/c/cgroup.events", "populated 1\nfrozen 0\n");
	assert_false(frozen_state(f));
	put(f->root_fd, "unified/c/cgroup.freeze", "1\n");
	assert_true(frozen_state(f));
	/* Frozen through an ancestor: cgroup.freeze is 0 but the kernel reports frozen. */
	put(f->root_fd, "unified/c/cgroup.freeze", "0\n");
	put(f->root_fd, "unified/c/cgroup.events", "populated 1\nfrozen 1\n");
	assert_true(frozen_state(f));
	/* Paused through the v1 freezer. */
	put(f->root_fd, "unified/c/cgroup.events", "populated 1\nfrozen 0\n");
	put(f->root_fd, "freezer/c/freezer.state", "FREEZING\n");
	assert_false(frozen_state(f));
	put(f->root_fd, "freezer/c/freezer.state", "FROZEN\n");
	assert_true(frozen_state(f));

	/* Legacy: only freezer.state counts. */
	cgroup_free(&f->cg);
	memset(&f->cg, 0, sizeof(f->cg));
	assert_int_equal(unlinkat(f->root_fd, "unified/cgroup.controllers", 0), 0);
	resolve_ok(f, "/c", "c");
	assert_int_equal(f->cg.layout, CGROUP_LAYOUT_LEGACY);
	assert_true(frozen_state(f));
	put(f->root_fd, "freezer/c/freezer.state", "THAWED\n");
	assert_false(frozen_state(f));
}

/* The directory CRIU must freeze through: the unified one whose own cgroup.freeze is set, else
 * the v1 freezer that says FROZEN; not a cgroup frozen only through an ancestor. */
static void test_frozen_dir(void **state)
{
	struct fake *f = *state;
	char dir[256];

	build_hybrid(f->root_fd);
	resolve_ok(f, "/c", "c");
	put(f->root_fd, "unified/c/cgroup.freeze", "0\n");
	put(f->root_fd, "unified/c/cgroup.events", "populated 1\nfrozen 1\n");
	put(f->root_fd, "freezer/c/freezer.state", "THAWED\n");
	assert_int_equal(cgroup_frozen_dir(&f->cg, dir, sizeof(dir)), -ENOENT);
	put(f->root_fd, "freezer/c/freezer.state", "FROZEN\n");
	assert_int_equal(cgroup_frozen_dir(&f->cg, dir, sizeof(dir)), 0);
	assert_string_equal(dir, "freezer/c");
	put(f->root_fd, "unified/c/cgroup.freeze", "1\n");
	assert_int_equal(cgroup_frozen_dir(&f->cg, dir, sizeof(dir)), 0);
	assert_string_equal(dir, "unified/c");
}

static void test_freeze_files(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	char buf[32];

	build_hybrid(f->root_fd);
	resolve_ok(f, "/c", "c");
	put(f->root_fd, "unified/c/cgroup.freeze", "0\n");
	/* The fake kernel already reports the wanted state. */
	put(f->root_fd, "unified/c/cgroup.events", "populated 1\nfrozen 1\n");
	assert_int_equal(cgroup_freeze(&f->cg, true, &err), 0);
	assert_string_equal(get(f->root_fd, "unified/c/cgroup.freeze", buf, sizeof(buf)), "1");

	/* The kernel never reports frozen: time out, and leave the cgroup thawed. */
	put(f->root_fd, "unified/c/cgroup.events", "populated 1\nfrozen 0\n");
	assert_int_equal(cgroup_freeze(&f->cg, true, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "did not report it frozen"));
	assert_string_equal(get(f->root_fd, "unified/c/cgroup.freeze", buf, sizeof(buf)), "0");

	/* Thaw also undoes a v1 freezer pause. */
	put(f->root_fd, "freezer/c/freezer.state", "FROZEN\n");
	assert_int_equal(cgroup_freeze(&f->cg, false, &err), 0);
	assert_string_equal(get(f->root_fd, "freezer/c/freezer.state", buf, sizeof(buf)), "THAWED");

	/* Legacy: freezer.state is written (a plain file reads back what was written). */
	cgroup_free(&f->cg);
	memset(&f->cg, 0, sizeof(f->cg));
	assert_int_equal(unlinkat(f->root_fd, "unified/cgroup.controllers", 0), 0);
	resolve_ok(f, "/c", "c");
	assert_int_equal(cgroup_freeze(&f->cg, true, &err), 0);
	assert_string_equal(get(f->root_fd, "freezer/c/freezer.state", buf, sizeof(buf)), "FROZEN");
	assert_int_equal(cgroup_freeze(&f->cg, false, &err), 0);
	assert_string_equal(get(f->root_fd, "freezer/c/freezer.state", buf, sizeof(buf)), "THAWED");
}

static void test_freeze_unavailable(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};

	put(f->root_fd, "memory/cgroup.procs", "");
	resolve_ok(f, "/c", "c");
	assert_int_equal(cgroup_freeze(&f->cg, true, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no usable freezer"));
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void test_signal_all_listed(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	char buf[32];
	int status;

	build_legacy(f->root_fd);
	resolve_ok(f, "/c", "c");
	pid_t child = spawn_sleeper();
	snprintf(buf, sizeof(buf), "%d\n", (int)child);
	put(f->root_fd, "pids/c/cgroup.procs", buf);
	assert_int_equal(cgroup_signal_all(&f->cg, SIGTERM, &err), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);

	/* Unified with cgroup.kill: SIGKILL is one write there. */
	cgroup_free(&f->cg);
	memset(&f->cg, 0, sizeof(f->cg));
	put(f->root_fd, "unified/cgroup.controllers", "");
	put(f->root_fd, "unified/c/cgroup.kill", "");
	resolve_ok(f, "/c", "c");
	assert_int_equal(cgroup_signal_all(&f->cg, SIGKILL, &err), 0);
	assert_string_equal(get(f->root_fd, "unified/c/cgroup.kill", buf, sizeof(buf)), "1");
}

static void test_destroy(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};

	build_hybrid(f->root_fd);
	resolve_ok(f, "/berth-test/c1", "c1");
	create_ok(f);
	/* A plain directory with files answers ENOTEMPTY, which cgroupfs never does: the error
	 * path is reported with the hierarchy, and the others are still removed. */
	put(f->root_fd, "memory/berth-test/c1/junk", "");
	assert_int_equal(cgroup_destroy(&f->cg, &err), -ENOTEMPTY);
	assert_non_null(strstr(err.msg, "'memory'"));
	assert_false(is_dir(f->root_fd, "unified/berth-test/c1"));
	assert_false(is_dir(f->root_fd, "freezer/berth-test/c1"));
	assert_true(is_dir(f->root_fd, "memory/berth-test/c1"));

	assert_int_equal(unlinkat(f->root_fd, "memory/berth-test/c1/junk", 0), 0);
	assert_int_equal(unlinkat(f->root_fd, "cpuset/berth-test/c1/cpuset.cpus", 0), 0);
	assert_int_equal(unlinkat(f->root_fd, "cpuset/berth-test/c1/cpuset.mems", 0), 0);
	assert_int_equal(cgroup_destroy(&f->cg, &err), 0);
	const char *hs[] = {"unified", "memory", "pids", "cpuset", "cpu,cpuacct", "freezer"};
	char path[128];
	for (size_t i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/berth-test/c1", hs[i]);
		assert_false(is_dir(f->root_fd, path));
		snprintf(path, sizeof(path), "%s/berth-test", hs[i]);
		assert_true(is_dir(f->root_fd, path)); /* shared parents stay */
	}
	/* Already gone: success. */
	assert_int_equal(cgroup_destroy(&f->cg, &err), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_setup, fake_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_detect_unified),
	    T(test_detect_hybrid),
	    T(test_detect_legacy),
	    T(test_detect_cached),
	    T(test_detect_duplicate_mount),
	    T(test_detect_nothing),
	    T(test_resolve_absolute_and_default),
	    T(test_resolve_rejects),
	    T(test_resolve_relative_hybrid),
	    T(test_resolve_relative_self),
	    T(test_create_hybrid),
	    T(test_create_rollback),
	    T(test_enter),
	    T(test_movers),
	    T(test_open_unified),
	    T(test_pids),
	    T(test_is_frozen),
	    T(test_frozen_dir),
	    T(test_freeze_files),
	    T(test_freeze_unavailable),
	    T(test_signal_all_listed),
	    T(test_destroy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
