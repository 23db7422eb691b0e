/* Resource writers against fake cgroupfs trees (pure v2, hybrid, legacy): every field and
 * conversion to the exact file content, the error messages naming the field, the unified map
 * validation, v1 memory+swap ordering, and enabling controllers on the way down. */
#include "test_cgroup_fake.h"

#define MiB (1024 * 1024LL)

/* ---- conversions ---- */

static void test_conversions(void **state)
{
	(void)state;
	assert_int_equal(cgroup_cpu_shares_to_weight(0), 0);
	assert_int_equal(cgroup_cpu_shares_to_weight(2), 1);
	assert_int_equal(cgroup_cpu_shares_to_weight(1024), 39);
	assert_int_equal(cgroup_cpu_shares_to_weight(512), 20);
	assert_int_equal(cgroup_cpu_shares_to_weight(262144), 10000);
	assert_int_equal(cgroup_cpu_shares_to_weight(1), 1);           /* clamped like v1 */
	assert_int_equal(cgroup_cpu_shares_to_weight(1000000), 10000); /* clamped like v1 */
	assert_int_equal(cgroup_blkio_weight_to_io_weight(0), 0);
	assert_int_equal(cgroup_blkio_weight_to_io_weight(10), 1);
	assert_int_equal(cgroup_blkio_weight_to_io_weight(500), 4950);
	assert_int_equal(cgroup_blkio_weight_to_io_weight(1000), 10000);
}

static void test_swap_conversion(void **state)
{
	struct berth_error err = {0};
	int64_t v = 42;
	(void)state;

	assert_int_equal(cgroup_memory_swap_to_v2(128 * MiB, 64 * MiB, &v, &err), 1);
	assert_int_equal(v, 64 * MiB);
	assert_int_equal(cgroup_memory_swap_to_v2(64 * MiB, 64 * MiB, &v, &err), 1);
	assert_int_equal(v, 0); /* memory+swap == memory: no swap at all */
	assert_int_equal(cgroup_memory_swap_to_v2(-1, 64 * MiB, &v, &err), 1);
	assert_int_equal(v, -1);
	assert_int_equal(cgroup_memory_swap_to_v2(0, -1, &v, &err), 1);
	assert_int_equal(v, -1); /* unlimited memory, swap unset: both unlimited */
	v = 42;
	assert_int_equal(cgroup_memory_swap_to_v2(0, 64 * MiB, &v, &err), 0); /* leave it alone */
	assert_int_equal(v, 42);
	assert_int_equal(cgroup_memory_swap_to_v2(32 * MiB, 64 * MiB, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "linux.resources.memory.swap: 33554432 is below "
					"linux.resources.memory.limit 67108864"));
	assert_int_equal(cgroup_memory_swap_to_v2(32 * MiB, 0, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "needs linux.resources.memory.limit"));
}

/* ---- cgroup v2 ---- */

static void test_v2_memory(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_memory = true};

	tree_unified(f->root_fd);
	fake_resolve(f);
	res.memory.has_limit = true;
	res.memory.limit = 64 * MiB;
	res.memory.has_reservation = true;
	res.memory.reservation = 32 * MiB;
	res.memory.has_swap = true;
	res.memory.swap = 192 * MiB;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.max"), "67108864");
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.low"), "33554432");
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.swap.max"), "134217728");

	/* -1: unlimited, and swap follows when unset */
	memset(&res.memory, 0, sizeof(res.memory));
	res.memory.has_limit = true;
	res.memory.limit = -1;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.max"), "max");
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.swap.max"), "max");

	/* swap == limit: no swap at all */
	res.memory.limit = 64 * MiB;
	res.memory.has_swap = true;
	res.memory.swap = 64 * MiB;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.swap.max"), "0");
}

