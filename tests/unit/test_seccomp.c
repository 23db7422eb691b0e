/* runtime/seccomp.c: profiles compiled and loaded into forked children (known answers for every
 * action, argument operators, errno defaults, the ENOSYS stub), the listener hand-over, the
 * program cache, and the errors for profiles the spec forbids. Needs no root: the children set
 * no_new_privs before loading. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <yajl/yajl_tree.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "berth/sha256.h"
#include "berth/util.h"
#include "../../runtime/seccomp.h"

/* ---- helpers ---- */

/* A config around a linux.seccomp object written with single quotes. */
static struct oci_config *profile(const char *seccomp)
{
	char *doc = NULL;
	int n = asprintf(&doc, "{'ociVersion':'1.2.0','root':{'path':'rootfs'},'linux':{'seccomp':{%s}}}",
			 seccomp);
	assert_true(n > 0);
	for (char *p = doc; *p; p++)
		if (*p == '\'')
			*p = '"';
	struct oci_config *c = NULL;
	struct berth_error err = {0};
	if (oci_config_parse(doc, (size_t)n, &c, &err) < 0)
		fail_msg("profile does not parse: %s", err.msg);
	free(doc);
	return c;
}

static struct seccomp_filter_prog *compile_ok(const struct oci_config *c)
{
	struct seccomp_filter_prog *p = NULL;
	struct berth_error err = {0};
	if (seccomp_compile(&c->linux_.seccomp, &p, &err) < 0)
		fail_msg("compile failed: %s", err.msg);
	assert_non_null(p);
	assert_true(p->len > 0 && p->len <= BPF_MAXINSNS);
	return p;
}

/* The compile error for @seccomp; its message must contain @needle. */
static void compile_fails(const char *seccomp, const char *needle)
{
	struct oci_config *c = profile(seccomp);
	struct seccomp_filter_prog *p = NULL;
	struct berth_error err = {0};
	assert_true(seccomp_compile(&c->linux_.seccomp, &p, &err) < 0);
	assert_null(p);
	if (!strstr(err.msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
	oci_config_free(c);
}

#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_ASAN() skip()
#else
#define SKIP_UNDER_ASAN() ((void)0)
#endif

typedef int (*child_fn)(void *arg);

/* exit_group(2) itself: the sanitizers' _exit interceptor runs a leak check, whose syscalls a
 * strict filter refuses (and which turns exit status 0 into 1). */
static __attribute__((noreturn)) void child_exit(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_unreachable();
}

/* Fork; the child sets no_new_privs, loads @p and returns fn(arg) as its exit status. Only raw
 * syscalls and _exit run after the load, so a strict filter does not trip the harness itself. */
static int run_filtered(const struct oci_config *c, const struct seccomp_filter_prog *p, child_fn fn,
			void *arg)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};
		struct berth_error err = {0};
		/* cmocka catches SIGSYS and friends to report a test failure: here they must kill. */
		static const int sigs[] = {SIGSYS, SIGSEGV, SIGILL, SIGFPE, SIGBUS};
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		setrlimit(RLIMIT_CORE, &no_core);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(100);
		if (seccomp_install(p, -EBADF, &c->linux_.seccomp, NULL, 0, &err) < 0) {
			fprintf(stderr, "install: %s\n", err.msg);
			_exit(101);
		}
		child_exit(fn(arg));
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_exit0(int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child: exited=%d status=%d signaled=%d sig=%d", WIFEXITED(status),
			 WEXITSTATUS(status), WIFSIGNALED(status), WTERMSIG(status));
}

/* Compile @seccomp, run @fn under it, expect exit 0. */
static void expect_ok(const char *seccomp, child_fn fn, void *arg)
{
	struct oci_config *c = profile(seccomp);
	struct seccomp_filter_prog *p = compile_ok(c);
	assert_exit0(run_filtered(c, p, fn, arg));
	seccomp_filter_prog_free(p);
	oci_config_free(c);
}

/* 0 when the raw syscall result matches: @want_errno 0 means success. */
static int result_is(long r, int want_errno)
{
	if (want_errno == 0)
		return r >= 0 ? 0 : 1;
	return r == -1 && errno == want_errno ? 0 : 1;
}

/* ---- actions ---- */

static int mkdir_enosys(void *arg)
{
	long r = syscall(SYS_mkdir, (const char *)arg, 0700);
	return result_is(r, ENOSYS) | result_is(syscall(SYS_getpid), 0) << 1;
}

static void test_errno_ret(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-seccomp.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/x", dir);
	expect_ok("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir','mkdirat'],"
		  "'action':'SCMP_ACT_ERRNO','errnoRet':38}]",
		  mkdir_enosys, path);
	struct stat st;
	assert_int_equal(stat(path, &st), -1);
	rmdir(dir);
}

