/* Device rules without a kernel: the v1 devices.allow/deny lines, the exact eBPF instruction
 * sequence for a typical rule list, and the generated programs run in a small interpreter
 * against a reference model of the rule semantics (last matching rule wins per access bit,
 * default deny) for many rule lists and devices. Loading into the kernel is
 * test_cgroup_devices_bpf.c. */
#include "test_cgroup_fake.h"

#include <linux/bpf.h>

#define ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

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

/* ---- v1 lines ---- */

static void test_v1_lines(void **state)
{
	struct oci_device_cgroup rules[] = {
	    rule(false, 'a', -1, -1, "rwm"), rule(true, 'c', 1, 3, "rwm"), rule(true, 'c', -1, -1, "m"),
	    rule(true, 'b', 8, -1, "r"),     rule(true, 'a', 1, 5, "wr"),  rule(false, 'c', 136, -1, NULL),
	    rule(true, 'a', -1, -1, "r"),
	};
	struct cg_dev_line out[2 * 7 + 1];
	struct berth_error err = {0};
	size_t n = 0;
	(void)state;

	assert_int_equal(cg_v1_device_lines(rules, 7, out, &n, &err), 0);
	const struct {
		bool allow;
		const char *line;
	} want[] = {
	    {false, "a"},           {true, "c 1:3 rwm"}, {true, "c *:* m"},
	    {true, "b 8:* r"},      {true, "c 1:5 rw"},  {true, "b 1:5 rw"},
	    {false, "c 136:* rwm"}, {true, "c *:* r"},   {true, "b *:* r"},
	};
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out[i].allow, want[i].allow);
		assert_string_equal(out[i].line, want[i].line);
	}
	assert_int_equal(out[0].rule, 0);
	assert_int_equal(out[5].rule, 4);

	/* not starting with a whole wildcard: an allowlist starts from "deny everything" */
	struct oci_device_cgroup only[] = {rule(true, 'c', 1, 3, "rwm")};
	assert_int_equal(cg_v1_device_lines(only, 1, out, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_false(out[0].allow);
	assert_string_equal(out[0].line, "a");
	assert_int_equal(out[0].rule, SIZE_MAX);
	assert_string_equal(out[1].line, "c 1:3 rwm");

	/* allow-all first: the kernel's "a" to devices.allow, no reset before it */
	struct oci_device_cgroup open_all[] = {rule(true, 'a', -1, -1, NULL), rule(false, 'c', 1, 5, "w")};
	assert_int_equal(cg_v1_device_lines(open_all, 2, out, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(out[0].allow);
	assert_string_equal(out[0].line, "a");
	assert_false(out[1].allow);
	assert_string_equal(out[1].line, "c 1:5 w");

	struct oci_device_cgroup bad[] = {rule(true, 'c', 1, 1LL << 33, "r")};
	assert_int_equal(cg_v1_device_lines(bad, 1, out, &n, &err), -EINVAL);
	assert_string_equal(err.msg, "linux.resources.devices[0].minor: 8589934592 is out of range");
}

/* ---- eBPF ---- */

#define INSN(c, d, s, o, i)                                                                                  \
	{                                                                                                    \
		.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)                          \
	}

static void assert_insns(const struct bpf_insn *got, size_t n, const struct bpf_insn *want, size_t n_want)
{
	assert_int_equal(n, n_want);
	for (size_t i = 0; i < n; i++) {
		if (memcmp(&got[i], &want[i], sizeof(got[i])) != 0)
			fail_msg(
			    "instruction %zu: code %#x dst %u src %u off %d imm %d, expected code %#x dst %u "
			    "src %u off %d imm %d",
			    i, got[i].code, got[i].dst_reg, got[i].src_reg, got[i].off, got[i].imm,
			    want[i].code, want[i].dst_reg, want[i].src_reg, want[i].off, want[i].imm);
	}
}

static const struct bpf_insn prologue[] = {
    INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0),      /* r2 = ctx->access_type */
    INSN(BPF_ALU | BPF_MOV | BPF_X, 3, 2, 0, 0),      /* w3 = w2 */
    INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff), /* w2 &= 0xffff: device type */
    INSN(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16),     /* w3 >>= 16: access */
    INSN(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0),      /* r4 = ctx->major */
    INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0),      /* r5 = ctx->minor */
};