static void test_v2_memory_errors(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_memory = true};

	tree_unified(f->root_fd);
	fake_resolve(f);
	res.memory.has_swappiness = true;
	res.memory.swappiness = 0;
	assert_string_equal(apply_fails(f, &res, false, -EOPNOTSUPP),
			    "linux.resources.memory.swappiness: not supported on cgroup v2");

	memset(&res.memory, 0, sizeof(res.memory));
	res.memory.has_limit = res.memory.has_swap = true;
	res.memory.limit = 64 * MiB;
	res.memory.swap = 32 * MiB;
	assert_non_null(strstr(apply_fails(f, &res, false, -EINVAL), "linux.resources.memory.swap:"));
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.max"), "max"); /* nothing written */

	/* a write the kernel refuses names the field and the file */
	res.memory.has_swap = false;
	assert_int_equal(unlinkat(f->root_fd, at(NULL, "memory.max"), 0), 0);
	assert_int_equal(mkdirat(f->root_fd, at(NULL, "memory.max"), 0755), 0);
	assert_string_equal(apply_fails(f, &res, false, -EISDIR),
			    "linux.resources.memory.limit: write memory.max: Is a directory");

	/* disableOOMKiller is ignored with a warning on v2 */
	memset(&res.memory, 0, sizeof(res.memory));
	res.memory.has_disable_oom_killer = res.memory.disable_oom_killer = true;
	apply_ok(f, &res, false);
}

static void test_v2_check_before_update(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_memory = true};

	tree_unified(f->root_fd);
	fake_resolve(f);
	put_leaf(f->root_fd, NULL, "memory.current", "100000000\n");
	res.memory.has_limit = res.memory.has_check_before_update = res.memory.check_before_update = true;
	res.memory.limit = 64 * MiB;
	assert_string_equal(apply_fails(f, &res, true, -EBUSY),
			    "linux.resources.memory.limit: 67108864 bytes is below the current usage of "
			    "100000000 bytes (checkBeforeUpdate is set)");
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.max"), "max");
	/* only on update */
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.max"), "67108864");
	/* above the usage: fine */
	res.memory.limit = 128 * MiB;
	apply_ok(f, &res, true);
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.max"), "134217728");
}

static void test_v2_cpu(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_cpu = true};

	tree_unified(f->root_fd);
	fake_resolve(f);
	res.cpu.has_shares = res.cpu.has_quota = res.cpu.has_period = true;
	res.cpu.shares = 1024;
	res.cpu.quota = 50000;
	res.cpu.period = 100000;
	res.cpu.has_burst = true;
	res.cpu.burst = 20000;
	res.cpu.has_idle = true;
	res.cpu.idle = 1;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpu.weight"), "39");
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpu.max"), "50000 100000");
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpu.max.burst"), "20000");
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpu.idle"), "1");

	/* quota -1: no limit */
	memset(&res.cpu, 0, sizeof(res.cpu));
	res.cpu.has_quota = res.cpu.has_period = true;
	res.cpu.quota = -1;
	res.cpu.period = 250000;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpu.max"), "max 250000");

	/* only the quota: the kernel keeps the period */
	memset(&res.cpu, 0, sizeof(res.cpu));
	res.cpu.has_quota = true;
	res.cpu.quota = 20000;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpu.max"), "20000");

	/* only the period: the current quota is kept */
	put_leaf(f->root_fd, NULL, "cpu.max", "30000 100000\n");
	memset(&res.cpu, 0, sizeof(res.cpu));
	res.cpu.has_period = true;
	res.cpu.period = 200000;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpu.max"), "30000 200000");

	/* realtime has no v2 equivalent */
	memset(&res.cpu, 0, sizeof(res.cpu));
	res.cpu.has_realtime_runtime = true;
	res.cpu.realtime_runtime = 1000;
	assert_non_null(strstr(apply_fails(f, &res, false, -EOPNOTSUPP),
			       "linux.resources.cpu.realtimeRuntime: not supported on cgroup v2"));
}

static void test_v2_cpuset_pids(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_cpu = true, .has_pids = true, .pids_limit = 100};

	tree_unified(f->root_fd);
	fake_resolve(f);
	res.cpu.cpus = "0-1";
	res.cpu.mems = "0";
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpuset.cpus"), "0-1");
	assert_string_equal(get_leaf(f->root_fd, NULL, "cpuset.mems"), "0");
	assert_string_equal(get_leaf(f->root_fd, NULL, "pids.max"), "100");
	res.pids_limit = 0;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "pids.max"), "max");
	put_leaf(f->root_fd, NULL, "pids.max", "7\n");
	res.pids_limit = -1;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "pids.max"), "max");
}