static int getppid_eperm(void *arg)
{
	(void)arg;
	return result_is(syscall(SYS_getppid), EPERM);
}

/* errnoRet absent: EPERM, as runc. */
static void test_errno_default_eperm(void **state)
{
	(void)state;
	expect_ok(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]",
	    getppid_eperm, NULL);
}

static int getppid_errno(void *arg)
{
	return result_is(syscall(SYS_getppid), (int)(intptr_t)arg) | result_is(syscall(SYS_getpid), 0) << 1;
}

/* A strict allow-list: the default action answers everything else. */
static void test_default_action_errno(void **state)
{
	/* A default-deny filter also refuses the syscalls the AddressSanitizer runtime makes inside
	 * the child (it then crashes): this kernel-behaviour check runs in the plain build only. */
	SKIP_UNDER_ASAN();
	(void)state;
	/* no defaultErrnoRet: EPERM */
	expect_ok("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['exit_group','exit','getpid'],"
		  "'action':'SCMP_ACT_ALLOW'}]",
		  getppid_errno, (void *)(intptr_t)EPERM);
	expect_ok(
	    "'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38,'syscalls':[{'names':['exit_group','exit',"
	    "'getpid'],'action':'SCMP_ACT_ALLOW'}]",
	    getppid_errno, (void *)(intptr_t)ENOSYS);
}

static int call_getppid(void *arg)
{
	(void)arg;
	syscall(SYS_getppid);
	return 0;
}

static void expect_signal(const char *seccomp, int sig)
{
	struct oci_config *c = profile(seccomp);
	struct seccomp_filter_prog *p = compile_ok(c);
	int status = run_filtered(c, p, call_getppid, NULL);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != sig)
		fail_msg("%s: expected signal %d, got status 0x%x", seccomp, sig, status);
	seccomp_filter_prog_free(p);
	oci_config_free(c);
}

static void test_kill_actions(void **state)
{
	(void)state;
	expect_signal("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_"
		      "KILL_PROCESS'}]",
		      SIGSYS);
	expect_signal("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_"
		      "KILL_THREAD'}]",
		      SIGSYS);
	expect_signal(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_KILL'}]",
	    SIGSYS);
	expect_signal(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_TRAP'}]",
	    SIGSYS);
}

static int getppid_real(void *arg)
{
	return syscall(SYS_getppid) == (long)(intptr_t)arg ? 0 : 1;
}

static void test_log_and_trace(void **state)
{
	(void)state;
	/* LOG lets the call through */
	expect_ok(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_LOG'}]",
	    getppid_real, (void *)(intptr_t)getpid());
	/* TRACE without a tracer: the kernel answers ENOSYS */
	expect_ok(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_TRACE'}]",
	    getppid_errno, (void *)(intptr_t)ENOSYS);
}

/* ---- arguments ---- */

/* umask(2) never fails on its own: a failure with EACCES is the filter's. */
struct umask_case {
	unsigned int mode;
	bool denied;
};

struct umask_cases {
	const struct umask_case *v;
	size_t n;
};

static int umask_check(void *arg)
{
	const struct umask_cases *cs = arg;
	for (size_t i = 0; i < cs->n; i++)
		if (result_is(syscall(SYS_umask, cs->v[i].mode), cs->v[i].denied ? EACCES : 0))
			return (int)i + 1;
	return 0;
}

static void expect_umask(const char *args, const struct umask_case *v, size_t n)
{
	char *doc = NULL;
	assert_true(
	    asprintf(
		&doc,
		"'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['umask'],'action':'SCMP_ACT_ERRNO',"
		"'errnoRet':13,'args':[%s]}]",
		args) > 0);
	struct umask_cases cs = {v, n};
	struct oci_config *c = profile(doc);
	struct seccomp_filter_prog *p = compile_ok(c);
	int status = run_filtered(c, p, umask_check, &cs);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: case %d answered wrongly (status 0x%x)", args, WEXITSTATUS(status) - 1, status);
	seccomp_filter_prog_free(p);
	oci_config_free(c);
	free(doc);
}

static void test_masked_eq(void **state)
{
	(void)state;
	/* value is the mask, valueTwo the datum: (mode & 070) == 020 */
	static const struct umask_case v[] = {
	    {020, true}, {0120, true}, {027, true}, {030, false}, {0, false}};
	expect_umask("{'index':0,'op':'SCMP_CMP_MASKED_EQ','value':56,'valueTwo':16}", v, 5);
	/* valueTwo absent: 0, so "none of the mask bits set" (containerd's clone rule) */
	static const struct umask_case w[] = {{0, true}, {0700, true}, {022, false}, {0777, false}};
	expect_umask("{'index':0,'op':'SCMP_CMP_MASKED_EQ','value':18}", w, 4);
}

