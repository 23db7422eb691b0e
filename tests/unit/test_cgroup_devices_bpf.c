/* The device eBPF program against the real kernel: needs root and a cgroup2 tree (pure v2 at
 * /sys/fs/cgroup, or hybrid at /sys/fs/cgroup/unified), else exits 77. Each test makes its own
 * cgroup <cgroup2>/berth-test/bpf-<pid>-<n>, attaches programs there only, moves only children it
 * forks into it, and removes it in teardown (which also drops every program attached to it). */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/cgroups.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "../../cgroups/resources.h"

#define PARENT "berth-test"

struct host {
	char base[64];  /* the cgroup2 mount */
	char leaf[256]; /* "<base>/berth-test/bpf-<pid>-<n>" */
	char tmp[64];   /* a directory for mknod probes */
	bool made_parent;
	int fd;       /* the leaf cgroup directory */
	int other_fd; /* a program that is not ours, attached by a test; -1 when none */
};

static int seq;

static const char *cgroup2_base(void)
{
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup";
	if (access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0)
		return "/sys/fs/cgroup/unified";
	return NULL;
}

static int setup(void **state)
{
	struct host *h = calloc(1, sizeof(*h));
	char parent[160];

	if (!h)
		return -1;
	*state = h;
	h->fd = h->other_fd = -1;
	snprintf(h->base, sizeof(h->base), "%s", cgroup2_base());
	snprintf(parent, sizeof(parent), "%s/" PARENT, h->base);
	if (mkdir(parent, 0755) == 0)
		h->made_parent = true;
	else if (errno != EEXIST)
		return -1;
	snprintf(h->leaf, sizeof(h->leaf), "%s/bpf-%d-%d", parent, (int)getpid(), ++seq);
	if (mkdir(h->leaf, 0755) < 0)
		return -1;
	h->fd = open(h->leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(h->tmp, sizeof(h->tmp), "/tmp/berth-bpf-XXXXXX");
	if (!mkdtemp(h->tmp))
		return -1;
	return h->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct host *h = *state;
	char node[128];
	int ret = 0;

	if (h->other_fd >= 0)
		close(h->other_fd);
	if (h->fd >= 0)
		close(h->fd);
	/* Probe children have exited and been reaped: the cgroup is empty. Removing it releases
	 * every program attached to it. */
	if (h->leaf[0] && rmdir(h->leaf) < 0 && errno != ENOENT) {
		fprintf(stderr, "teardown: rmdir %s: %s\n", h->leaf, strerror(errno));
		ret = -1;
	}
	if (h->made_parent) {
		char parent[160];
		snprintf(parent, sizeof(parent), "%s/" PARENT, h->base);
		rmdir(parent); /* EBUSY: another test's */
	}
	if (h->tmp[0]) {
		snprintf(node, sizeof(node), "%s/node", h->tmp);
		unlink(node);
		rmdir(h->tmp);
	}
	free(h);
	return ret;
}

/* Fork a child, move it into the test cgroup, and run one device operation there:
 * open(@path, @flags), or mknod of a char device @major:@minor when @path is NULL.
 * Returns 0 when allowed, else the errno the child saw. */
static int probe(struct host *h, const char *path, int flags, unsigned major, unsigned minor)
{
	char node[128];
	snprintf(node, sizeof(node), "%s/node", h->tmp);
	unlink(node);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd = openat(h->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (cfd < 0 || write(cfd, "0", 1) != 1)
			_exit(200);
		close(cfd);
		int r =
		    path ? open(path, flags | O_CLOEXEC) : mknod(node, S_IFCHR | 0600, makedev(major, minor));
		_exit(r < 0 ? errno : 0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 200);
	return WEXITSTATUS(status);
}

static struct oci_device_cgroup rule(bool allow, char type, int64_t major, int64_t minor, const char *access)
{
	return (struct oci_device_cgroup){
	    .allow = allow,
	    .type = type,
	    .has_major = major >= 0,
	    .major = major,
	    .has_minor = minor >= 0,
	    .minor = minor,
	    .access = (char *)access,
	};
}

static void apply_ok(struct host *h, const struct oci_device_cgroup *rules, size_t n)
{
	struct berth_error err = {0};
	if (cgroup_devices_bpf_apply(h->fd, rules, n, &err) < 0)
		fail_msg("apply: %s", err.msg);
}

static size_t ours(struct host *h)
{
	struct berth_error err = {0};
	size_t n = 99;
	if (cgroup_devices_bpf_count(h->fd, &n, &err) < 0)
		fail_msg("count: %s", err.msg);
	return n;
}

/* How many device programs of any owner are attached directly to the cgroup. */
static uint32_t attached_total(struct host *h)
{
	uint32_t ids[16];
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)h->fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = 16;
	assert_int_equal(syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)), 0);
	return attr.query.prog_cnt;
}