static int collect_line(const char *line, void *ctx)
{
	char(*lines)[160] = ctx;
	for (size_t i = 0; i < 8; i++) {
		if (!lines[i][0]) {
			snprintf(lines[i], 160, "%s", line);
			return 0;
		}
	}
	return -ENOSPC;
}

static void test_v2_io(void **state)
{
	struct fake *f = *state;
	struct oci_throttle_device rbps[] = {{8, 0, 1048576}, {8, 16, 0}};
	struct oci_throttle_device wiops[] = {{8, 0, 100}};
	struct oci_throttle_device riops[] = {{253, 1, 5000}};
	struct oci_weight_device wdev[] = {{.major = 8, .minor = 0, .has_weight = true, .weight = 1000}};
	struct oci_resources res = {.has_block_io = true};
	char lines[8][160] = {{0}};

	tree_unified(f->root_fd);
	fake_resolve(f);
	res.block_io.has_weight = true;
	res.block_io.weight = 500;
	res.block_io.weight_device = wdev;
	res.block_io.n_weight_device = 1;
	res.block_io.throttle_read_bps = rbps;
	res.block_io.n_throttle_read_bps = 2;
	res.block_io.throttle_write_iops = wiops;
	res.block_io.n_throttle_write_iops = 1;
	res.block_io.throttle_read_iops = riops;
	res.block_io.n_throttle_read_iops = 1;

	/* one line per device, keys merged, rate 0 = no limit */
	assert_int_equal(cg_io_max_foreach(&res, collect_line, lines, NULL), 0);
	assert_string_equal(lines[0], "8:0 rbps=1048576 wiops=100");
	assert_string_equal(lines[1], "8:16 rbps=max");
	assert_string_equal(lines[2], "253:1 riops=5000");
	assert_string_equal(lines[3], "");

	/* io.weight (iocost) takes converted weights */
	res.block_io.weight_device = NULL;
	res.block_io.n_weight_device = 0;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "io.weight"), "4950");
	assert_string_equal(get_leaf(f->root_fd, NULL, "io.max"), "253:1 riops=5000"); /* the last line */
	res.block_io.weight_device = wdev;
	res.block_io.n_weight_device = 1;
	res.block_io.has_weight = false;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "io.weight"), "8:0 10000");

	/* BFQ takes blkio weights as they are */
	res.block_io.has_weight = true;
	res.block_io.weight_device = NULL;
	res.block_io.n_weight_device = 0;
	put_leaf(f->root_fd, NULL, "io.bfq.weight", "default 100\n");
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "io.bfq.weight"), "500");
	res.block_io.weight_device = wdev;
	res.block_io.n_weight_device = 1;
	res.block_io.has_weight = false;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "io.bfq.weight"), "8:0 1000");

	/* a bad device number names the entry */
	rbps[1].major = -3;
	assert_non_null(strstr(apply_fails(f, &res, false, -EINVAL),
			       "linux.resources.blockIO.throttleReadBpsDevice[1]: device -3:16"));
}

static void test_v2_hugetlb_rdma(void **state)
{
	struct fake *f = *state;
	struct oci_hugepage_limit huge[] = {{"2MB", 4 * MiB}, {"1GB", 1024 * MiB}};
	struct oci_rdma_limit rdma[] = {
	    {.device = "mlx5_0", .has_hca_handles = true, .hca_handles = 10},
	    {.device = "mlx5_1",
	     .has_hca_handles = true,
	     .hca_handles = 3,
	     .has_hca_objects = true,
	     .hca_objects = 100},
	};
	struct oci_resources res = {
	    .hugepage_limits = huge, .n_hugepage_limits = 2, .rdma = rdma, .n_rdma = 1};

	tree_unified(f->root_fd);
	fake_resolve(f);
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "hugetlb.2MB.max"), "4194304");
	assert_string_equal(get_leaf(f->root_fd, NULL, "hugetlb.2MB.rsvd.max"), "4194304");
	assert_string_equal(get_leaf(f->root_fd, NULL, "hugetlb.1GB.max"), "1073741824");
	assert_string_equal(get_leaf(f->root_fd, NULL, "rdma.max"), "mlx5_0 hca_handle=10");
	res.rdma = &rdma[1];
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "rdma.max"), "mlx5_1 hca_handle=3 hca_object=100");

	huge[1].page_size = "64KB";
	assert_string_equal(apply_fails(f, &res, false, -EOPNOTSUPP),
			    "linux.resources.hugepageLimits[1].pageSize: this host has no 64KB huge pages "
			    "(no hugetlb.64KB.max)");
	huge[1].page_size = "../x";
	assert_non_null(
	    strstr(apply_fails(f, &res, false, -EINVAL), "linux.resources.hugepageLimits[1].pageSize"));
}