static void test_compare_ops(void **state)
{
	(void)state;
	static const struct umask_case ne[] = {{077, true}, {0100, false}, {0101, true}};
	static const struct umask_case lt[] = {{077, true}, {0100, false}, {0101, false}};
	static const struct umask_case le[] = {{077, true}, {0100, true}, {0101, false}};
	static const struct umask_case eq[] = {{077, false}, {0100, true}, {0101, false}};
	static const struct umask_case ge[] = {{077, false}, {0100, true}, {0101, true}};
	static const struct umask_case gt[] = {{077, false}, {0100, false}, {0101, true}};
	expect_umask("{'index':0,'op':'SCMP_CMP_NE','value':64}", ne, 3);
	expect_umask("{'index':0,'op':'SCMP_CMP_LT','value':64}", lt, 3);
	expect_umask("{'index':0,'op':'SCMP_CMP_LE','value':64}", le, 3);
	expect_umask("{'index':0,'op':'SCMP_CMP_EQ','value':64}", eq, 3);
	expect_umask("{'index':0,'op':'SCMP_CMP_GE','value':64}", ge, 3);
	expect_umask("{'index':0,'op':'SCMP_CMP_GT','value':64}", gt, 3);
}

/* Two conditions on one argument: libseccomp takes them as separate rules (OR), as runc. */
static void test_same_arg_twice(void **state)
{
	(void)state;
	static const struct umask_case v[] = {{0111, true}, {0222, true}, {0333, false}};
	expect_umask("{'index':0,'op':'SCMP_CMP_EQ','value':73},{'index':0,'op':'SCMP_CMP_EQ','value':146}",
		     v, 3);
}

static int kill_check(void *arg)
{
	(void)arg;
	/* kill(self, 0): both conditions hold, denied; kill(parent, 0): the pid condition fails */
	long a = syscall(SYS_kill, getpid(), 0);
	int ea = errno;
	long b = syscall(SYS_kill, getppid(), 0);
	return (a == -1 && ea == EACCES ? 0 : 1) | (b == 0 ? 0 : 2);
}

/* Conditions on different arguments are ANDed. */
static void test_args_and(void **state)
{
	(void)state;
	char *doc = NULL;
	assert_true(
	    asprintf(
		&doc,
		"'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['kill'],'action':'SCMP_ACT_ERRNO',"
		"'errnoRet':13,'args':[{'index':1,'op':'SCMP_CMP_EQ','value':0},"
		"{'index':0,'op':'SCMP_CMP_NE','value':%d}]}]",
		(int)getpid()) > 0);
	expect_ok(doc, kill_check, NULL);
	free(doc);
}

/* ---- names, the default action, and the ENOSYS stub ---- */

static void test_unknown_names_skipped(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-seccomp.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/x", dir);
	expect_ok("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['no_such_syscall','mkdir',"
		  "'another_bogus_one'],'action':'SCMP_ACT_ERRNO','errnoRet':38},"
		  "{'names':['only_bogus'],'action':'SCMP_ACT_KILL'}]",
		  mkdir_enosys, path);
	rmdir(dir);
}

static int stub_check(void *arg)
{
	(void)arg;
	/* getrandom (318) is above the highest listed syscall (exit_group, 231): ENOSYS, so libc
	 * would fall back; getpid (39) is below it and unlisted: the default EPERM. */
	return result_is(syscall(SYS_getrandom, NULL, 0, 0), ENOSYS) |
	       result_is(syscall(SYS_getpid), EPERM) << 1 | result_is(syscall(SYS_gettid), 0) << 2;
}

static void test_enosys_for_newer_syscalls(void **state)
{
	/* A default-deny filter also refuses the syscalls the AddressSanitizer runtime makes inside
	 * the child (it then crashes): this kernel-behaviour check runs in the plain build only. */
	SKIP_UNDER_ASAN();
	(void)state;
#if defined(__x86_64__)
	expect_ok("'defaultAction':'SCMP_ACT_ERRNO','syscalls':[{'names':['exit_group','exit','gettid'],"
		  "'action':'SCMP_ACT_ALLOW'}]",
		  stub_check, NULL);
#else
	skip();
#endif
}

static void test_rule_equal_to_default_skipped(void **state)
{
	(void)state;
	/* libseccomp refuses such a rule; it changes nothing, so it is dropped */
	expect_ok(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getpid'],'action':'SCMP_ACT_ALLOW'},"
	    "{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]",
	    getppid_eperm, NULL);
}

/* ---- a BPF interpreter, to check the program for architectures this host cannot run ---- */

