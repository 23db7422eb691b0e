/* Statistics from fake cgroup trees filled with realistic files (tests/data/cgroup/v1 and v2:
 * memory.stat, memory.events, cpu.stat, io.stat, blkio and cpuacct files as kernels write them). */
#include "test_cgroup_fake.h"

/* Copy tests/data/cgroup/@fixture into @path below the fake root. */
static void put_fixture(int root_fd, const char *path, const char *fixture)
{
	const char *data = getenv("BERTH_TEST_DATA");
	char file[PATH_MAX];
	char *text = NULL;
	int r;

	if (data)
		snprintf(file, sizeof(file), "%s/cgroup/%s", data, fixture);
	else /* run by hand from the build tree: find the data next to this source file */
		snprintf(file, sizeof(file), "%.*s/../data/cgroup/%s",
			 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, fixture);
	r = cg_read_alloc(AT_FDCWD, file, &text);
	if (r < 0)
		fail_msg("fixture %s: %s", file, strerror(-r));
	put(root_fd, path, text);
	free(text);
}

static void read_ok(struct fake *f, struct cgroup_stats *st)
{
	if (cgroup_stats_read(&f->cg, st, &f->err) < 0)
		fail_msg("stats: %s", f->err.msg);
}

static uint64_t raw(const struct cgroup_stats *st, const char *key)
{
	for (size_t i = 0; i < st->memory.n_raw; i++)
		if (strcmp(st->memory.raw[i].key, key) == 0)
			return st->memory.raw[i].value;
	fail_msg("memory.stat key %s missing", key);
	return 0;
}

static void test_v2_stats(void **state)
{
	struct fake *f = *state;
	struct cgroup_stats *st = calloc(1, sizeof(*st));
	int fd = f->root_fd;

	assert_non_null(st);
	tree_unified(fd);
	put_leaf(fd, NULL, "memory.current", "3145728\n");
	put_leaf(fd, NULL, "memory.max", "67108864\n");
	put_leaf(fd, NULL, "memory.peak", "4194304\n");
	put_leaf(fd, NULL, "memory.swap.current", "1048576\n");
	put_fixture(fd, at(NULL, "memory.stat"), "v2/memory.stat");
	put_fixture(fd, at(NULL, "memory.events"), "v2/memory.events");
	put_fixture(fd, at(NULL, "cpu.stat"), "v2/cpu.stat");
	put_fixture(fd, at(NULL, "io.stat"), "v2/io.stat");
	put_leaf(fd, NULL, "pids.current", "3\n");
	put_leaf(fd, NULL, "pids.max", "100\n");
	put_leaf(fd, NULL, "hugetlb.2MB.current", "2097152\n");
	put_leaf(fd, NULL, "hugetlb.2MB.max", "4194304\n");
	put_leaf(fd, NULL, "hugetlb.2MB.events", "max 1\n");
	fake_resolve(f);
	read_ok(f, st);

	assert_true(st->has_memory && st->has_cpu && st->has_pids && st->has_io && st->has_hugetlb);
	assert_int_equal(st->memory.usage.usage, 3145728);
	assert_int_equal(st->memory.usage.limit, 67108864);
	assert_int_equal(st->memory.usage.max_usage, 4194304);
	assert_int_equal(st->memory.usage.failcnt, 12);
	assert_int_equal(st->memory.oom, 3);
	assert_int_equal(st->memory.oom_kill, 2);
	assert_int_equal(st->memory.cache, 2097152);
	assert_int_equal(st->memory.rss, 1048576);
	/* swap as memory+swap, the limit unlimited because memory.swap.max is "max" */
	assert_int_equal(st->memory.swap_only, 1048576);
	assert_int_equal(st->memory.swap.usage, 3145728 + 1048576);
	assert_true(st->memory.swap.limit == UINT64_MAX);
	assert_int_equal(st->memory.n_raw, 49);
	assert_string_equal(st->memory.raw[0].key, "anon");
	assert_int_equal(raw(st, "pgmajfault"), 7);
	assert_int_equal(raw(st, "thp_collapse_alloc"), 0);

	assert_int_equal(st->cpu.usage_total, 2500000000ull);
	assert_int_equal(st->cpu.usage_user, 1500000000ull);
	assert_int_equal(st->cpu.usage_system, 1000000000ull);
	assert_int_equal(st->cpu.nr_periods, 100);
	assert_int_equal(st->cpu.nr_throttled, 20);
	assert_int_equal(st->cpu.throttled_time, 350000000ull);

	assert_int_equal(st->pids.current, 3);
	assert_int_equal(st->pids.limit, 100);

	assert_int_equal(st->io.n, 2);
	assert_int_equal(st->io.dev[0].major, 8);
	assert_int_equal(st->io.dev[0].minor, 0);
	assert_int_equal(st->io.dev[0].read_bytes, 1048576);
	assert_int_equal(st->io.dev[0].write_bytes, 4096);
	assert_int_equal(st->io.dev[0].read_ios, 256);
	assert_int_equal(st->io.dev[0].write_ios, 1);
	assert_int_equal(st->io.dev[1].major, 253);
	assert_int_equal(st->io.dev[1].read_bytes, 512);

	/* 2MB and 1GB limit files; "hugetlb.2MB.rsvd.max" is not a page size of its own */
	assert_int_equal(st->hugetlb.n, 2);
	for (size_t i = 0; i < st->hugetlb.n; i++) {
		const struct cgroup_hugetlb_stat *h = &st->hugetlb.page[i];
		if (strcmp(h->page_size, "2MB") == 0) {
			assert_int_equal(h->usage.usage, 2097152);
			assert_int_equal(h->usage.limit, 4194304);
			assert_int_equal(h->usage.failcnt, 1);
		} else {
			assert_string_equal(h->page_size, "1GB");
			assert_true(h->usage.limit == UINT64_MAX);
		}
	}

	uint64_t ooms = 0;
	assert_int_equal(cgroup_oom_count(&f->cg, &ooms), 0);
	assert_int_equal(ooms, 2);
	free(st);
}