static void test_v2_missing_controller(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_pids = true, .pids_limit = 5};

	tree_unified(f->root_fd);
	put_leaf(f->root_fd, NULL, "cgroup.controllers", "cpu memory\n");
	fake_resolve(f);
	assert_string_equal(apply_fails(f, &res, false, -EOPNOTSUPP),
			    "linux.resources.pids: the pids controller is not enabled for cgroup "
			    "'/berth-test/c1' (it is not listed in its cgroup.controllers)");
	/* net_cls/net_prio do not exist on v2: ignored like runc does */
	res.has_pids = false;
	res.has_network = res.network.has_class_id = true;
	res.network.class_id = 7;
	apply_ok(f, &res, false);
}

static void test_unified_map(void **state)
{
	struct fake *f = *state;
	struct oci_kv good[] = {{"memory.high", "1073741824"}, {"pids.max", "42"}};
	struct oci_kv bad_name[] = {{"memory.high", "1"}, {"../memory.max", "1"}};
	struct oci_kv missing[] = {{"memory.high", "1"}, {"memory.hihg", "1"}};
	struct oci_kv procs[] = {{"cgroup.procs", "1"}};
	struct oci_resources res = {.unified = good, .n_unified = 2};

	tree_unified(f->root_fd);
	fake_resolve(f);
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.high"), "1073741824");
	assert_string_equal(get_leaf(f->root_fd, NULL, "pids.max"), "42");

	/* validation happens before any write */
	put_leaf(f->root_fd, NULL, "memory.high", "max\n");
	res.unified = bad_name;
	assert_string_equal(apply_fails(f, &res, false, -EINVAL),
			    "linux.resources.unified[\"../memory.max\"]: not a plain cgroup file name");
	res.unified = missing;
	assert_string_equal(apply_fails(f, &res, false, -ENOENT),
			    "linux.resources.unified[\"memory.hihg\"]: no such file in cgroup "
			    "'/berth-test/c1' (is its controller enabled?)");
	assert_string_equal(get_leaf(f->root_fd, NULL, "memory.high"), "max");
	res.unified = procs;
	res.n_unified = 1;
	assert_non_null(
	    strstr(apply_fails(f, &res, false, -EINVAL), "linux.resources.unified[\"cgroup.procs\"]"));
}

static void test_unified_map_legacy(void **state)
{
	struct fake *f = *state;
	struct oci_kv kv[] = {{"memory.high", "1"}};
	struct oci_resources res = {.unified = kv, .n_unified = 1};

	tree_v1(f->root_fd);
	fake_resolve(f);
	assert_int_equal(f->cg.layout, CGROUP_LAYOUT_LEGACY);
	assert_string_equal(apply_fails(f, &res, false, -EOPNOTSUPP),
			    "linux.resources.unified: needs a cgroup v2 hierarchy, and this host has none");
}

/* ---- enabling controllers ---- */