static void test_bpf_sequence(void **state)
{
	struct oci_device_cgroup rules[] = {
	    rule(false, 'a', -1, -1, "rwm"),
	    rule(true, 'c', 1, 3, "rwm"),
	    rule(true, 'c', 1, 5, "r"),
	};
	struct bpf_insn want[32];
	struct bpf_insn *got = NULL;
	struct berth_error err = {0};
	size_t n = 0, k = 0;
	(void)state;

	memcpy(want, prologue, sizeof(prologue));
	k = sizeof(prologue) / sizeof(prologue[0]);
	/* rule 2 first (the last one listed): c 1:5 r */
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 2, 0, 6, BPF_DEVCG_DEV_CHAR);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 4, 0, 5, 1);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 5, 0, 4, 5);
	want[k++] = (struct bpf_insn)INSN(BPF_ALU | BPF_AND | BPF_K, 3, 0, 0, ~BPF_DEVCG_ACC_READ);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 3, 0, 2, 0);
	want[k++] = (struct bpf_insn)INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/* rule 1: c 1:3 rwm */
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 2, 0, 4, BPF_DEVCG_DEV_CHAR);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 4, 0, 3, 1);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 5, 0, 2, 3);
	want[k++] = (struct bpf_insn)INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/* rule 0: deny everything, unconditionally: nothing follows (no unreachable code) */
	want[k++] = (struct bpf_insn)INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

	assert_int_equal(cgroup_devices_bpf_build(rules, 3, &got, &n, &err), 0);
	assert_insns(got, n, want, k);
	free(got);

	/* a partial deny and the default-deny tail */
	struct oci_device_cgroup deny_w[] = {rule(false, 'b', 8, -1, "w")};
	k = sizeof(prologue) / sizeof(prologue[0]);
	memcpy(want, prologue, sizeof(prologue));
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 2, 0, 6, BPF_DEVCG_DEV_BLOCK);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JNE | BPF_K, 4, 0, 5, 8);
	want[k++] = (struct bpf_insn)INSN(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0);
	want[k++] = (struct bpf_insn)INSN(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, BPF_DEVCG_ACC_WRITE);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP32 | BPF_JEQ | BPF_K, 1, 0, 2, 0);
	want[k++] = (struct bpf_insn)INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	want[k++] = (struct bpf_insn)INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	want[k++] = (struct bpf_insn)INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	assert_int_equal(cgroup_devices_bpf_build(deny_w, 1, &got, &n, &err), 0);
	assert_insns(got, n, want, k);
	free(got);
}

/* Run @p as the kernel would for one device access. Every jump must land inside the program and
 * every path must end in an exit. */
static int run(const struct bpf_insn *p, size_t n, uint32_t type, uint32_t access, uint32_t major,
	       uint32_t minor)
{
	struct bpf_cgroup_dev_ctx ctx = {.access_type = access << 16 | type, .major = major, .minor = minor};
	uint64_t reg[11] = {0};
	bool ctx_reg[11] = {false};

	ctx_reg[1] = true;
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &p[pc];
		uint8_t d = i->dst_reg, s = i->src_reg;
		assert_true(d <= 10 && s <= 10);
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			assert_true(ctx_reg[s] && i->off >= 0 && i->off <= 8 && i->off % 4 == 0);
			reg[d] = *(const uint32_t *)((const char *)&ctx + i->off);
			ctx_reg[d] = false;
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			reg[d] = (uint32_t)reg[s];
			ctx_reg[d] = false;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			reg[d] = (uint32_t)reg[d] & (uint32_t)i->imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			reg[d] = (uint32_t)reg[d] >> i->imm;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			reg[d] = (uint64_t)(int64_t)i->imm;
			ctx_reg[d] = false;
			break;
		case BPF_JMP32 | BPF_JNE | BPF_K:
		case BPF_JMP32 | BPF_JEQ | BPF_K: {
			bool eq = (uint32_t)reg[d] == (uint32_t)i->imm;
			assert_true(i->off >= 0 && pc + 1 + (size_t)i->off < n);
			if (eq == (BPF_OP(i->code) == BPF_JEQ))
				pc += (size_t)i->off;
			break;
		}
		case BPF_JMP | BPF_EXIT:
			assert_true(reg[0] <= 1);
			return (int)reg[0];
		default:
			fail_msg("unexpected opcode %#x at %zu", i->code, pc);
		}
	}
	fail_msg("the program runs off its end");
	return -1;
}

/* The rule semantics, written plainly: walk the rules from the last; each requested access bit
 * is decided by the last rule that matches the device and names that bit; undecided bits deny. */
