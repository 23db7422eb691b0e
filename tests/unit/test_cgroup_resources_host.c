/* Resource writers against the real kernel's v1 hierarchies (a hybrid or legacy host): needs root
 * and a v1 memory hierarchy, else exits 77. Each test's cgroup is /berth-test/res-<pid>-<n> in
 * every hierarchy, made with cgroup_create() and removed in teardown (with /berth-test where this
 * test made it). Only processes this test forks are moved into it or signalled. */
#include <errno.h>
#include <fcntl.h>
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
#include "berth/oci.h"
#include "../../cgroups/resources.h"

#define HOST_ROOT "/sys/fs/cgroup"
#define PARENT "berth-test"
#define MiB (1024 * 1024LL)

struct host {
	int root_fd;
	struct cgroup cg;
	char path[64];
	bool parent_existed[CG_HIER_MAX];
	pid_t kid;
	int go[2]; /* the parent writes one byte per command to the child */
	int done[2];
	struct berth_error err;
};

static int seq;

static bool exists_at(int root_fd, const struct cg_hier *h, const char *path)
{
	struct cg_hier at = {.dir = h->dir, .path = path, .unified = h->unified};
	char rel[CG_RELPATH_MAX];
	struct stat st;
	return cg_relpath(&at, rel, sizeof(rel)) == 0 && fstatat(root_fd, rel, &st, 0) == 0;
}