static void test_enable_controllers_unified(void **state)
{
	struct fake *f = *state;

	tree_unified(f->root_fd);
	put(f->root_fd, "cgroup.controllers", "cpu io memory pids\n");
	put(f->root_fd, "cgroup.subtree_control", "");
	put(f->root_fd, "berth-test/cgroup.controllers", "cpu io memory pids\n");
	put(f->root_fd, "berth-test/cgroup.subtree_control", "memory\n");
	put_leaf(f->root_fd, NULL, "cgroup.subtree_control", "");
	fake_resolve(f);
	assert_int_equal(cgroup_enable_controllers(&f->cg, NULL, &f->err), 0);
	/* every controller the level offers, in one write; never the leaf itself */
	assert_string_equal(get(f->root_fd, "cgroup.subtree_control"), "+cpu +io +memory +pids");
	assert_string_equal(get(f->root_fd, "berth-test/cgroup.subtree_control"), "+cpu +io +pids");
	assert_string_equal(get_leaf(f->root_fd, NULL, "cgroup.subtree_control"), "");

	/* all enabled already: nothing is written */
	put(f->root_fd, "cgroup.subtree_control", "cpu io memory pids\n");
	put(f->root_fd, "berth-test/cgroup.subtree_control", "cpu io memory pids\n");
	assert_int_equal(cgroup_enable_controllers(&f->cg, NULL, &f->err), 0);
	assert_string_equal(get(f->root_fd, "cgroup.subtree_control"), "cpu io memory pids");
}

static void test_enable_controllers_hybrid(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_memory = true, .has_pids = true, .pids_limit = 3};
	struct oci_hugepage_limit huge[] = {{"2MB", 2 * MiB}};
	struct oci_kv kv[] = {{"misc.max", "x 1"}};

	tree_hybrid(f->root_fd);
	/* this hybrid host has no v1 hugetlb hierarchy; cgroup2 offers hugetlb and misc */
	assert_int_equal(unlinkat(f->root_fd, "hugetlb/cgroup.procs", 0), 0); /* not a hierarchy now */
	put(f->root_fd, "unified/cgroup.controllers", "hugetlb misc\n");
	put(f->root_fd, "unified/berth-test/cgroup.controllers", "hugetlb misc\n");
	fake_resolve(f);
	res.memory.has_limit = true;
	res.memory.limit = 64 * MiB;
	/* memory and pids come from v1: the shared cgroup2 root is left alone */
	assert_int_equal(cgroup_enable_controllers(&f->cg, &res, &f->err), 0);
	assert_string_equal(get(f->root_fd, "unified/cgroup.subtree_control"), "");
	res.hugepage_limits = huge;
	res.n_hugepage_limits = 1;
	res.unified = kv;
	res.n_unified = 1;
	assert_int_equal(cgroup_enable_controllers(&f->cg, &res, &f->err), 0);
	assert_string_equal(get(f->root_fd, "unified/cgroup.subtree_control"), "+hugetlb +misc");
	assert_string_equal(get(f->root_fd, "unified/berth-test/cgroup.subtree_control"), "+hugetlb +misc");
	/* and the limit goes to the unified leaf once the kernel shows the file */
	put_leaf(f->root_fd, "unified", "cgroup.controllers", "hugetlb misc\n");
	put_leaf(f->root_fd, "unified", "hugetlb.2MB.max", "max\n");
	res.n_unified = 0;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "unified", "hugetlb.2MB.max"), "2097152");
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.limit_in_bytes"), "67108864");
}

/* ---- cgroup v1 (hybrid) ---- */

static void test_v1_memory(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_memory = true};

	tree_hybrid(f->root_fd);
	fake_resolve(f);
	assert_int_equal(f->cg.layout, CGROUP_LAYOUT_HYBRID);
	res.memory.has_limit = res.memory.has_swap = res.memory.has_reservation = true;
	res.memory.limit = 64 * MiB;
	res.memory.swap = 128 * MiB;
	res.memory.reservation = 32 * MiB;
	res.memory.has_swappiness = true;
	res.memory.swappiness = 10;
	res.memory.has_disable_oom_killer = res.memory.disable_oom_killer = true;
	res.memory.has_kernel = true;
	res.memory.kernel = 8 * MiB;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.limit_in_bytes"), "67108864");
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.memsw.limit_in_bytes"), "134217728");
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.soft_limit_in_bytes"), "33554432");
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.swappiness"), "10");
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.oom_control"), "1");
	/* kernel memory limits are ignored */
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.kmem.limit_in_bytes"),
			    "9223372036854771712");

	/* unlimited memory pulls an unset memsw to unlimited too */
	memset(&res.memory, 0, sizeof(res.memory));
	res.memory.has_limit = true;
	res.memory.limit = -1;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.limit_in_bytes"), "-1");
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.memsw.limit_in_bytes"), "-1");

	/* swap below the limit is refused before anything is written */
	res.memory.limit = 64 * MiB;
	res.memory.has_swap = true;
	res.memory.swap = 32 * MiB;
	assert_non_null(
	    strstr(apply_fails(f, &res, false, -EINVAL), "linux.resources.memory.swap: 33554432 is below"));
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.limit_in_bytes"), "-1");
}

