/* linux.seccomp: compile the profile with libseccomp to classic BPF, cache the program under the
 * state root, load it with seccomp(2), and hand the notification fd to the listener.
 *
 * The init loads the exported program itself instead of calling seccomp_load(): that keeps the
 * cost of libseccomp (name resolution, tree building) in `create`, lets the program be cached,
 * and gives the exact seccomp(2) flags the profile asks for. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "berth/sha256.h"
#include "berth/util.h"
#include "berth/version.h"
#include "lifecycle.h"
#include "seccomp.h"
#include "trampoline_exec.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

#define X32_SYSCALL_BIT 0x40000000u
#define MAX_ERRNO 4095u

/* ---- profile checks and translation ---- */

static const struct {
	const char *name;
	unsigned int flag;
} filter_flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static const struct {
	const char *name;
	enum scmp_compare op;
} compare_ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* Whether the running kernel knows @flag: with a NULL program, a known flag fails on the
 * copy (EFAULT) before anything is loaded, an unknown one with EINVAL. */
static bool kernel_has_flag(unsigned int flag)
{
	/* WAIT_KILLABLE_RECV is only valid together with NEW_LISTENER. */
	if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
		flag |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL) < 0 && errno == EFAULT;
}

static int parse_flags(const struct oci_seccomp *s, unsigned int *ret, struct berth_error *err)
{
	unsigned int flags = 0;
	for (size_t i = 0; s->flags && s->flags[i]; i++) {
		size_t k = 0;
		while (k < ARRAY_SIZE(filter_flags) && strcmp(filter_flags[k].name, s->flags[i]) != 0)
			k++;
		if (k == ARRAY_SIZE(filter_flags))
			return berth_error_set(err, -EINVAL, "linux.seccomp.flags[%zu]: unknown flag \"%s\"",
					       i, s->flags[i]);
		if (!kernel_has_flag(filter_flags[k].flag))
			return berth_error_set(err, -EOPNOTSUPP,
					       "linux.seccomp.flags[%zu]: %s is not supported by this kernel",
					       i, s->flags[i]);
		flags |= filter_flags[k].flag;
	}
	*ret = flags;
	return 0;
}

/* The libseccomp action for an OCI action name. @field names the errno (errnoRet or
 * defaultErrnoRet): only meaningful for ERRNO and TRACE, and the spec requires an error otherwise.
 * Absent, it is EPERM, as in runc. */