static int setup(void **state)
{
	struct host *h = calloc(1, sizeof(*h));
	struct cg_hier hs[CG_HIER_MAX];
	bool created = false;

	if (!h)
		return -1;
	*state = h;
	h->go[0] = h->go[1] = h->done[0] = h->done[1] = -1;
	snprintf(h->path, sizeof(h->path), "/" PARENT "/res-%d-%d", (int)getpid(), ++seq);
	h->root_fd = open(HOST_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->root_fd < 0 || cgroup_resolve(h->root_fd, h->path, "res", &h->cg, &h->err) < 0) {
		fprintf(stderr, "setup: %s\n", h->err.msg);
		return -1;
	}
	size_t n = cg_hierarchies(&h->cg, hs);
	for (size_t i = 0; i < n; i++)
		h->parent_existed[i] = exists_at(h->root_fd, &hs[i], "/" PARENT);
	if (cgroup_create(&h->cg, &created, &h->err) < 0 || !created) {
		fprintf(stderr, "setup: create %s: %s\n", h->path, h->err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct host *h = *state;
	struct cg_hier hs[CG_HIER_MAX];
	int ret = 0;

	if (h->kid > 0) {
		kill(h->kid, SIGKILL);
		waitpid(h->kid, NULL, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (h->go[i] >= 0)
			close(h->go[i]);
		if (h->done[i] >= 0)
			close(h->done[i]);
	}
	if (h->cg.path) {
		if (cgroup_destroy(&h->cg, &h->err) < 0) {
			fprintf(stderr, "teardown: %s\n", h->err.msg);
			ret = -1;
		}
		size_t n = cg_hierarchies(&h->cg, hs);
		for (size_t i = 0; i < n; i++) {
			struct cg_hier parent = {.dir = hs[i].dir, .path = "/" PARENT};
			char rel[CG_RELPATH_MAX];
			if (!h->parent_existed[i] && cg_relpath(&parent, rel, sizeof(rel)) == 0)
				unlinkat(h->root_fd, rel, AT_REMOVEDIR); /* EBUSY: another test's */
		}
	}
	cgroup_free(&h->cg);
	if (h->root_fd >= 0)
		close(h->root_fd);
	free(h);
	return ret;
}

static const char *v1_file(struct host *h, const char *controller, const char *file)
{
	static char buf[256];
	struct cg_hier hier;
	char rel[CG_RELPATH_MAX];

	if (!cg_find_v1(&h->cg, controller, &hier))
		fail_msg("no v1 %s hierarchy", controller);
	assert_int_equal(cg_relpath(&hier, rel, sizeof(rel)), 0);
	int fd = openat(h->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	int r = cg_read(fd, file, buf, sizeof(buf));
	close(fd);
	if (r < 0)
		fail_msg("read %s/%s: %s", rel, file, strerror(-r));
	return buf;
}

static void apply_ok(struct host *h, const struct oci_resources *res, bool is_update)
{
	berth_error_clear(&h->err);
	if (cgroup_enable_controllers(&h->cg, res, &h->err) < 0)
		fail_msg("enable controllers: %s", h->err.msg);
	if (cgroup_apply_resources(&h->cg, res, is_update, &h->err) < 0)
		fail_msg("apply: %s", h->err.msg);
}

/* A child in the cgroup that touches @touch bytes, then per byte received opens the device it
 * names ('n' /dev/null, 'z' /dev/zero, 'f' /dev/full; upper case for writing) and reports the
 * errno. */
static void spawn_kid(struct host *h, size_t touch)
{
	assert_int_equal(pipe2(h->go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(h->done, O_CLOEXEC), 0);
	h->kid = fork();
	assert_true(h->kid >= 0);
	if (h->kid == 0) {
		char cmd;
		if (read(h->go[0], &cmd, 1) != 1)
			_exit(1);
		/* volatile: the compiler must not drop stores to memory nobody reads */
		volatile char *mem = touch ? malloc(touch) : NULL;
		for (size_t i = 0; mem && i < touch; i += 4096)
			mem[i] = 1;
		int ready = 0;
		if (write(h->done[1], &ready, sizeof(ready)) != sizeof(ready))
			_exit(1);
		while (read(h->go[0], &cmd, 1) == 1) {
			const char *dev = (cmd | 0x20) == 'n'   ? "/dev/null"
					  : (cmd | 0x20) == 'z' ? "/dev/zero"
								: "/dev/full";
			int fd = open(dev, (cmd & 0x20 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
			int e = fd < 0 ? errno : 0;
			if (fd >= 0)
				close(fd);
			if (write(h->done[1], &e, sizeof(e)) != sizeof(e))
				_exit(1);
		}
		_exit(0);
	}
	if (cgroup_enter(&h->cg, h->kid, false, &h->err) < 0)
		fail_msg("enter: %s", h->err.msg);
	int ready = -1;
	assert_int_equal(write(h->go[1], "s", 1), 1);
	assert_int_equal(read(h->done[0], &ready, sizeof(ready)), sizeof(ready));
	assert_int_equal(ready, 0);
}

static int kid_open(struct host *h, char cmd)
{
	int e = -1;
	assert_int_equal(write(h->go[1], &cmd, 1), 1);
	assert_int_equal(read(h->done[0], &e, sizeof(e)), sizeof(e));
	return e;
}

/* The acceptance set: memory 64 MiB, cpu shares 512 with a 50% quota, pids 100, and a device
 * allowlist; read back from the kernel's files, and enforced for a process inside. */
static void test_apply_and_read_back(void **state)
{
	struct host *h = *state;
	struct oci_device_cgroup rules[] = {
	    {.allow = false, .type = 'a'},
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 3,
	     .access = "rwm"},
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 7,
	     .access = "r"},
	};
	struct oci_resources res = {.has_memory = true, .has_cpu = true, .has_pids = true, .pids_limit = 100};
	char before[256] = "";

	res.memory.has_limit = true;
	res.memory.limit = 64 * MiB;
	res.cpu.has_shares = res.cpu.has_quota = res.cpu.has_period = true;
	res.cpu.shares = 512;
	res.cpu.quota = 50000;
	res.cpu.period = 100000;
	res.devices = rules;
	res.n_devices = 3;
	if (h->cg.has_unified)
		cg_read(h->root_fd, "unified/cgroup.subtree_control", before, sizeof(before));
	apply_ok(h, &res, false);

	assert_string_equal(v1_file(h, "memory", "memory.limit_in_bytes"), "67108864");
	assert_string_equal(v1_file(h, "cpu", "cpu.shares"), "512");
	assert_string_equal(v1_file(h, "cpu", "cpu.cfs_quota_us"), "50000");
	assert_string_equal(v1_file(h, "cpu", "cpu.cfs_period_us"), "100000");
	assert_string_equal(v1_file(h, "pids", "pids.max"), "100");
	assert_string_equal(v1_file(h, "devices", "devices.list"), "c 1:3 rwm\nc 1:7 r");
	/* everything came from v1: the shared cgroup2 root was not touched */
	if (h->cg.has_unified) {
		char after[256] = "";
		cg_read(h->root_fd, "unified/cgroup.subtree_control", after, sizeof(after));
		assert_string_equal(after, before);
	}

	spawn_kid(h, 0);
	assert_int_equal(kid_open(h, 'n'), 0);
	assert_int_equal(kid_open(h, 'N'), 0);
	assert_int_equal(kid_open(h, 'z'), EPERM);
	assert_int_equal(kid_open(h, 'f'), 0);     /* 1:7 may be read ... */
	assert_int_equal(kid_open(h, 'F'), EPERM); /* ... not written */

	/* An update to "everything but /dev/zero" */
	struct oci_device_cgroup deny_zero[] = {
	    {.allow = true, .type = 'a'},
	    {.allow = false, .type = 'c', .has_major = true, .major = 1, .has_minor = true, .minor = 5},
	};
	struct oci_resources upd = {.devices = deny_zero, .n_devices = 2};
	apply_ok(h, &upd, true);
	assert_int_equal(kid_open(h, 'z'), EPERM);
	assert_int_equal(kid_open(h, 'Z'), EPERM);
	assert_int_equal(kid_open(h, 'F'), 0);
	assert_int_equal(kid_open(h, 'n'), 0);
}

/* The kernel keeps memsw >= limit: raising and lowering both only work in the right order. */
static void test_memory_swap_order(void **state)
{
	struct host *h = *state;
	struct oci_resources res = {.has_memory = true};

	if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) < 0)
		skip();
	res.memory.has_limit = res.memory.has_swap = true;
	res.memory.limit = 64 * MiB;
	res.memory.swap = 96 * MiB;
	apply_ok(h, &res, false);
	assert_string_equal(v1_file(h, "memory", "memory.limit_in_bytes"), "67108864");
	assert_string_equal(v1_file(h, "memory", "memory.memsw.limit_in_bytes"), "100663296");
	/* raise both above the current memsw: memsw must go first */
	res.memory.limit = 256 * MiB;
	res.memory.swap = 512 * MiB;
	apply_ok(h, &res, true);
	assert_string_equal(v1_file(h, "memory", "memory.limit_in_bytes"), "268435456");
	assert_string_equal(v1_file(h, "memory", "memory.memsw.limit_in_bytes"), "536870912");
	/* lower both below the current limit: the limit must go first */
	res.memory.limit = 32 * MiB;
	res.memory.swap = 48 * MiB;
	apply_ok(h, &res, true);
	assert_string_equal(v1_file(h, "memory", "memory.limit_in_bytes"), "33554432");
	assert_string_equal(v1_file(h, "memory", "memory.memsw.limit_in_bytes"), "50331648");
	/* back to unlimited */
	memset(&res.memory, 0, sizeof(res.memory));
	res.memory.has_limit = true;
	res.memory.limit = -1;
	apply_ok(h, &res, true);
	assert_string_equal(v1_file(h, "memory", "memory.limit_in_bytes"), "9223372036854771712");
	assert_string_equal(v1_file(h, "memory", "memory.memsw.limit_in_bytes"), "9223372036854771712");
}

/* checkBeforeUpdate against the real usage, and the statistics of a populated cgroup. */
static void test_check_before_update_and_stats(void **state)
{
	struct host *h = *state;
	struct oci_resources res = {.has_memory = true, .has_pids = true, .pids_limit = 20};
	struct cgroup_stats *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	res.memory.has_limit = true;
	res.memory.limit = 64 * MiB;
	apply_ok(h, &res, false);
	spawn_kid(h, 4 * MiB);

	res.memory.limit = 1 * MiB;
	res.memory.has_check_before_update = res.memory.check_before_update = true;
	assert_int_equal(cgroup_apply_resources(&h->cg, &res, true, &h->err), -EBUSY);
	assert_non_null(
	    strstr(h->err.msg, "linux.resources.memory.limit: 1048576 bytes is below the current usage"));
	assert_string_equal(v1_file(h, "memory", "memory.limit_in_bytes"), "67108864");

	if (cgroup_stats_read(&h->cg, st, &h->err) < 0)
		fail_msg("stats: %s", h->err.msg);
	assert_true(st->has_memory && st->has_pids && st->has_cpu);
	assert_true(st->memory.usage.usage >= 4 * MiB);
	assert_int_equal(st->memory.usage.limit, 64 * MiB);
	assert_true(st->memory.n_raw > 10);
	assert_int_equal(st->pids.current, 1);
	assert_int_equal(st->pids.limit, 20);
	uint64_t ooms = 99;
	assert_int_equal(cgroup_oom_count(&h->cg, &ooms), 0);
	assert_int_equal(ooms, 0);
	free(st);
}

/* Errors from the kernel name the field. */
static void test_kernel_refusal_names_field(void **state)
{
	struct host *h = *state;
	struct oci_resources res = {.has_cpu = true};

	res.cpu.cpus = "0-4095"; /* no such CPUs here */
	assert_true(cgroup_apply_resources(&h->cg, &res, false, &h->err) < 0);
	assert_non_null(strstr(h->err.msg, "linux.resources.cpu.cpus: write cpuset.cpus: "));
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip: the v1 resource tests need root\n");
		return 77;
	}
	if (access(HOST_ROOT "/memory/cgroup.procs", F_OK) < 0 ||
	    access(HOST_ROOT "/cgroup.controllers", F_OK) == 0) {
		fprintf(stderr, "skip: no v1 memory hierarchy at " HOST_ROOT
				"/memory (not a hybrid or legacy host)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_apply_and_read_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_memory_swap_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_before_update_and_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kernel_refusal_names_field, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