static uint32_t bpf_run(const struct seccomp_filter_prog *p, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	const uint8_t *data = (const uint8_t *)d;
	for (size_t pc = 0; pc < p->len; pc++) {
		const struct sock_filter *f = &p->insns[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k + 4 > sizeof(*d))
				fail_msg("load beyond seccomp_data at %zu", pc);
			memcpy(&a, data + f->k, 4);
			continue;
		case BPF_LD | BPF_MEM:
			a = mem[f->k];
			continue;
		case BPF_LDX | BPF_MEM:
			x = mem[f->k];
			continue;
		case BPF_ST:
			mem[f->k] = a;
			continue;
		case BPF_STX:
			mem[f->k] = x;
			continue;
		case BPF_LD | BPF_IMM:
			a = f->k;
			continue;
		case BPF_MISC | BPF_TAX:
			x = a;
			continue;
		case BPF_MISC | BPF_TXA:
			a = x;
			continue;
		case BPF_RET | BPF_K:
			return f->k;
		case BPF_RET | BPF_A:
			return a;
		case BPF_JMP | BPF_JA:
			pc += f->k;
			continue;
		}
		if (BPF_CLASS(f->code) == BPF_ALU) {
			switch (BPF_OP(f->code)) {
			case BPF_AND:
				a &= src;
				continue;
			case BPF_OR:
				a |= src;
				continue;
			case BPF_ADD:
				a += src;
				continue;
			case BPF_SUB:
				a -= src;
				continue;
			}
		}
		if (BPF_CLASS(f->code) == BPF_JMP) {
			bool t = false;
			switch (BPF_OP(f->code)) {
			case BPF_JEQ:
				t = a == src;
				break;
			case BPF_JGT:
				t = a > src;
				break;
			case BPF_JGE:
				t = a >= src;
				break;
			case BPF_JSET:
				t = (a & src) != 0;
				break;
			default:
				fail_msg("unhandled jump 0x%x at %zu", f->code, pc);
			}
			pc += t ? f->jt : f->jf;
			continue;
		}
		fail_msg("unhandled BPF opcode 0x%x at %zu", f->code, pc);
	}
	fail_msg("fell off the end of the program");
	return 0;
}

static uint32_t verdict(const struct seccomp_filter_prog *p, uint32_t arch, int nr)
{
	struct seccomp_data d = {.nr = nr, .arch = arch};
	return bpf_run(p, &d);
}

#define RET_ERRNO(e) (SECCOMP_RET_ERRNO | (e))