static int parse_action(const char *name, bool has_errno, uint32_t errno_ret, const char *field,
			uint32_t *ret, struct berth_error *err)
{
	uint32_t data = has_errno ? errno_ret : EPERM;
	bool takes_errno = strcmp(name, "SCMP_ACT_ERRNO") == 0 || strcmp(name, "SCMP_ACT_TRACE") == 0;
	if (has_errno && !takes_errno)
		return berth_error_set(err, -EINVAL, "%s: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
				       field);
	if (strcmp(name, "SCMP_ACT_ERRNO") == 0 && data > MAX_ERRNO)
		return berth_error_set(err, -ERANGE, "%s: %" PRIu32 " is not an errno (0..%u)", field, data,
				       MAX_ERRNO);
	if (data > SECCOMP_RET_DATA)
		return berth_error_set(err, -ERANGE, "%s: %" PRIu32 " does not fit in 16 bits", field, data);
	if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
		*ret = SCMP_ACT_KILL_THREAD;
	else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
		*ret = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
		*ret = SCMP_ACT_TRAP;
	else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
		*ret = SCMP_ACT_ERRNO(data);
	else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
		*ret = SCMP_ACT_TRACE(data);
	else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
		*ret = SCMP_ACT_ALLOW;
	else if (strcmp(name, "SCMP_ACT_LOG") == 0)
		*ret = SCMP_ACT_LOG;
	else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
		*ret = SCMP_ACT_NOTIFY;
	else
		return berth_error_set(err, -EINVAL, "linux.seccomp: unknown action \"%s\"", name);
	return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token, through its own name ("x86_64"), so an architecture
 * this libseccomp does not know is refused by name rather than mis-mapped. */
static uint32_t arch_token(const char *name)
{
	char lower[32];
	if (!str_has_prefix(name, "SCMP_ARCH_") || strlen(name + 10) >= sizeof(lower))
		return 0;
	size_t i = 0;
	for (const char *p = name + 10; *p; p++)
		lower[i++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

static bool uses_notify(const struct oci_seccomp *s)
{
	for (size_t i = 0; i < s->n_syscalls; i++)
		if (strcmp(s->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
			return true;
	return false;
}

/* The runtime itself writes after loading the filter (the listener message): a notifying
 * write would wait for a listener that never gets its fd. runc refuses the same. */
static int check_notify(const struct oci_seccomp *s, bool notify, struct berth_error *err)
{
	if (strcmp(s->default_action, "SCMP_ACT_NOTIFY") == 0)
		return berth_error_set(
		    err, -EINVAL,
		    "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
	if (!notify)
		return 0;
	if (!s->listener_path || !*s->listener_path)
		return berth_error_set(err, -EINVAL,
				       "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
	for (size_t i = 0; i < s->n_syscalls; i++) {
		if (strcmp(s->syscalls[i].action, "SCMP_ACT_NOTIFY") != 0)
			continue;
		for (char **n = s->syscalls[i].names; *n; n++)
			if (strcmp(*n, "write") == 0 || strcmp(*n, "sendmsg") == 0)
				return berth_error_set(
				    err, -EINVAL,
				    "linux.seccomp.syscalls[%zu]: SCMP_ACT_NOTIFY cannot be used for "
				    "%s (the runtime needs it to hand over the notification fd)",
				    i, *n);
	}
	return 0;
}

/* ---- building the libseccomp filter ---- */

static void release_ctx(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
	*ctx = NULL;
}

/* Add one rule for @nr. Conditions on distinct arguments are ANDed in one rule; when two share an
 * argument (libseccomp refuses that in one rule) each becomes a rule of its own, as runc does. */
static int add_rule(scmp_filter_ctx ctx, const struct oci_seccomp_syscall *sc, size_t idx, const char *name,
		    int nr, uint32_t action, struct berth_error *err)
{
	struct scmp_arg_cmp cmp[6];
	unsigned int seen = 0;
	bool shared = false;
	int r = 0;
	if (sc->n_args > ARRAY_SIZE(cmp))
		return berth_error_set(err, -E2BIG,
				       "linux.seccomp.syscalls[%zu].args: more than 6 conditions", idx);
	for (size_t i = 0; i < sc->n_args; i++) {
		const struct oci_seccomp_arg *a = &sc->args[i];
		size_t k = 0;
		while (k < ARRAY_SIZE(compare_ops) && strcmp(compare_ops[k].name, a->op) != 0)
			k++;
		if (k == ARRAY_SIZE(compare_ops) || a->index > 5)
			return berth_error_set(
			    err, -EINVAL, "linux.seccomp.syscalls[%zu].args[%zu]: bad condition", idx, i);
		/* For MASKED_EQ, value is the mask and valueTwo the datum, as libseccomp takes them. */
		cmp[i] = (struct scmp_arg_cmp){
		    .arg = a->index, .op = compare_ops[k].op, .datum_a = a->value, .datum_b = a->value_two};
		shared |= (seen & (1u << a->index)) != 0;
		seen |= 1u << a->index;
	}
	if (!shared)
		r = seccomp_rule_add_array(ctx, action, nr, (unsigned int)sc->n_args, cmp);
	for (size_t i = 0; shared && r == 0 && i < sc->n_args; i++)
		r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
	if (r < 0)
		return berth_error_setf_errno(err, r, "linux.seccomp.syscalls[%zu]: add the rule for %s", idx,
					      name);
	return 0;
}

/* Every rule of the profile; *ret_count is the number of rules libseccomp took. */
static int add_rules(scmp_filter_ctx ctx, const struct oci_seccomp *s, uint32_t default_action,
		     size_t *ret_count, struct berth_error *err)
{
	char field[64];
	size_t count = 0;
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct oci_seccomp_syscall *sc = &s->syscalls[i];
		uint32_t action;
		snprintf(field, sizeof(field), "linux.seccomp.syscalls[%zu].errnoRet", i);
		int r = parse_action(sc->action, sc->has_errno_ret, sc->errno_ret, field, &action, err);
		if (r < 0)
			return r;
		/* libseccomp refuses a rule whose action is the default; it would change nothing. */
		if (action == default_action)
			continue;
		for (char **n = sc->names; *n; n++) {
			int nr = seccomp_syscall_resolve_name(*n);
			if (nr == __NR_SCMP_ERROR) {
				/* Profiles list syscalls of newer kernels and other arches: skip, as runc
				 * does. */
				log_debug("seccomp: unknown syscall \"%s\" ignored", *n);
				continue;
			}
			r = add_rule(ctx, sc, i, *n, nr, action, err);
			if (r < 0)
				return r;
			count++;
		}
	}
	*ret_count = count;
	return 0;
}

static int build_filter(const struct oci_seccomp *s, scmp_filter_ctx *ret, struct berth_error *err)
{
	uint32_t default_action;
	int r = parse_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
			     "linux.seccomp.defaultErrnoRet", &default_action, err);
	if (r < 0)
		return r;
	_cleanup_(release_ctx) scmp_filter_ctx ctx = seccomp_init(default_action);
	if (!ctx)
		return berth_error_set(err, -ENOMEM, "linux.seccomp: libseccomp could not create a filter");
	for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
		uint32_t arch = arch_token(s->architectures[i]);
		if (arch == 0)
			return berth_error_set(
			    err, -EOPNOTSUPP,
			    "linux.seccomp.architectures[%zu]: %s is not supported by libseccomp %u.%u.%u", i,
			    s->architectures[i], seccomp_version()->major, seccomp_version()->minor,
			    seccomp_version()->micro);
		r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return berth_error_setf_errno(err, r, "linux.seccomp.architectures[%zu]: add %s", i,
						      s->architectures[i]);
	}
	size_t count = 0;
	r = add_rules(ctx, s, default_action, &count, err);
	if (r < 0)
		return r;
	/* A binary tree instead of a linear scan for long profiles (runc's threshold: libseccomp up to
	 * 2.5.4 misbehaves with the tree and no rules at all). */
	if (count > 32)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	*ret = TAKE_PTR(ctx);
	return 0;
}

/* libseccomp 2.5 only exports to a descriptor: a memfd, which unlike a pipe cannot fill up. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_filter **ret, size_t *ret_len, struct berth_error *err)
{
	_cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "linux.seccomp: memfd_create");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "linux.seccomp: export the filter");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_error_setf_errno(err, -errno, "linux.seccomp: fstat the exported filter");
	size_t size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0)
		return berth_error_set(err, -EIO, "linux.seccomp: libseccomp exported %zu bytes of BPF",
				       size);
	_cleanup_free_ struct sock_filter *insns = malloc(size);
	if (!insns)
		return berth_error_set(err, -ENOMEM, "linux.seccomp: out of memory");
	ssize_t n = pread(fd, insns, size, 0);
	if (n != (ssize_t)size)
		return berth_error_setf_errno(err, n < 0 ? -errno : -EIO,
					      "linux.seccomp: read the exported filter");
	*ret_len = size / sizeof(struct sock_filter);
	*ret = TAKE_PTR(insns);
	return 0;
}

/* ---- the ENOSYS stub ---- */

/* A syscall newer than anything the profile names would get the default action (often EPERM), and
 * libc only falls back to older syscalls on ENOSYS (clone3, faccessat2, fchmodat2...). Like runc,
 * prepend to the program, per architecture: "syscall number above the highest one the profile
 * names -> ENOSYS". x86_64 and x32 share an AUDIT_ARCH and differ by bit 30 of the number. */
struct stub {
	struct sock_filter insns[96];
	size_t len;
};

static void emit(struct stub *st, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	st->insns[st->len++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

/* The highest syscall number the profile names for @arch; 0 when none resolves. */
static uint32_t highest_syscall(const struct oci_seccomp *s, uint32_t arch)
{
	int max = 0;
	for (size_t i = 0; i < s->n_syscalls; i++)
		for (char **n = s->syscalls[i].names; *n; n++) {
			int nr = seccomp_syscall_resolve_name_arch(arch, *n);
			if (nr > max)
				max = nr;
		}
	return (uint32_t)max;
}

/* One block: "not this arch (or mode): skip; number > max: ENOSYS". */
static void stub_block(struct stub *st, uint32_t arch, uint32_t max)
{
	bool x86_64 = arch == SCMP_ARCH_X86_64, x32 = arch == SCMP_ARCH_X32;
	bool s390 = arch == SCMP_ARCH_S390 || arch == SCMP_ARCH_S390X;
	/* Instructions after the arch test: load nr, [mode test], [s390 setup(0)], jgt, ret. */
	uint8_t rest = (uint8_t)(3 + (x86_64 || x32) + s390);
	emit(st, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(st, BPF_JMP | BPF_JEQ | BPF_K, x32 ? AUDIT_ARCH_X86_64 : arch, 0, rest);
	emit(st, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	if (x86_64 || x32) /* the other mode jumps past the block */
		emit(st, BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, x32 ? 0 : (uint8_t)(rest - 2),
		     x32 ? (uint8_t)(rest - 2) : 0);
	/* On s390 an unknown number is left as 0, setup(2), which nothing uses any more. */
	if (s390)
		emit(st, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
	emit(st, BPF_JMP | BPF_JGT | BPF_K, max, 0, 1);
	emit(st, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, 0, 0);
}

static bool allows_unknown(const char *default_action)
{
	/* TRACE too: a tracer wants to see new syscalls and can answer ENOSYS itself. */
	return strcmp(default_action, "SCMP_ACT_ALLOW") == 0 || strcmp(default_action, "SCMP_ACT_LOG") == 0 ||
	       strcmp(default_action, "SCMP_ACT_TRACE") == 0;
}

static void build_stub(const struct oci_seccomp *s, struct stub *st)
{
	uint32_t archs[32];
	size_t n = 0;
	st->len = 0;
	if (allows_unknown(s->default_action))
		return;
	archs[n++] = seccomp_arch_native();
	for (size_t i = 0; s->architectures && s->architectures[i] && n < ARRAY_SIZE(archs); i++) {
		uint32_t a = arch_token(s->architectures[i]);
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= archs[k] == a;
		if (a && !dup)
			archs[n++] = a;
	}
	for (size_t i = 0; i < n && st->len + 7 <= ARRAY_SIZE(st->insns); i++) {
		uint32_t max = highest_syscall(s, archs[i]);
		if (max > 0)
			stub_block(st, archs[i], max);
	}
}

static int prepend_stub(const struct oci_seccomp *s, struct sock_filter **insns, size_t *len,
			struct berth_error *err)
{
	struct stub st;
	build_stub(s, &st);
	if (*len + st.len > BPF_MAXINSNS)
		return berth_error_set(err, -E2BIG,
				       "linux.seccomp: the filter has %zu instructions, the kernel takes %d",
				       *len + st.len, BPF_MAXINSNS);
	if (st.len == 0)
		return 0;
	struct sock_filter *all = malloc((*len + st.len) * sizeof(*all));
	if (!all)
		return berth_error_set(err, -ENOMEM, "linux.seccomp: out of memory");
	memcpy(all, st.insns, st.len * sizeof(*all));
	memcpy(all + st.len, *insns, *len * sizeof(*all));
	free(*insns);
	*insns = all;
	*len += st.len;
	return 0;
}

/* ---- compile ---- */

void seccomp_filter_prog_free(struct seccomp_filter_prog *p)
{
	if (!p)
		return;
	free(p->insns);
	free(p);
}

/* Everything but the program: flags, notify, the key. */
static int prog_new(const struct oci_seccomp *s, struct seccomp_filter_prog **ret, struct berth_error *err)
{
	unsigned int flags = 0;
	bool notify = uses_notify(s);
	int r = check_notify(s, notify, err);
	if (r == 0)
		r = parse_flags(s, &flags, err);
	if (r < 0)
		return r;
	struct seccomp_filter_prog *p = calloc(1, sizeof(*p));
	if (!p)
		return berth_error_set(err, -ENOMEM, "linux.seccomp: out of memory");
	p->flags = flags;
	p->notify = notify;
	seccomp_profile_hash(s, p->key);
	*ret = p;
	return 0;
}

static int compile_insns(const struct oci_seccomp *s, struct seccomp_filter_prog *p, struct berth_error *err)
{
	_cleanup_(release_ctx) scmp_filter_ctx ctx = NULL;
	int r = build_filter(s, &ctx, err);
	if (r == 0)
		r = export_bpf(ctx, &p->insns, &p->len, err);
	if (r == 0)
		r = prepend_stub(s, &p->insns, &p->len, err);
	return r;
}

int seccomp_compile(const struct oci_seccomp *s, struct seccomp_filter_prog **ret, struct berth_error *err)
{
	struct seccomp_filter_prog *p = NULL;
	int r = prog_new(s, &p, err);
	if (r < 0)
		return r;
	r = compile_insns(s, p, err);
	if (r < 0) {
		seccomp_filter_prog_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

/* ---- the cache key ---- */

static void hash_u64(struct berth_sha256 *h, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	berth_sha256_update(h, b, sizeof(b));
}

/* Length-prefixed, so no two different lists encode alike; NULL differs from "". */
static void hash_str(struct berth_sha256 *h, const char *s)
{
	if (!s) {
		hash_u64(h, UINT64_MAX);
		return;
	}
	size_t n = strlen(s);
	hash_u64(h, n);
	berth_sha256_update(h, s, n);
}

static void hash_strv(struct berth_sha256 *h, char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	hash_u64(h, n);
	for (size_t i = 0; i < n; i++)
		hash_str(h, v[i]);
}

static void hash_env(struct berth_sha256 *h)
{
	const struct scmp_version *v = seccomp_version();
	struct utsname u;
	/* Bump the tag whenever the generated program changes (e.g. the ENOSYS stub). */
	hash_str(h, "berth-seccomp-bpf-v1");
	hash_u64(h, v ? (uint64_t)v->major << 32 | (uint64_t)v->minor << 16 | v->micro : 0);
	hash_u64(h, seccomp_arch_native());
	hash_str(h, uname(&u) == 0 ? u.release : "");
}

void seccomp_profile_hash(const struct oci_seccomp *s, uint8_t ret_key[BERTH_SHA256_SIZE])
{
	struct berth_sha256 h;
	berth_sha256_init(&h);
	hash_env(&h);
	hash_str(&h, s->default_action);
	hash_u64(&h, s->has_default_errno_ret ? (uint64_t)s->default_errno_ret : UINT64_MAX);
	hash_strv(&h, s->architectures);
	hash_u64(&h, s->n_syscalls);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct oci_seccomp_syscall *sc = &s->syscalls[i];
		hash_strv(&h, sc->names);
		hash_str(&h, sc->action);
		hash_u64(&h, sc->has_errno_ret ? (uint64_t)sc->errno_ret : UINT64_MAX);
		hash_u64(&h, sc->n_args);
		for (size_t k = 0; k < sc->n_args; k++) {
			hash_u64(&h, sc->args[k].index);
			hash_u64(&h, sc->args[k].value);
			hash_u64(&h, sc->args[k].value_two);
			hash_str(&h, sc->args[k].op);
		}
	}
	berth_sha256_final(&h, ret_key);
}

/* ---- the cache ---- */

/* The file: this header, then the instructions in host byte order. */
struct cache_header {
	char magic[8]; /* CACHE_MAGIC */
	uint32_t version;
	uint32_t len;                      /* instructions */
	uint8_t key[BERTH_SHA256_SIZE];    /* guards against a file renamed or copied to another key */
	uint8_t digest[BERTH_SHA256_SIZE]; /* sha256 of the instructions */
};
#define CACHE_MAGIC "BERTHBPF"
#define CACHE_VERSION 1u

static void cache_name(const uint8_t key[BERTH_SHA256_SIZE], char *buf, size_t size)
{
	char hex[BERTH_SHA256_HEX_SIZE];
	berth_sha256_hex(key, hex);
	snprintf(buf, size, "%s.bpf", hex);
}

/* The programs are loaded as they are, and their checksum is one anyone can recompute: only the
 * caller may have written the directory and its entries (-EPERM otherwise). */
static bool cache_trusted(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

static int cache_dir_open(int root_fd, bool create)
{
	struct stat st;
	if (create && mkdirat(root_fd, SECCOMP_CACHE_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int fd =
	    openat(root_fd, SECCOMP_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	return cache_trusted(&st) ? TAKE_FD(fd) : -EPERM;
}

/* The error for a cache directory that cache_dir_open refused, naming its path and owner or mode. */
static int cache_dir_refused(int root_fd, struct berth_error *err)
{
	char link[64], root[4096];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", root_fd);
	ssize_t n = readlink(link, root, sizeof(root) - 1);
	root[n > 0 ? n : 0] = '\0';
	_cleanup_close_ int fd =
	    openat(root_fd, SECCOMP_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fd_check_trusted(fd, "seccomp cache", root, SECCOMP_CACHE_DIR, err) == 0)
		berth_error_set(err, -EPERM, "seccomp cache '%s/%s': changed while in use", root,
				SECCOMP_CACHE_DIR);
	return -EPERM;
}

static int cache_check(const struct cache_header *h, const struct sock_filter *insns, size_t len,
		       const uint8_t key[BERTH_SHA256_SIZE])
{
	uint8_t digest[BERTH_SHA256_SIZE];
	if (memcmp(h->magic, CACHE_MAGIC, sizeof(h->magic)) != 0 || h->version != CACHE_VERSION ||
	    h->len != len || memcmp(h->key, key, BERTH_SHA256_SIZE) != 0)
		return -EBADMSG;
	berth_sha256(insns, len * sizeof(*insns), digest);
	return memcmp(digest, h->digest, sizeof(digest)) == 0 ? 0 : -EBADMSG;
}

int seccomp_cache_load(int root_fd, const uint8_t key[BERTH_SHA256_SIZE], struct sock_filter **ret_insns,
		       size_t *ret_len)
{
	char name[80];
	struct cache_header h;
	struct stat st;
	_cleanup_close_ int dir = cache_dir_open(root_fd, false);
	if (dir < 0)
		return dir;
	cache_name(key, name, sizeof(name));
	_cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!cache_trusted(&st))
		return -EACCES;
	/* The size alone rules out truncation and anything the kernel would refuse. */
	size_t body = st.st_size > (off_t)sizeof(h) ? (size_t)st.st_size - sizeof(h) : 0;
	if (!S_ISREG(st.st_mode) || body == 0 || body % sizeof(struct sock_filter) != 0 ||
	    body / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -EBADMSG;
	_cleanup_free_ struct sock_filter *insns = malloc(body);
	if (!insns)
		return -ENOMEM;
	if (read_full(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || read_full(fd, insns, body) != (ssize_t)body)
		return -EBADMSG;
	int r = cache_check(&h, insns, body / sizeof(*insns), key);
	if (r < 0)
		return r;
	/* Recently used entries survive eviction, which goes by modification time. */
	(void)futimens(fd, NULL);
	*ret_len = body / sizeof(*insns);
	*ret_insns = TAKE_PTR(insns);
	return 0;
}

/* Remove the oldest *.bpf entries until fewer than SECCOMP_CACHE_MAX remain. */
static void cache_evict(int dir)
{
	for (;;) {
		_cleanup_closedir_ DIR *d = NULL;
		int fd = dup(dir);
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			return;
		}
		/* The duplicate shares the directory offset with @dir: start from the top each time. */
		rewinddir(d);
		char oldest[256] = "";
		struct timespec when = {0};
		size_t n = 0;
		struct dirent *de;
		struct stat st;
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			if (l < 5 || strcmp(de->d_name + l - 4, ".bpf") != 0 ||
			    fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			n++;
			if (!oldest[0] || st.st_mtim.tv_sec < when.tv_sec ||
			    (st.st_mtim.tv_sec == when.tv_sec && st.st_mtim.tv_nsec < when.tv_nsec)) {
				snprintf(oldest, sizeof(oldest), "%s", de->d_name);
				when = st.st_mtim;
			}
		}
		if (n < SECCOMP_CACHE_MAX || !oldest[0] || unlinkat(dir, oldest, 0) < 0)
			return;
	}
}

int seccomp_cache_store(int root_fd, const struct seccomp_filter_prog *p)
{
	char name[80], tmp[112];
	struct cache_header h = {.version = CACHE_VERSION, .len = (uint32_t)p->len};
	if (p->len == 0 || p->len > BPF_MAXINSNS)
		return -EINVAL;
	memcpy(h.magic, CACHE_MAGIC, sizeof(h.magic));
	memcpy(h.key, p->key, sizeof(h.key));
	berth_sha256(p->insns, p->len * sizeof(*p->insns), h.digest);
	_cleanup_close_ int dir = cache_dir_open(root_fd, true);
	if (dir < 0)
		return dir;
	cache_evict(dir);
	cache_name(p->key, name, sizeof(name));
	/* A name of our own: concurrent creates of the same profile must not share a temp file. */
	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
	_cleanup_close_ int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, &h, sizeof(h));
	if (r == 0)
		r = write_all(fd, p->insns, p->len * sizeof(*p->insns));
	if (r == 0 && renameat(dir, tmp, dir, name) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dir, tmp, 0);
	return r;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int seccomp_prepare(const struct oci_seccomp *s, int root_fd, struct seccomp_filter_prog **ret,
		    struct berth_error *err)
{
	struct seccomp_filter_prog *p = NULL;
	int64_t t0 = now_us();
	int r = prog_new(s, &p, err);
	if (r < 0)
		return r;
	r = root_fd >= 0 ? seccomp_cache_load(root_fd, p->key, &p->insns, &p->len) : -ENOENT;
	if (r == 0) {
		log_debug("seccomp: %zu instructions from the cache in %" PRId64 " us", p->len,
			  now_us() - t0);
		*ret = p;
		return 0;
	}
	if (r == -EPERM) {
		seccomp_filter_prog_free(p);
		return cache_dir_refused(root_fd, err);
	}
	if (r == -EBADMSG)
		log_warn("seccomp: ignoring a damaged cache entry under %s", SECCOMP_CACHE_DIR);
	if (r == -EACCES) /* compiled again below, and the store replaces it */
		log_warn("seccomp: ignoring a cache entry under %s that another user owns or may write",
			 SECCOMP_CACHE_DIR);
	r = compile_insns(s, p, err);
	if (r < 0) {
		seccomp_filter_prog_free(p);
		return r;
	}
	log_debug("seccomp: compiled %zu instructions in %" PRId64 " us", p->len, now_us() - t0);
	if (root_fd >= 0 && (r = seccomp_cache_store(root_fd, p)) < 0)
		log_debug("seccomp: could not cache the filter: %s", strerror(-r));
	*ret = p;
	return 0;
}

/* ---- the listener ---- */

int seccomp_listener_connect(const struct oci_seccomp *s, int *ret_fd, struct berth_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = s->listener_path;
	if (!path || !*path)
		return berth_error_set(err, -EINVAL,
				       "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
	if (strlen(path) >= sizeof(sa.sun_path))
		return berth_error_set(err, -ENAMETOOLONG,
				       "linux.seccomp.listenerPath: longer than %zu bytes",
				       sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "linux.seccomp.listenerPath: socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_error_setf_errno(
		    err, -errno, "linux.seccomp.listenerPath: connect to the seccomp agent at '%s'", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* JSON string body of @s (no quotes). Bytes >= 0x80 pass through: the metadata is UTF-8. */
static void json_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
}

/* Our compact state JSON starts {"ociVersion":..,"id":..,"status":..,"pid":N,..}: the version and
 * id hold no raw quote (ids are [A-Za-z0-9_.+-], values are escaped), so the first "status" key is
 * the top-level one, and "pid" follows it directly (annotations, which could repeat the keys,
 * come last). */
static int split_state(const char *state, size_t len, size_t *ret_status_at, size_t *ret_status_end,
		       long *ret_pid)
{
	static const char pid_key[] = ",\"pid\":";
	const char *end = state + len;
	const char *st = memmem(state, len, "\"status\":\"", 10);
	if (!st)
		return -EINVAL;
	const char *v = st + 10;
	const char *q = memchr(v, '"', (size_t)(end - v));
	if (!q || (size_t)(end - q) < sizeof(pid_key) || memcmp(q + 1, pid_key, sizeof(pid_key) - 1) != 0)
		return -EINVAL;
	*ret_status_at = (size_t)(v - state);
	*ret_status_end = (size_t)(q - state);
	*ret_pid = strtol(q + sizeof(pid_key), NULL, 10);
	return *ret_pid > 0 ? 0 : -EINVAL;
}

int seccomp_process_state(const struct oci_seccomp *s, const char *state_json, size_t state_len,
			  char **ret_json, size_t *ret_len)
{
	size_t at, end;
	long pid;
	if (!state_json || split_state(state_json, state_len, &at, &end, &pid) < 0)
		return -EINVAL;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	fprintf(f, "{\"ociVersion\":\"%s\",\"fds\":[\"seccompFd\"],\"pid\":%ld,", BERTH_OCI_VERSION, pid);
	if (s->listener_metadata && *s->listener_metadata) {
		fputs("\"metadata\":\"", f);
		json_escape(f, s->listener_metadata);
		fputs("\",", f);
	}
	/* runc sends the state as "running": the process is about to exec. */
	fputs("\"state\":", f);
	fwrite(state_json, 1, at, f);
	fputs("running", f);
	fwrite(state_json + end, 1, state_len - end, f);
	fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret_json = buf;
	*ret_len = size;
	return 0;
}

/* The flags to load @p with, with or without a listener for its notifying rules. */
static unsigned long load_flags(const struct seccomp_filter_prog *p, bool listener)
{
	unsigned long flags = p->flags;
	if (listener) {
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
		/* The kernel refuses TSYNC with a listener unless a sync failure is reported as ESRCH. */
		if (flags & SECCOMP_FILTER_FLAG_TSYNC)
			flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
	} else {
		/* Only meaningful with a listener; the kernel refuses it alone. */
		flags &= ~(unsigned long)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	}
	return flags;
}

/* The agent's message, built before the filter is loaded (after it, every syscall is filtered). */
static int agent_message(int listener_fd, const struct oci_seccomp *s, const char *state_json,
			 size_t state_len, char **ret_msg, size_t *ret_len, struct berth_error *err)
{
	if (listener_fd < 0)
		return berth_error_set(err, -EINVAL, "linux.seccomp: no connection to the seccomp agent");
	if (seccomp_process_state(s, state_json, state_len, ret_msg, ret_len) < 0)
		return berth_error_set(err, -EINVAL, "linux.seccomp: cannot build the state for the agent");
	return 0;
}

int seccomp_install(const struct seccomp_filter_prog *p, int listener_fd, const struct oci_seccomp *s,
		    const char *state_json, size_t state_len, struct berth_error *err)
{
	_cleanup_free_ char *msg = NULL;
	size_t msg_len = 0;
	unsigned long flags = load_flags(p, p->notify);
	if (p->notify) {
		int r = agent_message(listener_fd, s, state_json, state_len, &msg, &msg_len, err);
		if (r < 0)
			return r;
	}
	struct sock_fprog prog = {.len = (unsigned short)p->len, .filter = p->insns};
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "linux.seccomp: load the filter (flags 0x%lx)",
					      flags);
	if (!p->notify)
		return 0;
	_cleanup_close_ int notify_fd = (int)fd;
	int r = unix_send_fd(listener_fd, notify_fd, msg, msg_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "linux.seccomp: send the notification fd to '%s'",
					      s->listener_path);
	return 0;
}

/* ---- the init's plan ---- */

int seccomp_plan_prepare(const struct oci_seccomp *s, int root_fd, struct seccomp_plan *plan,
			 struct berth_error *err)
{
	struct seccomp_filter_prog *p = NULL;
	int r = seccomp_prepare(s, root_fd, &p, err);
	if (r < 0)
		return r;
	if (p->notify) {
		r = seccomp_listener_connect(s, &plan->listener_fd, err);
		if (r < 0) {
			seccomp_filter_prog_free(p);
			return r;
		}
	}
	plan->prog = p;
	return 0;
}

int seccomp_plan_install(struct seccomp_plan *plan, const struct oci_seccomp *s, const char *state_json,
			 size_t state_len, struct berth_error *err)
{
	int r = 0;
	if (plan->prog)
		r = seccomp_install(plan->prog, plan->listener_fd, s, state_json, state_len, err);
	seccomp_plan_release(plan);
	return r;
}

void seccomp_plan_release(struct seccomp_plan *plan)
{
	seccomp_filter_prog_free(plan->prog);
	plan->prog = NULL;
	closep(&plan->listener_fd);
}

int seccomp_plan_steps(const struct seccomp_plan *plan, const struct oci_seccomp *s, const char *state_json,
		       size_t state_len, bool agent, struct trampoline_steps *steps, char **ret_msg,
		       struct berth_error *err)
{
	const struct seccomp_filter_prog *p = plan->prog;
	*ret_msg = NULL;
	if (!p)
		return 0;
	bool listener = agent && p->notify;
	if (listener) {
		size_t len = 0;
		int r = agent_message(plan->listener_fd, s, state_json, state_len, ret_msg, &len, err);
		if (r < 0)
			return r;
		steps->listener_fd = plan->listener_fd;
		steps->msg = *ret_msg;
		steps->msg_len = len;
	}
	steps->insns = p->insns;
	steps->n_insns = p->len;
	steps->seccomp_flags = (unsigned int)load_flags(p, listener);
	return 0;
}
