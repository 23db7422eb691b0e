/* cgroups module against the real kernel: needs root and a cgroup2 tree (pure v2 or hybrid),
 * else exits 77. Every cgroup lives at /berth-test/unit-<pid>-<n> and is removed by the
 * fixture's teardown, also when an assertion fails. Only processes this test forks are put in
 * a test cgroup or signalled. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/cgroups.h"
#include "berth/error.h"
#include "../../cgroups/internal.h"

#define HOST_ROOT "/sys/fs/cgroup"
#define TEST_PARENT "berth-test"
#define MAX_KIDS 8

struct host {
	int root_fd;
	struct cgroup cg;
	char path[64];
	bool parent_existed[CG_HIER_MAX];
	pid_t kids[MAX_KIDS];
	size_t n_kids;
	volatile uint64_t *counter; /* shared with a busy child, to see it stop when frozen */
};

static int test_seq;

static bool exists_at(int root_fd, const struct cg_hier *h, const char *path)
{
	struct cg_hier at = {.dir = h->dir, .path = path, .unified = h->unified};
	char rel[CG_RELPATH_MAX];
	struct stat st;
	return cg_relpath(&at, rel, sizeof(rel)) == 0 && fstatat(root_fd, rel, &st, 0) == 0;
}

static int host_setup(void **state)
{
	struct host *h = calloc(1, sizeof(*h));
	struct berth_error err = {0};
	struct cg_hier hs[CG_HIER_MAX];

	if (!h)
		return -1;
	*state = h;
	snprintf(h->path, sizeof(h->path), "/" TEST_PARENT "/unit-%d-%d", (int)getpid(), ++test_seq);
	h->root_fd = open(HOST_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->root_fd < 0 || cgroup_resolve(h->root_fd, h->path, "unit", &h->cg, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	size_t n = cg_hierarchies(&h->cg, hs);
	for (size_t i = 0; i < n; i++)
		h->parent_existed[i] = exists_at(h->root_fd, &hs[i], "/" TEST_PARENT);
	h->counter =
	    mmap(NULL, sizeof(*h->counter), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return h->counter == MAP_FAILED ? -1 : 0;
}

/* Kill and reap our children (and, as subreaper, their orphans), remove the leaf, and the
 * shared parent if this test made it and nobody else uses it. */
static int host_teardown(void **state)
{
	struct host *h = *state;
	struct berth_error err = {0};
	struct cg_hier hs[CG_HIER_MAX];
	int ret = 0;

	for (size_t i = 0; i < h->n_kids; i++)
		kill(h->kids[i], SIGKILL);
	if (h->cg.path) {
		cgroup_freeze(&h->cg, false, NULL);
		if (cgroup_destroy(&h->cg, &err) < 0) {
			fprintf(stderr, "teardown: %s\n", err.msg);
			ret = -1;
		}
		size_t n = cg_hierarchies(&h->cg, hs);
		for (size_t i = 0; i < n; i++) {
			struct cg_hier parent = {.dir = hs[i].dir, .path = "/" TEST_PARENT};
			char rel[CG_RELPATH_MAX];
			if (!h->parent_existed[i] && cg_relpath(&parent, rel, sizeof(rel)) == 0)
				unlinkat(h->root_fd, rel, AT_REMOVEDIR); /* EBUSY: another test's */
		}
	}
	for (size_t i = 0; i < h->n_kids; i++)
		waitpid(h->kids[i], NULL, 0);
	/* Orphaned grandchildren: dead by now (they were in the cgroup), maybe not yet reparented. */
	for (int i = 0; i < 50 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
		usleep(10000);
	if (h->counter && h->counter != MAP_FAILED)
		munmap((void *)h->counter, sizeof(*h->counter));
	cgroup_free(&h->cg);
	if (h->root_fd >= 0)
		close(h->root_fd);
	free(h);
	return ret;
}

static void create_ok(struct host *h)
{
	struct berth_error err = {0};
	bool created = false;
	if (cgroup_create(&h->cg, &created, &err) < 0)
		fail_msg("create %s: %s", h->path, err.msg);
	assert_true(created);
}

static void enter_ok(struct host *h, pid_t pid, bool skip_unified)
{
	struct berth_error err = {0};
	if (cgroup_enter(&h->cg, pid, skip_unified, &err) < 0)
		fail_msg("enter %d: %s", (int)pid, err.msg);
}

/* A child that sleeps (or spins on the shared counter), optionally after forking a grandchild
 * whose pid it reports through *ret_grandchild. */
static pid_t spawn(struct host *h, bool busy, pid_t *ret_grandchild)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_true(h->n_kids + 2 <= MAX_KIDS);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t g = ret_grandchild ? fork() : 0;
		if (g == 0 && ret_grandchild)
			for (;;)
				pause();
		if (write(p[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		for (;;) {
			if (busy)
				(*h->counter)++;
			else
				pause();
		}
	}
	h->kids[h->n_kids++] = pid;
	pid_t g = 0;
	assert_int_equal(read(p[0], &g, sizeof(g)), sizeof(g));
	close(p[0]);
	close(p[1]);
	if (ret_grandchild) {
		/* Ours to kill in teardown too: if the test fails before it joins the cgroup,
		 * nothing else would end it. */
		assert_true(g > 0 && h->n_kids < MAX_KIDS);
		h->kids[h->n_kids++] = g;
		*ret_grandchild = g;
	}
	return pid;
}

/* The path of @pid in hierarchy @hier, from /proc/<pid>/cgroup. */
static bool proc_cgroup_of(pid_t pid, const struct cg_hier *hier, char *out, size_t size)
{
	char file[64], text[4096];
	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	assert_true(cg_read(AT_FDCWD, file, text, sizeof(text)) > 0);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool match =
		    hier->unified ? strcmp(line, "0:") == 0 : cg_controllers_overlap(c1 + 1, hier->dir);
		if (match) {
			snprintf(out, size, "%s", c2 + 1);
			return true;
		}
	}
	return false;
}

static void assert_placed(struct host *h, pid_t pid, bool unified, bool v1)
{
	struct cg_hier hs[CG_HIER_MAX];
	char where[4096];
	size_t n = cg_hierarchies(&h->cg, hs);

	for (size_t i = 0; i < n; i++) {
		if (hs[i].unified ? !unified : !v1)
			continue;
		if (!proc_cgroup_of(pid, &hs[i], where, sizeof(where)))
			fail_msg("/proc/%d/cgroup has no line for hierarchy %s", (int)pid,
				 hs[i].dir ? hs[i].dir : "unified");
		if (strcmp(where, hs[i].path) != 0)
			fail_msg("pid %d is in '%s' in hierarchy %s, expected '%s'", (int)pid, where,
				 hs[i].dir ? hs[i].dir : "unified", hs[i].path);
	}
}

/* Reap @pid and forget it, so teardown never signals a pid that may have been reused. */
static int reap(struct host *h, pid_t pid)
{
	int status = 0;
	pid_t r = waitpid(pid, &status, 0);
	for (size_t i = 0; i < h->n_kids; i++) {
		if (h->kids[i] == pid)
			h->kids[i] = h->kids[--h->n_kids];
	}
	assert_int_equal(r, pid);
	return status;
}

static void assert_killed_by(struct host *h, pid_t pid, int sig)
{
	int status = reap(h, pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != sig)
		fail_msg("pid %d ended with status 0x%x, expected signal %d", (int)pid, status, sig);
}

static void test_host_layout(void **state)
{
	struct host *h = *state;
	struct statfs sf;

	assert_true(h->cg.has_unified);
	if (h->cg.layout == CGROUP_LAYOUT_UNIFIED) {
		assert_int_equal(fstatfs(h->root_fd, &sf), 0);
		assert_true(sf.f_type == CGROUP2_SUPER_MAGIC);
		return;
	}
	assert_int_equal(h->cg.layout, CGROUP_LAYOUT_HYBRID);
	assert_true(h->cg.n_v1 > 0);
	for (size_t i = 0; i < h->cg.n_v1; i++) {
		char path[256];
		snprintf(path, sizeof(path), HOST_ROOT "/%s", h->cg.v1[i]);
		assert_int_equal(statfs(path, &sf), 0);
		assert_true(sf.f_type == CGROUP_SUPER_MAGIC);
		assert_string_not_equal(h->cg.v1[i], "systemd");
	}
	assert_int_equal(statfs(HOST_ROOT "/unified", &sf), 0);
	assert_true(sf.f_type == CGROUP2_SUPER_MAGIC);
}

static void test_host_enter(void **state)
{
	struct host *h = *state;
	struct berth_error err = {0};
	struct cg_hier hs[CG_HIER_MAX];
	pid_t *pids = NULL;
	size_t n = 0;

	create_ok(h);
	size_t nh = cg_hierarchies(&h->cg, hs);
	for (size_t i = 0; i < nh; i++)
		assert_true(exists_at(h->root_fd, &hs[i], h->path));
	pid_t kid = spawn(h, false, NULL);
	enter_ok(h, kid, false);
	assert_placed(h, kid, true, true);
	assert_int_equal(cgroup_pids(&h->cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], kid);
	free(pids);
}

/* cpuset: the new v1 cgroup inherited its parent's cpus/mems (or no process could join). */
static void test_host_cpuset(void **state)
{
	struct host *h = *state;
	struct cg_hier cs;
	char mine[256], parent[256];

	if (!cg_find_v1(&h->cg, "cpuset", &cs))
		skip();
	create_ok(h);
	int fd = cg_open(&h->cg, &cs);
	assert_true(fd >= 0);
	assert_true(cg_read(fd, "cpuset.cpus", mine, sizeof(mine)) > 0);
	assert_true(cg_read(fd, "../cpuset.cpus", parent, sizeof(parent)) > 0);
	assert_string_equal(mine, parent);
	assert_true(cg_read(fd, "cpuset.mems", mine, sizeof(mine)) > 0);
	close(fd);
}

static uint64_t counter_delta(struct host *h)
{
	uint64_t before = *h->counter;
	usleep(100000);
	return *h->counter - before;
}

static void check_freeze(struct host *h, const struct cgroup *cg, const char *how)
{
	struct berth_error err = {0};
	bool frozen = true;

	if (cgroup_freeze(cg, true, &err) < 0)
		fail_msg("freeze via %s: %s", how, err.msg);
	assert_int_equal(cgroup_is_frozen(cg, &frozen), 0);
	assert_true(frozen);
	assert_int_equal(counter_delta(h), 0);
	if (cgroup_freeze(cg, false, &err) < 0)
		fail_msg("thaw via %s: %s", how, err.msg);
	assert_int_equal(cgroup_is_frozen(cg, &frozen), 0);
	assert_false(frozen);
	assert_true(counter_delta(h) > 0);
}

static void test_host_freeze(void **state)
{
	struct host *h = *state;
	struct cg_hier u;
	char events[256];

	create_ok(h);
	pid_t kid = spawn(h, true, NULL);
	enter_ok(h, kid, false);
	assert_true(counter_delta(h) > 0);
	check_freeze(h, &h->cg, "cgroup.freeze");

	/* While frozen the kernel itself says so in cgroup.events. */
	struct berth_error err = {0};
	assert_int_equal(cgroup_freeze(&h->cg, true, &err), 0);
	assert_true(cg_find_unified(&h->cg, &u));
	int fd = cg_open(&h->cg, &u);
	assert_true(fd >= 0);
	assert_true(cg_read(fd, "cgroup.events", events, sizeof(events)) > 0);
	assert_non_null(strstr(events, "frozen 1"));
	assert_int_equal(cgroup_freeze(&h->cg, false, &err), 0);
	assert_true(cg_read(fd, "cgroup.events", events, sizeof(events)) > 0);
	assert_non_null(strstr(events, "frozen 0"));
	close(fd);

	/* The v1 freezer path, where the host has one: the same cgroup seen without cgroup2. */
	struct cg_hier fz;
	if (cg_find_v1(&h->cg, "freezer", &fz)) {
		struct cgroup v1only = h->cg; /* shallow: strings stay owned by h->cg */
		v1only.has_unified = false;
		v1only.layout = CGROUP_LAYOUT_LEGACY;
		check_freeze(h, &v1only, "freezer.state");
	}
}

/* clone3(CLONE_INTO_CGROUP) with the descriptor from cgroup_open_unified(). */
static void test_host_clone_into_cgroup(void **state)
{
	struct host *h = *state;
	struct berth_error err = {0};

	create_ok(h);
	int fd = cgroup_open_unified(&h->cg, &err);
	if (fd < 0)
		fail_msg("open unified: %s", err.msg);
	struct clone_args args = {
	    .flags = CLONE_INTO_CGROUP,
	    .exit_signal = SIGCHLD,
	    .cgroup = (uint64_t)fd,
	};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		for (;;)
			pause();
	}
	int saved = errno;
	close(fd);
	if (pid < 0 && (saved == ENOSYS || saved == E2BIG))
		skip();
	assert_true(pid > 0);
	h->kids[h->n_kids++] = (pid_t)pid;
	assert_placed(h, (pid_t)pid, true, false);
	/* The parent then moves it into the v1 hierarchies only. */
	enter_ok(h, (pid_t)pid, true);
	assert_placed(h, (pid_t)pid, true, true);
}

static void wait_empty(struct host *h)
{
	struct berth_error err = {0};
	pid_t *pids = NULL;
	size_t n = 1;

	for (int i = 0; i < 200 && n > 0; i++) {
		free(pids);
		pids = NULL;
		assert_int_equal(cgroup_pids(&h->cg, &pids, &n, &err), 0);
		if (n > 0)
			usleep(10000);
	}
	free(pids);
	assert_int_equal(n, 0);
}

static void test_host_signal_all(void **state)
{
	struct host *h = *state;
	struct berth_error err = {0};
	pid_t g1 = 0, g2 = 0;

	create_ok(h);
	/* Two children, each with a child of its own, all in the cgroup. */
	pid_t k1 = spawn(h, false, &g1);
	pid_t k2 = spawn(h, false, &g2);
	enter_ok(h, k1, false);
	enter_ok(h, g1, false);
	enter_ok(h, k2, false);
	enter_ok(h, g2, false);

	/* cgroup.kill in the unified tree. */
	assert_int_equal(cgroup_signal_all(&h->cg, SIGKILL, &err), 0);
	assert_killed_by(h, k1, SIGKILL);
	assert_killed_by(h, g1, SIGKILL); /* reparented to us when k1 died: we are the subreaper */
	assert_killed_by(h, k2, SIGKILL);
	assert_killed_by(h, g2, SIGKILL);
	wait_empty(h);

	/* Without cgroup2: every pid listed in the v1 hierarchy, a plain signal first. */
	if (h->cg.n_v1 == 0)
		return;
	struct cgroup v1only = h->cg;
	v1only.has_unified = false;
	v1only.layout = CGROUP_LAYOUT_LEGACY;
	pid_t k3 = spawn(h, false, NULL);
	enter_ok(h, k3, false);
	assert_int_equal(cgroup_signal_all(&v1only, SIGTERM, &err), 0);
	assert_killed_by(h, k3, SIGTERM);
	pid_t k4 = spawn(h, false, NULL);
	enter_ok(h, k4, false);
	assert_int_equal(cgroup_signal_all(&v1only, SIGKILL, &err), 0);
	assert_killed_by(h, k4, SIGKILL);
}

/* destroy with a live process: killed, waited for, every leaf removed. */
static void test_host_destroy_busy(void **state)
{
	struct host *h = *state;
	struct berth_error err = {0};
	struct cg_hier hs[CG_HIER_MAX];

	create_ok(h);
	pid_t kid = spawn(h, false, NULL);
	enter_ok(h, kid, false);
	if (cgroup_destroy(&h->cg, &err) < 0)
		fail_msg("destroy: %s", err.msg);
	assert_killed_by(h, kid, SIGKILL);
	size_t n = cg_hierarchies(&h->cg, hs);
	for (size_t i = 0; i < n; i++)
		assert_false(exists_at(h->root_fd, &hs[i], h->path));
	assert_int_equal(cgroup_destroy(&h->cg, &err), 0); /* already gone */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, host_setup, host_teardown)

int main(void)
{
	if (geteuid() != 0) {
		printf("skipped: the cgroup host test needs root\n");
		return 77;
	}
	if (access(HOST_ROOT "/cgroup.controllers", F_OK) < 0 &&
	    access(HOST_ROOT "/unified/cgroup.controllers", F_OK) < 0) {
		printf("skipped: no cgroup2 tree at " HOST_ROOT " or " HOST_ROOT "/unified\n");
		return 77;
	}
	/* Orphaned grandchildren come back to us to be reaped, not to the machine's init. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    T(test_host_layout),
	    T(test_host_enter),
	    T(test_host_cpuset),
	    T(test_host_freeze),
	    T(test_host_clone_into_cgroup),
	    T(test_host_signal_all),
	    T(test_host_destroy_busy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