static void test_enosys_stub_per_arch(void **state)
{
	(void)state;
	struct oci_config *c =
	    profile("'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
		    "'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32'],"
		    "'syscalls':[{'names':['read','write','openat','clone3'],'action':'SCMP_ACT_ALLOW'}]");
	struct seccomp_filter_prog *p = compile_ok(c);
	const uint32_t x86_64 = AUDIT_ARCH_X86_64, i386 = AUDIT_ARCH_I386, x32 = 0x40000000;
	/* x86_64: read=0 allowed; getpid=39 below clone3=435: EPERM; 436+: ENOSYS */
	assert_int_equal(verdict(p, x86_64, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict(p, x86_64, 39), RET_ERRNO(1));
	assert_int_equal(verdict(p, x86_64, 435), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict(p, x86_64, 436), RET_ERRNO(ENOSYS));
	assert_int_equal(verdict(p, x86_64, 1000), RET_ERRNO(ENOSYS));
	/* i386: read=3, openat=295, clone3=435; getpid=20: EPERM */
	assert_int_equal(verdict(p, i386, 3), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict(p, i386, 20), RET_ERRNO(1));
	assert_int_equal(verdict(p, i386, 436), RET_ERRNO(ENOSYS));
	/* x32: numbers carry bit 30; its own maximum applies */
	assert_int_equal(verdict(p, x86_64, x32 | 0), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict(p, x86_64, x32 | 39), RET_ERRNO(1));
	assert_int_equal(verdict(p, x86_64, x32 | 600), RET_ERRNO(ENOSYS));
	/* an architecture not in the filter: libseccomp's bad-arch action (kill) */
	assert_int_equal(verdict(p, AUDIT_ARCH_AARCH64, 0) & SECCOMP_RET_ACTION_FULL,
			 SECCOMP_RET_KILL_THREAD);
	seccomp_filter_prog_free(p);
	oci_config_free(c);

	/* An allowing default needs no stub: unknown numbers are allowed. */
	c = profile(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]");
	p = compile_ok(c);
	assert_int_equal(verdict(p, x86_64, 1000), SECCOMP_RET_ALLOW);
	assert_int_equal(verdict(p, x86_64, 110), RET_ERRNO(EPERM));
	seccomp_filter_prog_free(p);
	oci_config_free(c);
}

/* ---- errors ---- */

static void test_bad_profiles(void **state)
{
	(void)state;
	compile_fails(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getpid'],'action':'SCMP_ACT_KILL',"
	    "'errnoRet':5}]",
	    "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
	compile_fails("'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':5",
		      "linux.seccomp.defaultErrnoRet: only valid with");
	compile_fails(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getpid'],'action':'SCMP_ACT_ERRNO',"
	    "'errnoRet':70000}]",
	    "linux.seccomp.syscalls[0].errnoRet: 70000 is not an errno");
	compile_fails("'defaultAction':'SCMP_ACT_NOTIFY','listenerPath':'/x'",
		      "cannot be the default action");
	compile_fails(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['getpid'],'action':'SCMP_ACT_NOTIFY'}]",
	    "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
	compile_fails(
	    "'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/x','syscalls':[{'names':['getpid','write'],"
	    "'action':'SCMP_ACT_NOTIFY'}]",
	    "linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for write");
	/* libseccomp 2.5 predates these architectures: refused by name, not mis-mapped */
	if (seccomp_arch_resolve_name("loongarch64") == 0)
		compile_fails(
		    "'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_LOONGARCH64']",
		    "linux.seccomp.architectures[0]: SCMP_ARCH_LOONGARCH64 is not supported by libseccomp");
}

static void test_flags(void **state)
{
	(void)state;
	struct oci_config *c =
	    profile("'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_TSYNC',"
		    "'SECCOMP_FILTER_FLAG_LOG','SECCOMP_FILTER_FLAG_SPEC_ALLOW',"
		    "'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],"
		    "'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_ERRNO'}]");
	struct seccomp_filter_prog *p = compile_ok(c);
	assert_int_equal(p->flags, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
				       SECCOMP_FILTER_FLAG_SPEC_ALLOW |
				       SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
	assert_false(p->notify);
	/* loads with every flag (WAIT_KILLABLE_RECV dropped: it needs a listener) */
	assert_exit0(run_filtered(c, p, getppid_eperm, NULL));
	seccomp_filter_prog_free(p);
	oci_config_free(c);
}

/* ---- the listener ---- */

struct agent {
	char dir[64];
	char path[128];
	int sock;
};

static void agent_start(struct agent *ag)
{
	snprintf(ag->dir, sizeof(ag->dir), "/tmp/test-seccomp.XXXXXX");
	assert_non_null(mkdtemp(ag->dir));
	snprintf(ag->path, sizeof(ag->path), "%s/agent.sock", ag->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, ag->path);
	ag->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ag->sock >= 0);
	assert_int_equal(bind(ag->sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ag->sock, 1), 0);
}

static void agent_stop(struct agent *ag)
{
	close(ag->sock);
	unlink(ag->path);
	rmdir(ag->dir);
}

/* Accept one connection: the JSON message and the fd sent with it. */
static int agent_receive(struct agent *ag, char *msg, size_t size)
{
	int conn = accept4(ag->sock, NULL, NULL, SOCK_CLOEXEC);
	assert_true(conn >= 0);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = msg, .iov_len = size - 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	assert_true(n > 0);
	msg[n] = '\0';
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	/* The runtime closes the connection after one message. */
	char more;
	assert_int_equal(read(conn, &more, 1), 0);
	close(conn);
	return fd;
}

static void notify_child(const struct oci_config *c, const struct seccomp_filter_prog *p)
{
	struct berth_error err = {0};
	int sock = -EBADF;
	char state[256];
	if (seccomp_listener_connect(&c->linux_.seccomp, &sock, &err) < 0) {
		fprintf(stderr, "connect: %s\n", err.msg);
		_exit(100);
	}
	int n =
	    snprintf(state, sizeof(state),
		     "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":%d,\"bundle\":"
		     "\"/b\",\"annotations\":{\"status\":\"x\"}}",
		     (int)getpid());
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    seccomp_install(p, sock, &c->linux_.seccomp, state, (size_t)n, &err) < 0) {
		fprintf(stderr, "install: %s\n", err.msg);
		_exit(101);
	}
	close(sock);
	/* The agent answers getppid with 4242. */
	child_exit(syscall(SYS_getppid) == 4242 ? 0 : 1);
}

static void check_process_state(const char *msg, pid_t pid)
{
	char errbuf[128];
	yajl_val doc = yajl_tree_parse(msg, errbuf, sizeof(errbuf));
	if (!doc)
		fail_msg("agent message is not JSON (%s): %s", errbuf, msg);
	const char *ver[] = {"ociVersion", NULL}, *fds[] = {"fds", NULL}, *pidp[] = {"pid", NULL},
		   *meta[] = {"metadata", NULL}, *st[] = {"state", "status", NULL},
		   *id[] = {"state", "id", NULL}, *spid[] = {"state", "pid", NULL},
		   *ann[] = {"state", "annotations", "status", NULL};
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, ver, yajl_t_string)), "1.2.0");
	yajl_val f = yajl_tree_get(doc, fds, yajl_t_array);
	assert_non_null(f);
	assert_int_equal(f->u.array.len, 1);
	assert_string_equal(YAJL_GET_STRING(f->u.array.values[0]), "seccompFd");
	assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(doc, pidp, yajl_t_number)), pid);
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, meta, yajl_t_string)),
			    "MKNOD=/dev/null;\"q\"\n");
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, st, yajl_t_string)), "running");
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, id, yajl_t_string)), "c1");
	assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(doc, spid, yajl_t_number)), pid);
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, ann, yajl_t_string)), "x");
	yajl_tree_free(doc);
}