static void test_v2_limits_unlimited(void **state)
{
	struct fake *f = *state;
	struct cgroup_stats st;

	tree_unified(f->root_fd);
	put_leaf(f->root_fd, NULL, "memory.swap.current", "0\n");
	put_leaf(f->root_fd, NULL, "memory.swap.max", "1048576\n");
	put_leaf(f->root_fd, NULL, "memory.max", "2097152\n");
	put_leaf(f->root_fd, NULL, "pids.current", "1\n");
	fake_resolve(f);
	read_ok(f, &st);
	assert_int_equal(st.memory.swap.limit, 2097152 + 1048576);
	assert_int_equal(st.pids.limit, 0); /* "max" is reported as 0, as runc does */
	assert_false(st.has_io);            /* no io.stat */
	assert_false(st.has_cpu);
}

static void test_v1_stats(void **state)
{
	struct fake *f = *state;
	struct cgroup_stats *st = calloc(1, sizeof(*st));
	int fd = f->root_fd;
	long hz = sysconf(_SC_CLK_TCK);

	assert_non_null(st);
	tree_hybrid(fd);
	put_leaf(fd, "memory", "memory.usage_in_bytes", "3350528\n");
	put_leaf(fd, "memory", "memory.max_usage_in_bytes", "5000000\n");
	put_leaf(fd, "memory", "memory.limit_in_bytes", "67108864\n");
	put_leaf(fd, "memory", "memory.failcnt", "9\n");
	put_leaf(fd, "memory", "memory.memsw.usage_in_bytes", "4399104\n");
	put_leaf(fd, "memory", "memory.memsw.limit_in_bytes", "134217728\n");
	put_leaf(fd, "memory", "memory.kmem.usage_in_bytes", "65536\n");
	put_fixture(fd, at("memory", "memory.stat"), "v1/memory.stat");
	put_fixture(fd, at("memory", "memory.oom_control"), "v1/memory.oom_control");
	put_leaf(fd, "cpuacct", "cpuacct.usage", "24240000000\n");
	put_fixture(fd, at("cpuacct", "cpuacct.stat"), "v1/cpuacct.stat");
	put_fixture(fd, at("cpu", "cpu.stat"), "v1/cpu.stat");
	put_leaf(fd, "pids", "pids.current", "7\n");
	put_fixture(fd, at("blkio", "blkio.throttle.io_service_bytes_recursive"),
		    "v1/blkio.throttle.io_service_bytes_recursive");
	put_fixture(fd, at("blkio", "blkio.throttle.io_serviced_recursive"),
		    "v1/blkio.throttle.io_serviced_recursive");
	put_leaf(fd, "hugetlb", "hugetlb.2MB.usage_in_bytes", "0\n");
	put_leaf(fd, "hugetlb", "hugetlb.2MB.max_usage_in_bytes", "2097152\n");
	put_leaf(fd, "hugetlb", "hugetlb.2MB.failcnt", "2\n");
	fake_resolve(f);
	read_ok(f, st);

	assert_true(st->has_memory && st->has_cpu && st->has_pids && st->has_io && st->has_hugetlb);
	assert_int_equal(st->memory.usage.usage, 3350528);
	assert_int_equal(st->memory.usage.max_usage, 5000000);
	assert_int_equal(st->memory.usage.limit, 67108864);
	assert_int_equal(st->memory.usage.failcnt, 9);
	assert_int_equal(st->memory.swap.usage, 4399104);
	assert_int_equal(st->memory.swap.limit, 134217728);
	assert_int_equal(st->memory.swap_only, 4399104 - 3350528);
	assert_int_equal(st->memory.kernel.usage, 65536);
	assert_int_equal(st->memory.kernel.limit, 9223372036854771712ull);
	assert_int_equal(st->memory.cache, 2154496);
	assert_int_equal(st->memory.rss, 1196032);
	assert_int_equal(st->memory.oom_kill, 4);
	assert_true(st->memory.under_oom);
	assert_int_equal(raw(st, "total_cache"), 2166784);
	assert_int_equal(raw(st, "hierarchical_memory_limit"), 9223372036854771712ull);

	assert_int_equal(st->cpu.usage_total, 24240000000ull);
	assert_int_equal(st->cpu.usage_user, 1473ull * (1000000000ull / (uint64_t)hz));
	assert_int_equal(st->cpu.usage_system, 951ull * (1000000000ull / (uint64_t)hz));
	assert_int_equal(st->cpu.nr_periods, 50);
	assert_int_equal(st->cpu.nr_throttled, 5);
	assert_int_equal(st->cpu.throttled_time, 123456789);

	assert_int_equal(st->pids.current, 7);
	assert_int_equal(st->pids.limit, 0);

	assert_int_equal(st->io.n, 2);
	assert_int_equal(st->io.dev[0].read_bytes, 1048576);
	assert_int_equal(st->io.dev[0].write_bytes, 4096);
	assert_int_equal(st->io.dev[0].read_ios, 256);
	assert_int_equal(st->io.dev[0].write_ios, 1);
	assert_int_equal(st->io.dev[1].major, 253);
	assert_int_equal(st->io.dev[1].read_ios, 1);

	assert_int_equal(st->hugetlb.n, 1);
	assert_string_equal(st->hugetlb.page[0].page_size, "2MB");
	assert_int_equal(st->hugetlb.page[0].usage.max_usage, 2097152);
	assert_int_equal(st->hugetlb.page[0].usage.failcnt, 2);

	/* nanosecond user/system where the kernel has them */
	put_leaf(fd, "cpuacct", "cpuacct.usage_user", "14730000123\n");
	put_leaf(fd, "cpuacct", "cpuacct.usage_sys", "9510000456\n");
	read_ok(f, st);
	assert_int_equal(st->cpu.usage_user, 14730000123ull);
	assert_int_equal(st->cpu.usage_system, 9510000456ull);

	uint64_t ooms = 0;
	assert_int_equal(cgroup_oom_count(&f->cg, &ooms), 0);
	assert_int_equal(ooms, 4);
	free(st);
}