static int model(const struct oci_device_cgroup *rules, size_t n, uint32_t type, uint32_t access,
		 uint32_t major, uint32_t minor)
{
	uint32_t undecided = access;

	for (size_t i = n; i-- > 0;) {
		const struct oci_device_cgroup *r = &rules[i];
		char t = type == BPF_DEVCG_DEV_CHAR ? 'c' : 'b';
		if ((r->type != 'a' && r->type != t) || (r->has_major && (uint32_t)r->major != major) ||
		    (r->has_minor && (uint32_t)r->minor != minor))
			continue;
		uint32_t bits = cg_device_access_bits(r->access);
		if (r->allow) {
			undecided &= ~bits;
			if (!undecided)
				return 1;
		} else if (undecided & bits) {
			return 0;
		}
	}
	return 0;
}

static const char *const accesses[] = {"r", "w", "m", "rw", "rm", "wm", "rwm", NULL};
static const int64_t majors[] = {-1, 1, 5, 8, 2147483649LL, 4294967295LL};
static const int64_t minors[] = {-1, 0, 3, 5, 2147483648LL};

static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void check_against_model(const struct oci_device_cgroup *rules, size_t n)
{
	static const uint32_t devs[][2] = {
	    {1, 3}, {1, 5}, {5, 0}, {8, 0}, {8, 3}, {4294967295u, 2147483648u}, {2147483649u, 0}, {0, 0}};
	struct bpf_insn *p = NULL;
	struct berth_error err = {0};
	size_t len = 0;

	if (cgroup_devices_bpf_build(rules, n, &p, &len, &err) < 0)
		fail_msg("build: %s", err.msg);
	for (uint32_t type = BPF_DEVCG_DEV_BLOCK; type <= BPF_DEVCG_DEV_CHAR; type++)
		for (uint32_t access = 1; access <= ALL; access++)
			for (size_t d = 0; d < sizeof(devs) / sizeof(devs[0]); d++) {
				int want = model(rules, n, type, access, devs[d][0], devs[d][1]);
				int got = run(p, len, type, access, devs[d][0], devs[d][1]);
				if (got != want)
					fail_msg(
					    "%zu rules, type %u access %u device %u:%u: program says %d, "
					    "rules say %d",
					    n, type, access, devs[d][0], devs[d][1], got, want);
			}
	free(p);
}

static void test_bpf_semantics(void **state)
{
	struct oci_device_cgroup rules[8];
	uint32_t seed = 0x9e3779b9u;
	(void)state;

	/* the typical container list */
	struct oci_device_cgroup typical[] = {
	    rule(false, 'a', -1, -1, NULL),  rule(true, 'c', -1, -1, "m"), rule(true, 'b', -1, -1, "m"),
	    rule(true, 'c', 1, 3, "rwm"),    rule(true, 'c', 1, 5, "rwm"), rule(true, 'c', 5, 0, "rwm"),
	    rule(true, 'c', 136, -1, "rwm"), rule(false, 'c', 1, 5, "w"),
	};
	check_against_model(typical, 8);
	check_against_model(typical, 0); /* nothing allowed */

	/* random lists, including partial wildcards and conflicting rules */
	for (int round = 0; round < 3000; round++) {
		size_t n = next_random(&seed) % 8;
		for (size_t i = 0; i < n; i++) {
			uint32_t x = next_random(&seed);
			rules[i] = rule(x & 1, "acb"[(x >> 1) % 3], majors[(x >> 3) % 6],
					minors[(x >> 6) % 5], accesses[(x >> 9) % 8]);
		}
		check_against_model(rules, n);
	}
}

static void test_bpf_errors(void **state)
{
	struct oci_device_cgroup bad[] = {rule(true, 'c', 1, 3, "rwm"), rule(true, 'x', 1, 3, "rwm")};
	struct bpf_insn *p = NULL;
	struct berth_error err = {0};
	size_t n = 0;
	(void)state;

	assert_int_equal(cgroup_devices_bpf_build(bad, 2, &p, &n, &err), -EINVAL);
	assert_string_equal(err.msg, "linux.resources.devices[1].type: 'x' is not a, c or b");
	bad[1] = rule(true, 'b', 1LL << 32, 0, "r");
	assert_int_equal(cgroup_devices_bpf_build(bad, 2, &p, &n, &err), -EINVAL);
	assert_string_equal(err.msg, "linux.resources.devices[1].major: 4294967296 is out of range");
	assert_int_equal(cgroup_devices_bpf_build(bad, CGROUP_DEVICES_BPF_MAX_RULES + 1, &p, &n, &err),
			 -E2BIG);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_lines),
	    cmocka_unit_test(test_bpf_sequence),
	    cmocka_unit_test(test_bpf_semantics),
	    cmocka_unit_test(test_bpf_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