/* memsw must stay >= limit at every step. The order is observable: make memsw unwritable and
 * see whether the limit was written before the failure. */
static void test_v1_memsw_order(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_memory = true};
	char memsw[PATH_MAX];

	tree_hybrid(f->root_fd);
	snprintf(memsw, sizeof(memsw), "%s", at("memory", "memory.memsw.limit_in_bytes"));
	fake_resolve(f);
	res.memory.has_limit = res.memory.has_swap = true;

	/* raising (new memsw above the current limit): memsw first, so the limit is untouched */
	put_leaf(f->root_fd, "memory", "memory.limit_in_bytes", "67108864\n");
	assert_int_equal(unlinkat(f->root_fd, memsw, 0), 0);
	assert_int_equal(mkdirat(f->root_fd, memsw, 0755), 0);
	res.memory.limit = 128 * MiB;
	res.memory.swap = 256 * MiB;
	assert_string_equal(apply_fails(f, &res, true, -EISDIR),
			    "linux.resources.memory.swap: write memory.memsw.limit_in_bytes: Is a directory");
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.limit_in_bytes"), "67108864");

	/* lowering (new memsw not above the current limit): the limit first */
	put_leaf(f->root_fd, "memory", "memory.limit_in_bytes", "268435456\n");
	res.memory.limit = 32 * MiB;
	res.memory.swap = 64 * MiB;
	assert_string_equal(apply_fails(f, &res, true, -EISDIR),
			    "linux.resources.memory.swap: write memory.memsw.limit_in_bytes: Is a directory");
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.limit_in_bytes"), "33554432");

	/* unlimited memsw: raised first */
	put_leaf(f->root_fd, "memory", "memory.limit_in_bytes", "268435456\n");
	res.memory.swap = -1;
	apply_fails(f, &res, true, -EISDIR);
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.limit_in_bytes"), "268435456");
}

static void test_v1_cpu(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_cpu = true};

	tree_hybrid(f->root_fd);
	fake_resolve(f);
	res.cpu.has_shares = res.cpu.has_quota = res.cpu.has_period = res.cpu.has_burst = true;
	res.cpu.shares = 512;
	res.cpu.quota = 50000;
	res.cpu.period = 100000;
	res.cpu.burst = 10000;
	res.cpu.has_realtime_period = res.cpu.has_realtime_runtime = true;
	res.cpu.realtime_period = 1000000;
	res.cpu.realtime_runtime = 950000;
	res.cpu.has_idle = true;
	res.cpu.idle = 1;
	res.cpu.cpus = "1";
	res.cpu.mems = "0";
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "cpu", "cpu.shares"), "512");
	assert_string_equal(get_leaf(f->root_fd, "cpu", "cpu.cfs_quota_us"), "50000");
	assert_string_equal(get_leaf(f->root_fd, "cpu", "cpu.cfs_period_us"), "100000");
	assert_string_equal(get_leaf(f->root_fd, "cpu", "cpu.cfs_burst_us"), "10000");
	assert_string_equal(get_leaf(f->root_fd, "cpu", "cpu.rt_period_us"), "1000000");
	assert_string_equal(get_leaf(f->root_fd, "cpu", "cpu.rt_runtime_us"), "950000");
	assert_string_equal(get_leaf(f->root_fd, "cpu", "cpu.idle"), "1");
	assert_string_equal(get_leaf(f->root_fd, "cpuset", "cpuset.cpus"), "1");
	assert_string_equal(get_leaf(f->root_fd, "cpuset", "cpuset.mems"), "0");

	/* quota -1 -> "-1"; a kernel without cfs_burst_us is named */
	memset(&res.cpu, 0, sizeof(res.cpu));
	res.cpu.has_quota = true;
	res.cpu.quota = -1;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "cpu", "cpu.cfs_quota_us"), "-1");
	assert_int_equal(unlinkat(f->root_fd, at("cpu", "cpu.cfs_burst_us"), 0), 0);
	res.cpu.has_burst = true;
	assert_string_equal(apply_fails(f, &res, false, -EOPNOTSUPP),
			    "linux.resources.cpu.burst: this kernel has no cpu.cfs_burst_us");
}

