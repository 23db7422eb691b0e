/* cgroup v2 device control: linux.resources.devices translated into a
 * BPF_PROG_TYPE_CGROUP_DEVICE program, assembled here instruction by instruction and loaded with
 * bpf(2) directly (no libbpf).
 *
 * The program sees struct bpf_cgroup_dev_ctx { access_type = access << 16 | type; major; minor }
 * and returns 1 to allow, 0 to deny. Rules are checked from the last to the first, so the last
 * rule that matches decides; each requested access bit is decided separately:
 *
 *   r2 = type, r3 = requested access bits still undecided, r4 = major, r5 = minor
 *   per rule (last first), skipped unless type/major/minor match:
 *     allow rwm:    return 1
 *     allow subset: r3 &= ~subset; if r3 == 0 return 1      (the rest is decided further up)
 *     deny rwm:     return 0
 *     deny subset:  if r3 & subset return 0
 *   return 0                                                 (an allowlist: default deny)
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/cgroups.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "resources.h"

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)
#define LOG_SIZE (256u << 10)

/* Registers of the program (see the top of the file). */
enum { R0 = 0, R1, R2, R3, R4, R5 };

/* ---- the instruction emitter ---- */

struct emitter {
	struct bpf_insn *insns;
	size_t n, cap;
	bool oom;
};

/* Append one instruction; returns its index (for patching jump offsets). */
static size_t emit(struct emitter *e, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (e->n == e->cap && !e->oom) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		struct bpf_insn *grown = realloc(e->insns, cap * sizeof(*grown));
		if (!grown)
			e->oom = true;
		else {
			e->insns = grown;
			e->cap = cap;
		}
	}
	if (e->oom)
		return 0;
	e->insns[e->n] =
	    (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
	return e->n++;
}