static void test_bad_files(void **state)
{
	struct fake *f = *state;
	struct cgroup_stats st;

	memset(&st, 0x5a, sizeof(st));
	tree_unified(f->root_fd);
	put_leaf(f->root_fd, NULL, "memory.stat", "anon 12\nfile lots\n");
	fake_resolve(f);
	assert_int_equal(cgroup_stats_read(&f->cg, &st, &f->err), -EBADMSG);
	assert_string_equal(f->err.msg,
			    "statistics of cgroup '/berth-test/c1': memory.stat: the value of 'file' "
			    "is not a number");
	assert_int_equal(st.memory.usage.usage, 0x5a5a5a5a5a5a5a5aull); /* untouched on failure */

	put_leaf(f->root_fd, NULL, "memory.stat", "anon 12\n");
	put_leaf(f->root_fd, NULL, "io.stat", "8:0 rbytes=1 wbytes\n");
	assert_int_equal(cgroup_stats_read(&f->cg, &st, &f->err), -EBADMSG);
	assert_non_null(strstr(f->err.msg, "io.stat: cannot parse '8:0 rbytes=1 wbytes'"));
}

static void test_oom_count_without_memory(void **state)
{
	struct fake *f = *state;
	uint64_t n = 77;

	tree_unified(f->root_fd);
	put_leaf(f->root_fd, NULL, "cgroup.controllers", "cpu\n");
	fake_resolve(f);
	assert_int_equal(cgroup_oom_count(&f->cg, &n), -ENOENT);
	assert_int_equal(n, 77);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_setup, fake_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_v2_stats),  T(test_v2_limits_unlimited),      T(test_v1_stats),
	    T(test_bad_files), T(test_oom_count_without_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