/* deny all, allow /dev/null: /dev/null opens, /dev/zero does not. */
static void test_allow_one_device(void **state)
{
	struct host *h = *state;
	struct oci_device_cgroup rules[] = {rule(false, 'a', -1, -1, NULL), rule(true, 'c', 1, 3, "rwm")};

	assert_int_equal(probe(h, "/dev/zero", O_RDONLY, 0, 0), 0); /* no filter yet */
	apply_ok(h, rules, 2);
	assert_int_equal(ours(h), 1);
	assert_int_equal(probe(h, "/dev/null", O_RDWR, 0, 0), 0);
	assert_int_equal(probe(h, "/dev/zero", O_RDONLY, 0, 0), EPERM);
	assert_int_equal(probe(h, "/dev/full", O_WRONLY, 0, 0), EPERM);
	/* Outside the cgroup nothing changed. */
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
}

/* Access bits are decided one by one: read allowed, write and mknod not. */
static void test_partial_access(void **state)
{
	struct host *h = *state;
	struct oci_device_cgroup rules[] = {
	    rule(false, 'a', -1, -1, NULL), rule(true, 'c', 1, -1, "rwm"), /* every memory device... */
	    rule(false, 'c', 1, 5, "wm"), /* ...but /dev/zero only for reading */
	};

	apply_ok(h, rules, 3);
	assert_int_equal(probe(h, "/dev/zero", O_RDONLY, 0, 0), 0);
	assert_int_equal(probe(h, "/dev/zero", O_WRONLY, 0, 0), EPERM);
	assert_int_equal(probe(h, "/dev/zero", O_RDWR, 0, 0), EPERM);
	assert_int_equal(probe(h, NULL, 0, 1, 5), EPERM);
	assert_int_equal(probe(h, NULL, 0, 1, 3), 0); /* mknod of 1:3 allowed by the wildcard */
	assert_int_equal(probe(h, "/dev/null", O_RDWR, 0, 0), 0);
}

/* An update attaches the new program and detaches ours only; a program someone else attached
 * stays. */
static void test_update_replaces_ours_only(void **state)
{
	struct host *h = *state;
	struct oci_device_cgroup first[] = {rule(false, 'a', -1, -1, NULL), rule(true, 'c', 1, 3, "rwm")};
	struct oci_device_cgroup second[] = {rule(false, 'a', -1, -1, NULL), rule(true, 'c', 1, 5, "rwm")};
	/* "return 1": allows everything, so it does not change the outcome; named "other". */
	struct bpf_insn allow_all[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 1},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)allow_all;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	snprintf(attr.prog_name, sizeof(attr.prog_name), "other");
	h->other_fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	assert_true(h->other_fd >= 0);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)h->fd;
	attr.attach_bpf_fd = (uint32_t)h->other_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	assert_int_equal(syscall(__NR_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)), 0);

	apply_ok(h, first, 2);
	assert_int_equal(probe(h, "/dev/zero", O_RDONLY, 0, 0), EPERM);
	assert_int_equal(probe(h, "/dev/null", O_RDONLY, 0, 0), 0);
	apply_ok(h, second, 2);
	assert_int_equal(ours(h), 1);
	assert_int_equal(attached_total(h), 2);
	assert_int_equal(probe(h, "/dev/zero", O_RDONLY, 0, 0), 0);
	assert_int_equal(probe(h, "/dev/null", O_RDONLY, 0, 0), EPERM);

	struct berth_error err = {0};
	assert_int_equal(cgroup_devices_bpf_detach(h->fd, &err), 0);
	assert_int_equal(ours(h), 0);
	assert_int_equal(attached_total(h), 1);
	assert_int_equal(probe(h, "/dev/null", O_RDONLY, 0, 0), 0);
}