static void test_v1_pids_blkio(void **state)
{
	struct fake *f = *state;
	struct oci_throttle_device rbps[] = {{8, 0, 1048576}};
	struct oci_throttle_device wbps[] = {{8, 0, 2097152}};
	struct oci_throttle_device riops[] = {{8, 0, 300}};
	struct oci_throttle_device wiops[] = {{8, 16, 0}};
	struct oci_weight_device wdev[] = {{.major = 8, .minor = 0, .has_weight = true, .weight = 300}};
	struct oci_resources res = {.has_pids = true, .pids_limit = 100, .has_block_io = true};

	tree_hybrid(f->root_fd);
	fake_resolve(f);
	res.block_io.has_weight = true;
	res.block_io.weight = 500;
	res.block_io.weight_device = wdev;
	res.block_io.n_weight_device = 1;
	res.block_io.throttle_read_bps = rbps;
	res.block_io.n_throttle_read_bps = 1;
	res.block_io.throttle_write_bps = wbps;
	res.block_io.n_throttle_write_bps = 1;
	res.block_io.throttle_read_iops = riops;
	res.block_io.n_throttle_read_iops = 1;
	res.block_io.throttle_write_iops = wiops;
	res.block_io.n_throttle_write_iops = 1;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "pids", "pids.max"), "100");
	/* no CFQ here (as on current kernels): BFQ's files */
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.bfq.weight"), "500");
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.bfq.weight_device"), "8:0 300");
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.throttle.read_bps_device"), "8:0 1048576");
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.throttle.write_bps_device"), "8:0 2097152");
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.throttle.read_iops_device"), "8:0 300");
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.throttle.write_iops_device"), "8:16 0");

	/* CFQ where it exists */
	put_leaf(f->root_fd, "blkio", "blkio.weight", "100\n");
	put_leaf(f->root_fd, "blkio", "blkio.weight_device", "");
	put_leaf(f->root_fd, "blkio", "blkio.leaf_weight", "100\n");
	res.block_io.has_leaf_weight = true;
	res.block_io.leaf_weight = 200;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.weight"), "500");
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.weight_device"), "8:0 300");
	assert_string_equal(get_leaf(f->root_fd, "blkio", "blkio.leaf_weight"), "200");

	/* neither */
	assert_int_equal(unlinkat(f->root_fd, at("blkio", "blkio.weight"), 0), 0);
	assert_int_equal(unlinkat(f->root_fd, at("blkio", "blkio.bfq.weight"), 0), 0);
	assert_non_null(strstr(apply_fails(f, &res, false, -EOPNOTSUPP),
			       "linux.resources.blockIO.weight: neither blkio.weight nor blkio.bfq.weight"));
}

static void test_v1_hugetlb_network(void **state)
{
	struct fake *f = *state;
	struct oci_hugepage_limit huge[] = {{"2MB", 8 * MiB}};
	struct oci_net_priority prio[] = {{"eth0", 5}, {"lo", 2}};
	struct oci_resources res = {.hugepage_limits = huge, .n_hugepage_limits = 1, .has_network = true};

	tree_hybrid(f->root_fd);
	fake_resolve(f);
	res.network.has_class_id = true;
	res.network.class_id = 0x100001;
	res.network.priorities = prio;
	res.network.n_priorities = 2;
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "hugetlb", "hugetlb.2MB.limit_in_bytes"), "8388608");
	assert_string_equal(get_leaf(f->root_fd, "net_cls", "net_cls.classid"), "1048577");
	assert_string_equal(get_leaf(f->root_fd, "net_prio", "net_prio.ifpriomap"), "lo 2"); /* the last */
	prio[0].name = "eth 0";
	assert_non_null(
	    strstr(apply_fails(f, &res, false, -EINVAL), "linux.resources.network.priorities[0].name"));
}