/* dst = *(u32 *)(src + off) */
static void ldx_w(struct emitter *e, uint8_t dst, uint8_t src, int16_t off)
{
	emit(e, BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}

/* 32-bit ALU with an immediate: dst op= imm (the upper half is zeroed). */
static void alu32_imm(struct emitter *e, uint8_t op, uint8_t dst, int32_t imm)
{
	emit(e, BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}

static void mov32_reg(struct emitter *e, uint8_t dst, uint8_t src)
{
	emit(e, BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}

static void mov64_imm(struct emitter *e, uint8_t dst, int32_t imm)
{
	emit(e, BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}

/* if ((u32)dst op (u32)imm) goto +off; the offset is patched once the target is known. The
 * 32-bit compare matters: majors above 2^31 must not be sign-extended. */
static size_t jmp32_imm(struct emitter *e, uint8_t op, uint8_t dst, uint32_t imm)
{
	return emit(e, BPF_JMP32 | op | BPF_K, dst, 0, 0, (int32_t)imm);
}

static void exit_with(struct emitter *e, int32_t ret)
{
	mov64_imm(e, R0, ret);
	emit(e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* Point the jumps at @idx[0..n) to the current end (the next rule's first instruction). */
static void patch_to_here(struct emitter *e, const size_t *idx, size_t n)
{
	for (size_t i = 0; i < n && !e->oom; i++)
		e->insns[idx[i]].off = (int16_t)(e->n - idx[i] - 1);
}

/* ---- rules -> program ---- */

static void emit_prologue(struct emitter *e)
{
	ldx_w(e, R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	mov32_reg(e, R3, R2);
	alu32_imm(e, BPF_AND, R2, 0xffff); /* BPF_DEVCG_DEV_* */
	alu32_imm(e, BPF_RSH, R3, 16);     /* BPF_DEVCG_ACC_* */
	ldx_w(e, R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major));
	ldx_w(e, R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor));
}

/* One rule's block. Returns true when the block always returns (a rule matching every device
 * and access): nothing after it is reachable, and the verifier refuses unreachable code. */
static bool emit_rule(struct emitter *e, const struct oci_device_cgroup *rule)
{
	unsigned access = cg_device_access_bits(rule->access);
	size_t skip[4], n = 0;

	if (rule->type == 'c' || rule->type == 'b')
		skip[n++] =
		    jmp32_imm(e, BPF_JNE, R2, rule->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
	if (rule->has_major)
		skip[n++] = jmp32_imm(e, BPF_JNE, R4, (uint32_t)rule->major);
	if (rule->has_minor)
		skip[n++] = jmp32_imm(e, BPF_JNE, R5, (uint32_t)rule->minor);
	if (access == ACC_ALL) {
		exit_with(e, rule->allow ? 1 : 0);
		patch_to_here(e, skip, n);
		return n == 0;
	}
	if (rule->allow) {
		alu32_imm(e, BPF_AND, R3, (int32_t)~access);
		skip[n++] = jmp32_imm(e, BPF_JNE, R3, 0);
	} else {
		mov32_reg(e, R1, R3);
		alu32_imm(e, BPF_AND, R1, (int32_t)access);
		skip[n++] = jmp32_imm(e, BPF_JEQ, R1, 0);
	}
	exit_with(e, rule->allow ? 1 : 0);
	patch_to_here(e, skip, n);
	return false;
}

int cgroup_devices_bpf_build(const struct oci_device_cgroup *rules, size_t n, struct bpf_insn **ret_insns,
			     size_t *ret_n, struct berth_error *err)
{
	struct emitter e = {0};
	bool done = false;

	if (n > CGROUP_DEVICES_BPF_MAX_RULES)
		return berth_error_set(err, -E2BIG, "linux.resources.devices: more than %d rules",
				       CGROUP_DEVICES_BPF_MAX_RULES);
	for (size_t i = 0; i < n; i++) {
		int r = cg_device_rule_check(&rules[i], i, err);
		if (r < 0)
			return r;
	}
	emit_prologue(&e);
	for (size_t i = n; i-- > 0 && !done;)
		done = emit_rule(&e, &rules[i]);
	if (!done)
		exit_with(&e, 0);
	if (e.oom) {
		free(e.insns);
		return berth_error_set(err, -ENOMEM, "out of memory");
	}
	*ret_insns = e.insns;
	*ret_n = e.n;
	return 0;
}

/* ---- bpf(2) ---- */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));
	return r < 0 ? -errno : (int)r;
}

/* The verifier's last non-empty line, for an error message. */
static const char *last_line(char *log)
{
	size_t len = strnlen(log, LOG_SIZE);
	while (len > 0 && (log[len - 1] == '\n' || log[len - 1] == ' '))
		log[--len] = '\0';
	char *nl = strrchr(log, '\n');
	return nl ? nl + 1 : log;
}

static int prog_load(const struct bpf_insn *insns, size_t n, char *log, struct berth_error *err)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.expected_attach_type = BPF_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	snprintf(attr.prog_name, sizeof(attr.prog_name), "%s", CGROUP_DEVICES_BPF_NAME);
	if (log) {
		log[0] = '\0';
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = LOG_SIZE;
		attr.log_level = 1;
	}
	/* Program descriptors are always close-on-exec. */
	int fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0 || log)
		return fd;
	if (fd == -EPERM)
		return berth_error_setf_errno(err, fd, "load the device eBPF program (needs CAP_SYS_ADMIN)");
	return fd;
}

/* Load @insns; on a refusal, load again with the verifier log to say why. */
static int load(const struct bpf_insn *insns, size_t n, struct berth_error *err)
{
	int fd = prog_load(insns, n, NULL, err);
	if (fd >= 0 || fd == -EPERM)
		return fd;
	_cleanup_free_ char *log = malloc(LOG_SIZE);
	if (!log)
		return berth_error_setf_errno(err, fd, "load the device eBPF program");
	int again = prog_load(insns, n, log, err);
	if (again >= 0)
		return again; /* a transient failure */
	return berth_error_setf_errno(err, fd, "load the device eBPF program (verifier: %.200s)",
				      last_line(log));
}

static int attach(int cgroup_fd, int prog_fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	/* ALLOW_MULTI: the new program can join ours (and others') before the old one leaves, so
	 * an update never leaves a window without a filter. */
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	return sys_bpf(BPF_PROG_ATTACH, &attr);
}

static int detach(int cgroup_fd, int prog_fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	return sys_bpf(BPF_PROG_DETACH, &attr);
}

/* Ids of every device program attached directly to @cgroup_fd. *ret_ids malloc'd. */
static int query_all(int cgroup_fd, uint32_t **ret_ids, size_t *ret_n)
{
	uint32_t cap = 16;

	for (;;) {
		_cleanup_free_ uint32_t *ids = calloc(cap, sizeof(*ids));
		union bpf_attr attr;
		if (!ids)
			return -ENOMEM;
		memset(&attr, 0, sizeof(attr));
		attr.query.target_fd = (uint32_t)cgroup_fd;
		attr.query.attach_type = BPF_CGROUP_DEVICE;
		attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
		attr.query.prog_cnt = cap;
		int r = sys_bpf(BPF_PROG_QUERY, &attr);
		if (r == -ENOSPC && attr.query.prog_cnt > cap && cap < 65536) {
			cap = attr.query.prog_cnt;
			continue;
		}
		if (r < 0)
			return r;
		*ret_n = attr.query.prog_cnt < cap ? attr.query.prog_cnt : cap;
		*ret_ids = TAKE_PTR(ids);
		return 0;
	}
}

/* A descriptor for program @id when it is one of ours, -ENOENT when it is not (or is gone). */
static int open_ours(uint32_t id)
{
	union bpf_attr attr;
	struct bpf_prog_info info;

	memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;
	_cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
	if (fd < 0)
		return fd;
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	int r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
	if (r < 0)
		return r;
	if (info.type != BPF_PROG_TYPE_CGROUP_DEVICE || strcmp(info.name, CGROUP_DEVICES_BPF_NAME) != 0)
		return -ENOENT;
	return TAKE_FD(fd);
}

int cg_bpf_list_ours(int cgroup_fd, uint32_t *ids, size_t max, size_t *ret_n)
{
	_cleanup_free_ uint32_t *all = NULL;
	size_t n_all = 0, k = 0;
	int r = query_all(cgroup_fd, &all, &n_all);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n_all; i++) {
		int fd = open_ours(all[i]);
		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return fd;
		close(fd);
		if (k < max)
			ids[k] = all[i];
		k++;
	}
	*ret_n = k;
	return 0;
}

/* Detach our programs among @ids (a snapshot taken before attaching the new one). */
static int detach_ours(int cgroup_fd, const uint32_t *ids, size_t n, struct berth_error *err)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int fd = open_ours(ids[i]);
		if (fd == -ENOENT)
			continue;
		int r = fd < 0 ? fd : detach(cgroup_fd, fd);
		if (r == -ENOENT)
			continue; /* detached meanwhile */
		if (r < 0)
			return berth_error_setf_errno(
			    err, r, "detach the previous device eBPF program (id %u)", ids[i]);
	}
	return 0;
}

