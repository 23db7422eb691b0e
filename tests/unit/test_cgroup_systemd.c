/* cgroups/systemd_path.c: runc's "slice:prefix:name" cgroupsPath, systemd's slice naming rule,
 * linux.resources as unit properties (shares -> CPUWeight, quota/period -> CPUQuotaPerSecUSec,
 * cpusets as byte masks) and the property words berth passes to berth-ext. No D-Bus here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "berth/cgroups_systemd.h"
#include "berth/error.h"
#include "berth/oci.h"

static void expand_ok(const char *slice, const char *want)
{
	char buf[CGROUP_SYSTEMD_PATH_MAX];
	assert_int_equal(cgroup_systemd_expand_slice(slice, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_expand_slice(void **state)
{
	(void)state;
	expand_ok("system.slice", "/system.slice");
	expand_ok("a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice");
	expand_ok("kubepods-burstable-pod123.slice",
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice");
	expand_ok("-.slice", "");
	char buf[CGROUP_SYSTEMD_PATH_MAX];
	const char *bad[] = {"system",   ".slice",    "a--b.slice",    "-a.slice",
			     "a-.slice", "a/b.slice", "a.slice.scope", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cgroup_systemd_expand_slice(bad[i], buf, sizeof(buf)), -EINVAL);
	char small[12];
	assert_int_equal(cgroup_systemd_expand_slice("a-b-c.slice", small, sizeof(small)), -ENAMETOOLONG);
}

static void parse_ok(const char *path, const char *id, const char *slice, const char *unit, const char *cg)
{
	struct cgroup_systemd_unit u;
	struct berth_error err = {0};
	assert_int_equal(cgroup_systemd_parse(path, id, &u, &err), 0);
	assert_string_equal(u.slice, slice);
	assert_string_equal(u.unit, unit);
	assert_string_equal(u.path, cg);
}

static void parse_bad(const char *path, const char *needle)
{
	struct cgroup_systemd_unit u;
	struct berth_error err = {0};
	assert_int_equal(cgroup_systemd_parse(path, "x", &u, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "linux.cgroupsPath"));
	if (!strstr(err.msg, needle))
		fail_msg("'%s' lacks '%s'", err.msg, needle);
}

static void test_parse(void **state)
{
	(void)state;
	/* containerd's CRI, exactly */
	parse_ok("kubepods-burstable-pod123.slice:cri-containerd:abc", "abc",
		 "kubepods-burstable-pod123.slice", "cri-containerd-abc.scope",
		 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice/"
		 "cri-containerd-abc.scope");
	/* the default, and an empty slice */
	parse_ok(NULL, "c1", "system.slice", "berth-c1.scope", "/system.slice/berth-c1.scope");
	parse_ok("", "c1", "system.slice", "berth-c1.scope", "/system.slice/berth-c1.scope");
	parse_ok(":crio:x", "c1", "system.slice", "crio-x.scope", "/system.slice/crio-x.scope");
	/* podman */
	parse_ok("machine.slice:libpod:0123abcd", "0123abcd", "machine.slice", "libpod-0123abcd.scope",
		 "/machine.slice/libpod-0123abcd.scope");
	/* the root slice, an empty prefix */
	parse_ok("-:p:n", "c1", "-.slice", "p-n.scope", "/p-n.scope");
	parse_ok("-.slice::n", "c1", "-.slice", "n.scope", "/n.scope");

	parse_bad("/berth-test/c1", "slice:prefix:name");
	parse_bad("a.slice:b", "slice:prefix:name");
	parse_bad("a.slice:b:c:d", "slice:prefix:name");
	parse_bad("a.slice:b:", "name");
	parse_bad("a/b.slice:p:n", "slice");
	parse_bad("a--b.slice:p:n", "slice");
	parse_bad("system:p:n", "slice");
	parse_bad("system.slice:p:x.slice", "slice");
	parse_bad("system.slice:p:n/m", "unit name");
	parse_bad("system.slice:p:n m", "unit name");
	char longname[400];
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "system.slice:p:", 15);
	longname[sizeof(longname) - 1] = '\0';
	parse_bad(longname, "unit name");
}