/* Answer one notification: getppid from @pid returns 4242. */
static void agent_answer(int fd, pid_t pid)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	assert_int_equal(seccomp_notify_alloc(&req, &resp), 0);
	assert_int_equal(seccomp_notify_receive(fd, req), 0);
	assert_int_equal(req->data.nr, SYS_getppid);
	assert_int_equal(req->pid, pid);
	resp->id = req->id;
	resp->val = 4242;
	resp->error = 0;
	resp->flags = 0;
	assert_int_equal(seccomp_notify_respond(fd, resp), 0);
	seccomp_notify_free(req, resp);
}

static void test_notify_listener(void **state)
{
	(void)state;
	struct agent ag;
	agent_start(&ag);
	char *doc = NULL;
	/* TSYNC with a listener needs TSYNC_ESRCH: the runtime adds it */
	assert_true(asprintf(&doc,
			     "'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'%s','listenerMetadata':"
			     "'MKNOD=/dev/null;\\'q\\'\\n','flags':['SECCOMP_FILTER_FLAG_TSYNC',"
			     "'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],'syscalls':[{'names':['getppid'],"
			     "'action':'SCMP_ACT_NOTIFY'}]",
			     ag.path) > 0);
	struct oci_config *c = profile(doc);
	struct seccomp_filter_prog *p = compile_ok(c);
	assert_true(p->notify);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		notify_child(c, p);
	char msg[4096];
	int fd = agent_receive(&ag, msg, sizeof(msg));
	check_process_state(msg, pid);
	agent_answer(fd, pid);
	close(fd);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit0(status);
	seccomp_filter_prog_free(p);
	oci_config_free(c);
	free(doc);
	agent_stop(&ag);
}

static void test_listener_unreachable(void **state)
{
	(void)state;
	struct oci_config *c =
	    profile("'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/nonexistent/agent.sock',"
		    "'syscalls':[{'names':['getppid'],'action':'SCMP_ACT_NOTIFY'}]");
	int fd = -EBADF;
	struct berth_error err = {0};
	assert_int_equal(seccomp_listener_connect(&c->linux_.seccomp, &fd, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "linux.seccomp.listenerPath: connect to the seccomp agent at "
					"'/nonexistent/agent.sock'"));
	oci_config_free(c);
}

static void test_process_state_rejects_odd_state(void **state)
{
	(void)state;
	struct oci_config *c = profile("'defaultAction':'SCMP_ACT_ALLOW'");
	char *out = NULL;
	size_t len = 0;
	const char *no_pid =
	    "{\"ociVersion\":\"1.2.0\",\"id\":\"c\",\"status\":\"stopped\",\"bundle\":\"/b\"}";
	assert_int_equal(seccomp_process_state(&c->linux_.seccomp, no_pid, strlen(no_pid), &out, &len),
			 -EINVAL);
	const char *ok =
	    "{\"ociVersion\":\"1.2.0\",\"id\":\"c\",\"status\":\"created\",\"pid\":7,\"bundle\":\"/b\"}";
	assert_int_equal(seccomp_process_state(&c->linux_.seccomp, ok, strlen(ok), &out, &len), 0);
	/* no metadata: the key is left out, as runc's omitempty */
	assert_string_equal(
	    out, "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":7,\"state\":{\"ociVersion\":"
		 "\"1.2.0\",\"id\":\"c\",\"status\":\"running\",\"pid\":7,\"bundle\":\"/b\"}}");
	assert_int_equal(len, strlen(out));
	free(out);
	oci_config_free(c);
}

/* ---- the cache ---- */

static const char *const cache_profile =
    "'defaultAction':'SCMP_ACT_ERRNO','architectures':['SCMP_ARCH_X86_64'],'syscalls':[{'names':['read',"
    "'write','exit_group'],'action':'SCMP_ACT_ALLOW'},{'names':['kill'],'action':'SCMP_ACT_ALLOW','args':[{"
    "'index':1,'op':'SCMP_CMP_EQ','value':0}]}]";