/* The largest major/minor values load (32-bit compares) and do not match smaller devices. */
static void test_large_numbers_load(void **state)
{
	struct host *h = *state;
	struct oci_device_cgroup rules[] = {
	    rule(true, 'a', -1, -1, NULL),
	    rule(false, 'b', 4294967295LL, 2147483648LL, "rwm"),
	    rule(false, 'c', 2147483649LL, -1, "r"),
	};

	apply_ok(h, rules, 3);
	assert_int_equal(probe(h, "/dev/zero", O_RDONLY, 0, 0), 0);
	assert_int_equal(probe(h, "/dev/null", O_RDWR, 0, 0), 0);
}

/* Through cgroup_apply_resources on a pure v2 host; on a hybrid host the v1 devices hierarchy
 * takes the rules, so this checks that the unified directory got no program. */
static void test_apply_resources_routes_devices(void **state)
{
	struct host *h = *state;
	struct oci_device_cgroup rules[] = {rule(false, 'a', -1, -1, NULL), rule(true, 'c', 1, 3, "rwm")};
	struct oci_resources res = {.devices = rules, .n_devices = 2};
	struct berth_error err = {0};
	struct cgroup cg = {0};
	bool parent_existed[CGROUP_V1_MAX] = {false};
	char path[320], rel[512];
	struct stat st;
	int root = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(root >= 0);
	snprintf(path, sizeof(path), "/" PARENT "/%s", strrchr(h->leaf, '/') + 1);
	if (cgroup_resolve(root, path, "bpf", &cg, &err) < 0)
		fail_msg("resolve: %s", err.msg);
	for (size_t i = 0; i < cg.n_v1; i++) {
		snprintf(rel, sizeof(rel), "%s/" PARENT, cg.v1[i]);
		parent_existed[i] = fstatat(root, rel, &st, 0) == 0;
	}
	bool created = false;
	int r = cgroup_create(&cg, &created, &err);
	if (r >= 0)
		r = cgroup_apply_resources(&cg, &res, false, &err);
	size_t n = r >= 0 ? ours(h) : 0;
	/* The unified leaf belongs to setup/teardown; the v1 leaves (and parents) to this test. */
	for (size_t i = 0; cg.layout != CGROUP_LAYOUT_UNIFIED && i < cg.n_v1; i++) {
		snprintf(rel, sizeof(rel), "%s%s", cg.v1[i], path);
		if (unlinkat(root, rel, AT_REMOVEDIR) < 0 && errno != ENOENT)
			fprintf(stderr, "rmdir %s: %s\n", rel, strerror(errno));
		snprintf(rel, sizeof(rel), "%s/" PARENT, cg.v1[i]);
		if (!parent_existed[i])
			unlinkat(root, rel, AT_REMOVEDIR);
	}
	enum cgroup_layout layout = cg.layout;
	cgroup_free(&cg);
	close(root);
	if (r < 0)
		fail_msg("create/apply: %s", err.msg);
	assert_int_equal(n, layout == CGROUP_LAYOUT_UNIFIED ? 1 : 0);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skip: the device eBPF tests need root\n");
		return 77;
	}
	if (!cgroup2_base()) {
		fprintf(stderr, "skip: no cgroup2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_allow_one_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_access, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_replaces_ours_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_numbers_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_resources_routes_devices, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