static void test_unit_of_path(void **state)
{
	(void)state;
	assert_string_equal(cgroup_systemd_unit_of_path("/system.slice/berth-x.scope"), "berth-x.scope");
	assert_null(cgroup_systemd_unit_of_path("/system.slice/"));
	assert_null(cgroup_systemd_unit_of_path(NULL));
}

static void test_quota(void **state)
{
	(void)state;
	assert_int_equal(cgroup_systemd_quota_per_sec(25000, 100000), 250000);
	assert_int_equal(cgroup_systemd_quota_per_sec(50000, 100000), 500000);
	/* 1234/10000 = 12.34 % -> 123400 us/s, up to systemd's 10 ms steps: 130000 */
	assert_int_equal(cgroup_systemd_quota_per_sec(1234, 10000), 130000);
	/* a tiny quota never becomes 0 (no CPU at all) */
	assert_int_equal(cgroup_systemd_quota_per_sec(1, 1000000), 10000);
	/* two CPUs */
	assert_int_equal(cgroup_systemd_quota_per_sec(200000, 100000), 2000000);
	/* period 0: the kernel's default 100 ms */
	assert_int_equal(cgroup_systemd_quota_per_sec(50000, 0), 500000);
	assert_true(cgroup_systemd_quota_per_sec(-1, 100000) == UINT64_MAX);
	assert_true(cgroup_systemd_quota_per_sec(0, 100000) == UINT64_MAX);
}