int cgroup_devices_bpf_apply(int cgroup_fd, const struct oci_device_cgroup *rules, size_t n,
			     struct berth_error *err)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	_cleanup_free_ uint32_t *old = NULL;
	size_t n_insns = 0, n_old = 0;

	int r = cgroup_devices_bpf_build(rules, n, &insns, &n_insns, err);
	if (r < 0)
		return r;
	_cleanup_close_ int prog = load(insns, n_insns, err);
	if (prog < 0)
		return prog;
	r = query_all(cgroup_fd, &old, &n_old);
	if (r < 0)
		return berth_error_setf_errno(err, r, "query the device eBPF programs of the cgroup");
	r = attach(cgroup_fd, prog);
	if (r < 0)
		return berth_error_setf_errno(err, r, "attach the device eBPF program to the cgroup");
	log_debug("cgroup: device eBPF program attached (%zu instructions, %zu rules)", n_insns, n);
	return detach_ours(cgroup_fd, old, n_old, err);
}

int cgroup_devices_bpf_count(int cgroup_fd, size_t *ret_n, struct berth_error *err)
{
	uint32_t id;
	int r = cg_bpf_list_ours(cgroup_fd, &id, 1, ret_n);
	if (r < 0)
		return berth_error_setf_errno(err, r, "query the device eBPF programs of the cgroup");
	return 0;
}

int cgroup_devices_bpf_detach(int cgroup_fd, struct berth_error *err)
{
	_cleanup_free_ uint32_t *ids = NULL;
	size_t n = 0;
	int r = query_all(cgroup_fd, &ids, &n);

	if (r < 0)
		return berth_error_setf_errno(err, r, "query the device eBPF programs of the cgroup");
	return detach_ours(cgroup_fd, ids, n, err);
}