static void test_profile_hash(void **state)
{
	(void)state;
	uint8_t a[BERTH_SHA256_SIZE], b[BERTH_SHA256_SIZE], d[BERTH_SHA256_SIZE];
	struct oci_config *c1 = profile(cache_profile), *c2 = profile(cache_profile);
	seccomp_profile_hash(&c1->linux_.seccomp, a);
	seccomp_profile_hash(&c2->linux_.seccomp, b);
	assert_memory_equal(a, b, sizeof(a));
	/* any change that shapes the program changes the key */
	c2->linux_.seccomp.syscalls[1].args[0].value = 1;
	seccomp_profile_hash(&c2->linux_.seccomp, d);
	assert_memory_not_equal(a, d, sizeof(a));
	c2->linux_.seccomp.syscalls[1].args[0].value = 0;
	c2->linux_.seccomp.has_default_errno_ret = true;
	c2->linux_.seccomp.default_errno_ret = EPERM; /* same program, but a different profile */
	seccomp_profile_hash(&c2->linux_.seccomp, d);
	assert_memory_not_equal(a, d, sizeof(a));
	oci_config_free(c1);
	oci_config_free(c2);
	/* names are length-prefixed: ["ab","c"] and ["a","bc"] differ */
	c1 = profile(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['ab','c'],'action':'SCMP_ACT_LOG'}]");
	c2 = profile(
	    "'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a','bc'],'action':'SCMP_ACT_LOG'}]");
	seccomp_profile_hash(&c1->linux_.seccomp, a);
	seccomp_profile_hash(&c2->linux_.seccomp, b);
	assert_memory_not_equal(a, b, sizeof(a));
	oci_config_free(c1);
	oci_config_free(c2);
}

static int cache_path(const char *root, const uint8_t key[BERTH_SHA256_SIZE], char *buf, size_t size)
{
	char hex[BERTH_SHA256_HEX_SIZE];
	berth_sha256_hex(key, hex);
	return snprintf(buf, size, "%s/" SECCOMP_CACHE_DIR "/%s.bpf", root, hex);
}

/* Overwrite one byte of @path at @off (negative: from the end). */
static void poke(const char *path, off_t off)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	if (off < 0)
		off += st.st_size;
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_cache_round_trip(void **state)
{
	(void)state;
	char root[] = "/tmp/test-seccomp.XXXXXX", path[256];
	assert_non_null(mkdtemp(root));
	int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct oci_config *c = profile(cache_profile);
	const struct oci_seccomp *s = &c->linux_.seccomp;
	struct seccomp_filter_prog *p = compile_ok(c);
	struct sock_filter *insns = NULL;
	size_t len = 0;

	assert_int_equal(seccomp_cache_load(root_fd, p->key, &insns, &len), -ENOENT);
	assert_int_equal(seccomp_cache_store(root_fd, p), 0);
	assert_int_equal(seccomp_cache_load(root_fd, p->key, &insns, &len), 0);
	assert_int_equal(len, p->len);
	assert_memory_equal(insns, p->insns, len * sizeof(*insns));
	free(insns);

	/* seccomp_prepare takes it from the cache: same program, same key */
	struct seccomp_filter_prog *q = NULL;
	struct berth_error err = {0};
	assert_int_equal(seccomp_prepare(s, root_fd, &q, &err), 0);
	assert_memory_equal(q->key, p->key, sizeof(p->key));
	assert_int_equal(q->len, p->len);
	assert_memory_equal(q->insns, p->insns, p->len * sizeof(*p->insns));
	seccomp_filter_prog_free(q);

	/* a flipped byte in the program, in the header, or a truncated file: rejected */
	cache_path(root, p->key, path, sizeof(path));
	poke(path, -3);
	assert_int_equal(seccomp_cache_load(root_fd, p->key, &insns, &len), -EBADMSG);
	assert_int_equal(seccomp_cache_store(root_fd, p), 0);
	poke(path, 2);
	assert_int_equal(seccomp_cache_load(root_fd, p->key, &insns, &len), -EBADMSG);
	assert_int_equal(seccomp_cache_store(root_fd, p), 0);
	assert_int_equal(truncate(path, 80 + 8 * (off_t)p->len - 4), 0);
	assert_int_equal(seccomp_cache_load(root_fd, p->key, &insns, &len), -EBADMSG);

	/* and seccomp_prepare recompiles, then repairs the entry */
	assert_int_equal(seccomp_prepare(s, root_fd, &q, &err), 0);
	assert_memory_equal(q->insns, p->insns, p->len * sizeof(*p->insns));
	seccomp_filter_prog_free(q);
	assert_int_equal(seccomp_cache_load(root_fd, p->key, &insns, &len), 0);
	free(insns);

	/* an entry under another key's name (a copied file) is refused */
	uint8_t other[BERTH_SHA256_SIZE];
	memcpy(other, p->key, sizeof(other));
	other[0] ^= 1;
	char path2[256];
	cache_path(root, other, path2, sizeof(path2));
	assert_int_equal(link(path, path2), 0);
	assert_int_equal(seccomp_cache_load(root_fd, other, &insns, &len), -EBADMSG);

	seccomp_filter_prog_free(p);
	oci_config_free(c);
	close(root_fd);
	assert_int_equal(rm_rf_at(AT_FDCWD, root), 0);
}