static void test_cpuset_mask(void **state)
{
	(void)state;
	unsigned char bits[CGROUP_SYSTEMD_BITS_MAX];
	size_t n = 0;
	assert_int_equal(cgroup_systemd_cpuset_mask("0", bits, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bits[0], 0x01);
	assert_int_equal(cgroup_systemd_cpuset_mask("0-3,8", bits, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bits[0], 0x0f);
	assert_int_equal(bits[1], 0x01);
	assert_int_equal(cgroup_systemd_cpuset_mask("1,3,5-6", bits, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bits[0], 0x6a);
	assert_int_equal(cgroup_systemd_cpuset_mask("1023", bits, &n), 0);
	assert_int_equal(n, 128);
	assert_int_equal(bits[127], 0x80);
	assert_int_equal(cgroup_systemd_cpuset_mask("1024", bits, &n), -ERANGE);
	const char *bad[] = {"a", "1-", "-1", "3-1", "1,,2", "1,", " 1", "1 ", "0x1", "1-2-3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cgroup_systemd_cpuset_mask(bad[i], bits, &n) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

static const struct cgroup_systemd_prop *find(const struct cgroup_systemd_prop *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return &p[i];
	return NULL;
}

static void test_properties(void **state)
{
	(void)state;
	struct oci_resources r = {0};
	struct cgroup_systemd_prop p[CGROUP_SYSTEMD_PROPS_MAX];
	struct berth_error err = {0};
	size_t n = 99;
	char cpus[] = "0-1", mems[] = "0";

	assert_int_equal(cgroup_systemd_properties(NULL, p, CGROUP_SYSTEMD_PROPS_MAX, &n, &err), 0);
	assert_int_equal(n, 0);

	r.has_memory = true;
	r.memory.has_limit = r.memory.has_reservation = r.memory.has_swap = true;
	r.memory.limit = 64 << 20;
	r.memory.reservation = 32 << 20;
	r.memory.swap = 96 << 20; /* memory+swap: 32 MiB of swap */
	r.has_cpu = true;
	r.cpu.has_shares = r.cpu.has_quota = r.cpu.has_period = true;
	r.cpu.shares = 1024;
	r.cpu.quota = 25000;
	r.cpu.period = 50000;
	r.cpu.cpus = cpus;
	r.cpu.mems = mems;
	r.has_pids = true;
	r.pids_limit = 50;
	r.has_block_io = true;
	r.block_io.has_weight = true;
	r.block_io.weight = 500;
	assert_int_equal(cgroup_systemd_properties(&r, p, CGROUP_SYSTEMD_PROPS_MAX, &n, &err), 0);
	assert_int_equal(n, 10);
	assert_int_equal(find(p, n, "MemoryMax")->u64, 64 << 20);
	assert_int_equal(find(p, n, "MemoryLow")->u64, 32 << 20);
	assert_int_equal(find(p, n, "MemorySwapMax")->u64, 32 << 20);
	/* runc: 1 + (1024 - 2) * 9999 / 262142 = 39 */
	assert_int_equal(find(p, n, "CPUWeight")->u64, 39);
	assert_int_equal(find(p, n, "CPUQuotaPeriodUSec")->u64, 50000);
	assert_int_equal(find(p, n, "CPUQuotaPerSecUSec")->u64, 500000);
	assert_int_equal(find(p, n, "TasksMax")->u64, 50);
	assert_int_equal(find(p, n, "IOWeight")->u64, 4950);
	assert_int_equal(find(p, n, "AllowedCPUs")->type, CGSD_BITS);
	assert_int_equal(find(p, n, "AllowedCPUs")->bits[0], 0x03);
	assert_int_equal(find(p, n, "AllowedMemoryNodes")->bits[0], 0x01);

	/* -1 means no limit (systemd's infinity); 0 means unset: no property */
	memset(&r, 0, sizeof(r));
	r.has_memory = r.memory.has_limit = r.memory.has_swap = true;
	r.memory.limit = -1;
	r.memory.swap = -1;
	r.has_pids = true;
	r.pids_limit = -1;
	r.has_cpu = r.cpu.has_quota = r.cpu.has_shares = true;
	r.cpu.quota = -1;
	r.cpu.shares = 0;
	assert_int_equal(cgroup_systemd_properties(&r, p, CGROUP_SYSTEMD_PROPS_MAX, &n, &err), 0);
	assert_true(find(p, n, "MemoryMax")->u64 == UINT64_MAX);
	assert_true(find(p, n, "MemorySwapMax")->u64 == UINT64_MAX);
	assert_true(find(p, n, "TasksMax")->u64 == UINT64_MAX);
	assert_true(find(p, n, "CPUQuotaPerSecUSec")->u64 == UINT64_MAX);
	assert_null(find(p, n, "CPUWeight"));
	assert_null(find(p, n, "CPUQuotaPeriodUSec"));

	/* shares at the ends of the v1 range */
	memset(&r, 0, sizeof(r));
	r.has_cpu = r.cpu.has_shares = true;
	r.cpu.shares = 2;
	assert_int_equal(cgroup_systemd_properties(&r, p, CGROUP_SYSTEMD_PROPS_MAX, &n, &err), 0);
	assert_int_equal(find(p, n, "CPUWeight")->u64, 1);
	r.cpu.shares = 1000000;
	assert_int_equal(cgroup_systemd_properties(&r, p, CGROUP_SYSTEMD_PROPS_MAX, &n, &err), 0);
	assert_int_equal(find(p, n, "CPUWeight")->u64, 10000);

	/* errors name the field */
	char badcpus[] = "0-";
	r.cpu.cpus = badcpus;
	assert_int_equal(cgroup_systemd_properties(&r, p, CGROUP_SYSTEMD_PROPS_MAX, &n, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "linux.resources.cpu.cpus"));
	memset(&r, 0, sizeof(r));
	r.has_memory = r.memory.has_limit = r.memory.has_swap = true;
	r.memory.limit = 64 << 20;
	r.memory.swap = 32 << 20; /* below the limit */
	assert_true(cgroup_systemd_properties(&r, p, CGROUP_SYSTEMD_PROPS_MAX, &n, &err) < 0);
	assert_non_null(strstr(err.msg, "linux.resources.memory.swap"));
}

static void test_prop_words(void **state)
{
	(void)state;
	struct cgroup_systemd_prop p = {.name = "MemoryMax", .type = CGSD_U64, .u64 = 1048576}, q;
	char buf[320];
	assert_int_equal(cgroup_systemd_prop_format(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "MemoryMax=t:1048576");
	assert_int_equal(cgroup_systemd_prop_parse(buf, &q), 0);
	assert_string_equal(q.name, "MemoryMax");
	assert_int_equal(q.type, CGSD_U64);
	assert_int_equal(q.u64, 1048576);

	struct cgroup_systemd_prop m = {
	    .name = "AllowedCPUs", .type = CGSD_BITS, .bits = {0x0f, 0x01}, .n_bits = 2};
	assert_int_equal(cgroup_systemd_prop_format(&m, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "AllowedCPUs=ay:0f01");
	assert_int_equal(cgroup_systemd_prop_parse(buf, &q), 0);
	assert_int_equal(q.n_bits, 2);
	assert_int_equal(q.bits[0], 0x0f);
	assert_int_equal(q.bits[1], 0x01);

	struct cgroup_systemd_prop inf = {.name = "TasksMax", .type = CGSD_U64, .u64 = UINT64_MAX};
	assert_int_equal(cgroup_systemd_prop_format(&inf, buf, sizeof(buf)), 0);
	assert_int_equal(cgroup_systemd_prop_parse(buf, &q), 0);
	assert_true(q.u64 == UINT64_MAX);
	char tiny[8];
	assert_int_equal(cgroup_systemd_prop_format(&p, tiny, sizeof(tiny)), -ENAMETOOLONG);

	struct cgroup_systemd_prop d = {
	    .name = "DeviceAllow", .type = CGSD_DEVICE_ALLOW, .str = "/dev/char/1:3", .access = "rw"};
	assert_int_equal(cgroup_systemd_prop_format(&d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "DeviceAllow=a(ss):rw:/dev/char/1:3");
	assert_int_equal(cgroup_systemd_prop_parse(buf, &q), 0);
	assert_int_equal(q.type, CGSD_DEVICE_ALLOW);
	assert_string_equal(q.str, "/dev/char/1:3");
	assert_string_equal(q.access, "rw");
	struct cgroup_systemd_prop reset = {.name = "DeviceAllow", .type = CGSD_DEVICE_ALLOW};
	assert_int_equal(cgroup_systemd_prop_format(&reset, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "DeviceAllow=a(ss):");
	assert_int_equal(cgroup_systemd_prop_parse(buf, &q), 0);
	assert_string_equal(q.str, "");
	struct cgroup_systemd_prop pol = {.name = "DevicePolicy", .type = CGSD_STR, .str = "strict"};
	assert_int_equal(cgroup_systemd_prop_format(&pol, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "DevicePolicy=s:strict");
	assert_int_equal(cgroup_systemd_prop_parse(buf, &q), 0);
	assert_string_equal(q.str, "strict");

	/* the helper sets only berth's own properties, from well-formed words */
	const char *bad[] = {"ExecStart=t:1",    "MemoryMax",         "MemoryMax=s:x",
			     "MemoryMax=t:",     "MemoryMax=t:-1",    "MemoryMax=t:1x",
			     "AllowedCPUs=ay:0", "AllowedCPUs=ay:zz", "=t:1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cgroup_systemd_prop_parse(bad[i], &q) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

static const char proc_devices[] = "Character devices:\n  1 mem\n  4 /dev/vc/0\n  5 /dev/tty\n136 pts\n"
				   "\nBlock devices:\n  7 loop\n  8 sd\n";

#define DEV(allow_, type_, major_, minor_, access_)                                                          \
	{                                                                                                    \
		.allow = (allow_), .type = (type_), .has_major = (major_) >= 0, .major = (major_),           \
		.has_minor = (minor_) >= 0, .minor = (minor_), .access = (access_)                           \
	}

/* The DeviceAllow entries of @rules as "path access" lines ("" when none are given). */
static void device_lines(const struct oci_device_cgroup *rules, size_t n, char *buf, size_t size)
{
	struct cgroup_systemd_prop p[CGROUP_SYSTEMD_PROPS_MAX];
	size_t np = 1; /* after an existing property */
	buf[0] = '\0';
	assert_int_equal(
	    cgroup_systemd_device_props(rules, n, proc_devices, p, CGROUP_SYSTEMD_PROPS_MAX, &np), 0);
	if (np == 1)
		return;
	assert_string_equal(p[1].name, "DevicePolicy");
	assert_string_equal(p[1].str, "strict");
	assert_string_equal(p[2].name, "DeviceAllow");
	assert_string_equal(p[2].str, ""); /* the reset */
	for (size_t i = 3; i < np; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s %s", len ? "; " : "", p[i].str, p[i].access);
	}
}

static void test_device_props(void **state)
{
	(void)state;
	char got[1024];
	/* runc's default list after "deny all" */
	struct oci_device_cgroup dflt[] = {
	    DEV(false, 'a', -1, -1, NULL), DEV(true, 'c', -1, -1, "m"),    DEV(true, 'b', -1, -1, "m"),
	    DEV(true, 'c', 1, 3, "rwm"),   DEV(true, 'c', 136, -1, "rwm"), DEV(true, 'c', 5, 0, "rw"),
	    DEV(true, 'c', 5, 0, "m"),     DEV(false, 'c', 1, 9, "rw"),    DEV(true, 'c', 1, 5, "rwm"),
	    DEV(false, 'c', 1, 5, "w"),
	};
	device_lines(dflt, sizeof(dflt) / sizeof(dflt[0]), got, sizeof(got));
	assert_string_equal(got, "char-* m; block-* m; /dev/char/1:3 rwm; char-pts rwm; /dev/char/5:0 rwm; "
				 "/dev/char/1:5 rm");

	/* allow all: systemd needs no program (no properties) */
	struct oci_device_cgroup all[] = {DEV(true, 'a', -1, -1, "rwm"), DEV(true, 'c', 1, 3, "rwm")};
	device_lines(all, 1, got, sizeof(got));
	assert_string_equal(got, "");
	/* all but one device: systemd has no "deny" entry */
	struct oci_device_cgroup but[] = {DEV(true, 'a', -1, -1, "rwm"), DEV(false, 'b', 1, 0, "rwm")};
	device_lines(but, 2, got, sizeof(got));
	assert_string_equal(got, "");
	/* a deny cutting into a wider allow */
	struct oci_device_cgroup cut[] = {DEV(false, 'a', -1, -1, "rwm"), DEV(true, 'c', 1, -1, "rwm"),
					  DEV(false, 'c', 1, 3, "w")};
	device_lines(cut, 3, got, sizeof(got));
	assert_string_equal(got, "");
	/* ... or into a narrower one listed before the exact match */
	struct oci_device_cgroup cut2[] = {DEV(false, 'a', -1, -1, "rwm"), DEV(true, 'c', 1, 3, "rwm"),
					   DEV(true, 'c', -1, -1, "m"), DEV(false, 'c', 1, 3, "m")};
	device_lines(cut2, 4, got, sizeof(got));
	assert_string_equal(got, "");
	/* a major /proc/devices does not name */
	struct oci_device_cgroup unnamed[] = {DEV(false, 'a', -1, -1, "rwm"), DEV(true, 'c', 250, -1, "rw")};
	device_lines(unnamed, 2, got, sizeof(got));
	assert_string_equal(got, "");
	/* a block major by name; an entry denied away entirely is dropped */
	struct oci_device_cgroup blk[] = {DEV(false, 'a', -1, -1, "rwm"), DEV(true, 'b', 8, -1, "r"),
					  DEV(true, 'b', 7, 0, "rw"), DEV(false, 'b', 7, 0, "rw")};
	device_lines(blk, 4, got, sizeof(got));
	assert_string_equal(got, "block-sd r");
	/* deny all and nothing else: strict, no entries */
	struct cgroup_systemd_prop p[CGROUP_SYSTEMD_PROPS_MAX];
	size_t np = 0;
	assert_int_equal(cgroup_systemd_device_props(dflt, 1, proc_devices, p, CGROUP_SYSTEMD_PROPS_MAX, &np),
			 0);
	assert_int_equal(np, 2);
	/* no rules: nothing */
	np = 0;
	assert_int_equal(cgroup_systemd_device_props(NULL, 0, proc_devices, p, CGROUP_SYSTEMD_PROPS_MAX, &np),
			 0);
	assert_int_equal(np, 0);
	/* more entries than CGROUP_SYSTEMD_DEVICES_MAX: left to berth's eBPF program */
	struct oci_device_cgroup many[CGROUP_SYSTEMD_DEVICES_MAX + 2];
	many[0] = (struct oci_device_cgroup)DEV(false, 'a', -1, -1, "rwm");
	for (int i = 1; i < CGROUP_SYSTEMD_DEVICES_MAX + 2; i++)
		many[i] = (struct oci_device_cgroup)DEV(true, 'c', 1, i, "rwm");
	device_lines(many, CGROUP_SYSTEMD_DEVICES_MAX + 2, got, sizeof(got));
	assert_string_equal(got, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand_slice), cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_unit_of_path), cmocka_unit_test(test_quota),
	    cmocka_unit_test(test_cpuset_mask),  cmocka_unit_test(test_properties),
	    cmocka_unit_test(test_prop_words),   cmocka_unit_test(test_device_props),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