static void test_v1_missing_controller(void **state)
{
	struct fake *f = *state;
	struct oci_rdma_limit rdma[] = {{.device = "mlx5_0", .has_hca_handles = true, .hca_handles = 1}};
	struct oci_resources res = {.rdma = rdma, .n_rdma = 1};

	tree_hybrid(f->root_fd);
	fake_resolve(f);
	assert_string_equal(apply_fails(f, &res, false, -EOPNOTSUPP),
			    "linux.resources.rdma: the rdma controller is not available on this host (no v1 "
			    "rdma hierarchy, and the cgroup2 tree does not offer it)");
}

static void test_v1_devices(void **state)
{
	struct fake *f = *state;
	struct oci_device_cgroup rules[] = {
	    {.allow = false, .type = 'a', .access = "rwm"},
	    {.allow = true,
	     .type = 'c',
	     .has_major = true,
	     .major = 1,
	     .has_minor = true,
	     .minor = 3,
	     .access = "rwm"},
	    {.allow = false, .type = 'c', .has_major = true, .major = 1, .has_minor = true, .minor = 5},
	};
	struct oci_resources res = {.devices = rules, .n_devices = 3};

	tree_hybrid(f->root_fd);
	fake_resolve(f);
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "devices", "devices.allow"), "c 1:3 rwm");
	assert_string_equal(get_leaf(f->root_fd, "devices", "devices.deny"), "c 1:5 rwm"); /* the last */
	/* nothing in the unified tree */
	assert_string_equal(get_leaf(f->root_fd, "unified", "cgroup.procs"), "");

	rules[2].has_major = true;
	rules[2].major = 1LL << 32;
	assert_string_equal(apply_fails(f, &res, false, -EINVAL),
			    "linux.resources.devices[2].major: 4294967296 is out of range");
}

/* The legacy layout: the same writers, no cgroup2 at all. */
static void test_legacy(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_memory = true, .has_pids = true, .pids_limit = 64};

	tree_v1(f->root_fd);
	fake_resolve(f);
	assert_int_equal(f->cg.layout, CGROUP_LAYOUT_LEGACY);
	res.memory.has_limit = true;
	res.memory.limit = 64 * MiB;
	assert_int_equal(cgroup_enable_controllers(&f->cg, &res, &f->err), 0);
	apply_ok(f, &res, false);
	assert_string_equal(get_leaf(f->root_fd, "memory", "memory.limit_in_bytes"), "67108864");
	assert_string_equal(get_leaf(f->root_fd, "pids", "pids.max"), "64");
}

static void test_nothing_to_do(void **state)
{
	struct fake *f = *state;
	struct oci_resources res = {.has_memory = true, .has_cpu = true};

	tree_unified(f->root_fd);
	put_leaf(f->root_fd, NULL, "cgroup.controllers", "");
	fake_resolve(f);
	/* empty objects need no controller */
	apply_ok(f, &res, false);
	assert_int_equal(cgroup_apply_resources(&f->cg, NULL, false, &f->err), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_setup, fake_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conversions),
	    cmocka_unit_test(test_swap_conversion),
	    T(test_v2_memory),
	    T(test_v2_memory_errors),
	    T(test_v2_check_before_update),
	    T(test_v2_cpu),
	    T(test_v2_cpuset_pids),
	    T(test_v2_io),
	    T(test_v2_hugetlb_rdma),
	    T(test_v2_missing_controller),
	    T(test_unified_map),
	    T(test_unified_map_legacy),
	    T(test_enable_controllers_unified),
	    T(test_enable_controllers_hybrid),
	    T(test_v1_memory),
	    T(test_v1_memsw_order),
	    T(test_v1_cpu),
	    T(test_v1_pids_blkio),
	    T(test_v1_hugetlb_network),
	    T(test_v1_missing_controller),
	    T(test_v1_devices),
	    T(test_legacy),
	    T(test_nothing_to_do),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