static void test_cache_bounded(void **state)
{
	(void)state;
	char root[] = "/tmp/test-seccomp.XXXXXX", dir[256];
	assert_non_null(mkdtemp(root));
	int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct oci_config *c = profile(cache_profile);
	struct seccomp_filter_prog *p = compile_ok(c);
	for (int i = 0; i < SECCOMP_CACHE_MAX + 10; i++) {
		p->key[0] = (uint8_t)i;
		assert_int_equal(seccomp_cache_store(root_fd, p), 0);
	}
	snprintf(dir, sizeof(dir), "%s/" SECCOMP_CACHE_DIR, root);
	int n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.';
	closedir(d);
	assert_true(n <= SECCOMP_CACHE_MAX);
	assert_true(n >= SECCOMP_CACHE_MAX - 1);
	/* the newest entry survived */
	struct sock_filter *insns = NULL;
	size_t len = 0;
	assert_int_equal(seccomp_cache_load(root_fd, p->key, &insns, &len), 0);
	free(insns);
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/" SECCOMP_CACHE_DIR, root);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	seccomp_filter_prog_free(p);
	oci_config_free(c);
	close(root_fd);
	assert_int_equal(rm_rf_at(AT_FDCWD, root), 0);
}

/* The profile the integration test uses, shaped like containerd's default: compiles, and a
 * shell-like process runs under it. */
static int default_profile_child(void *arg)
{
	(void)arg;
	char buf[8];
	int p[2];
	/* a few of the syscalls a shell uses */
	if (syscall(SYS_getpid) <= 0 || syscall(SYS_pipe2, p, O_CLOEXEC) < 0 ||
	    syscall(SYS_write, p[1], "ok", 2) != 2 || syscall(SYS_read, p[0], buf, sizeof(buf)) != 2)
		return 1;
	/* personality: the query and PER_LINUX pass, ADDR_NO_RANDOMIZE (allowed to anyone by the
	 * kernel) is not among the values the profile lets through */
	if (result_is(syscall(SYS_personality, 0xffffffffUL), 0) ||
	    result_is(syscall(SYS_personality, 0x0040000UL), EPERM))
		return 2;
	if (result_is(syscall(SYS_clone3, NULL, 0), ENOSYS))
		return 3;
	return 0;
}

static void test_default_profile(void **state)
{
	(void)state;
	const char *data = getenv("BERTH_TEST_DATA");
	char path[4096];
	snprintf(path, sizeof(path), "%s/seccomp/default.json", data ? data : "tests/data");
	char *body = NULL;
	size_t len = 0;
	if (read_file_at(AT_FDCWD, path, 1 << 20, &body, &len) < 0) {
		print_message("no %s (set BERTH_TEST_DATA)\n", path);
		skip();
	}
	/* profile() turns single quotes into double ones; the file has none. */
	char *inner = body + 1;
	body[len - 1 - (body[len - 1] == '\n')] = '\0';
	struct oci_config *c = profile(inner);
	struct seccomp_filter_prog *p = compile_ok(c);
	assert_exit0(run_filtered(c, p, default_profile_child, NULL));
	seccomp_filter_prog_free(p);
	oci_config_free(c);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_errno_ret),
	    cmocka_unit_test(test_errno_default_eperm),
	    cmocka_unit_test(test_default_action_errno),
	    cmocka_unit_test(test_kill_actions),
	    cmocka_unit_test(test_log_and_trace),
	    cmocka_unit_test(test_masked_eq),
	    cmocka_unit_test(test_compare_ops),
	    cmocka_unit_test(test_same_arg_twice),
	    cmocka_unit_test(test_args_and),
	    cmocka_unit_test(test_unknown_names_skipped),
	    cmocka_unit_test(test_enosys_for_newer_syscalls),
	    cmocka_unit_test(test_rule_equal_to_default_skipped),
	    cmocka_unit_test(test_enosys_stub_per_arch),
	    cmocka_unit_test(test_bad_profiles),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_notify_listener),
	    cmocka_unit_test(test_listener_unreachable),
	    cmocka_unit_test(test_process_state_rejects_odd_state),
	    cmocka_unit_test(test_profile_hash),
	    cmocka_unit_test(test_cache_round_trip),
	    cmocka_unit_test(test_cache_bounded),
	    cmocka_unit_test(test_default_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
