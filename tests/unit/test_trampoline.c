/* runtime/trampoline_exec.c and the exec trampoline itself (runtime/trampoline/): the sealed memfd,
 * a misused trampoline's refusal, and each last step run for real in a forked child: the LSM label
 * write, a failed exec reported in the sync format, the seccomp filter, and the notify fd handed to
 * an agent. Needs no root (the children set no_new_privs before the filter). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "../../runtime/trampoline/trampoline.h"
#include "../../runtime/trampoline_exec.h"

/* Fork; the child gets stdout+stderr on a pipe, runs @fn and _exits; returns the child's wait
 * status and its output in @out. */
static int run_child(void (*fn)(void *), void *arg, char *out, size_t size)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		fn(arg);
		_exit(99);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < size && (r = read(p[0], out + n, size - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void test_open_sealed(void **state)
{
	(void)state;
	struct berth_error err = {0};
	int fd = -1;
	assert_int_equal(trampoline_open(&fd, &err), 0);
	int seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals & F_SEAL_WRITE);
	assert_true(seals & F_SEAL_GROW);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_SEAL);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0111);
	/* Sealed: no write, not even by its owner through its own descriptor. */
	assert_int_equal(pwrite(fd, "x", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	close(fd);
}

/* ---- a misused trampoline (the `#!/proc/self/exe` case) ---- */

static void misuse_child(void *arg)
{
	(void)arg;
	struct berth_error err = {0};
	int fd;
	if (trampoline_open(&fd, &err) < 0)
		_exit(98);
	char *argv[] = {"/proc/self/exe", "/evil.sh", NULL}, *envp[] = {NULL};
	syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
	_exit(97);
}

static void test_misuse_refused(void **state)
{
	(void)state;
	char out[1024];
	int st = run_child(misuse_child, NULL, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), TRAMPOLINE_EXIT_MISUSE);
	assert_non_null(strstr(out, "only starts container processes for berth"));
}

/* ---- the last steps ---- */

struct call_args {
	const char *path;
	char **argv;
	int report_fd;
	struct trampoline_steps steps;
	bool nnp;
};

static void call_child(void *arg)
{
	struct call_args *a = arg;
	struct berth_error err = {0};
	int fd, ctl = -1;
	static char *envp[] = {"FROM_TEST=kept", NULL};
	if (a->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(96);
	if (trampoline_open(&fd, &err) < 0 || trampoline_control_create(&a->steps, &ctl, &err) < 0)
		_exit(98);
	struct trampoline_call c = {.memfd = fd,
				    .path = a->path,
				    .argv = a->argv,
				    .envp = envp,
				    .report_fd = a->report_fd,
				    .hold_fd = -1,
				    .control_fd = ctl,
				    .steps = &a->steps};
	trampoline_exec(&c, &err);
	dprintf(2, "trampoline_exec: %s\n", err.msg);
	_exit(95);
}

static void test_argv_env_passed(void **state)
{
	(void)state;
	char *argv[] = {
	    "my-argv0", "-c",
	    "head -c 8 /proc/$$/cmdline; echo \" $0 $FROM_TEST\"; ls -l /proc/$$/fd | grep -c memfd: || true",
	    "one", NULL};
	struct call_args a = {
	    .path = "/bin/sh", .argv = argv, .report_fd = -1, .steps = TRAMPOLINE_STEPS_INIT};
	char out[1024];
	int st = run_child(call_child, &a, out, sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* argv[0] as given, the environment unchanged, and neither the trampoline's memfd nor its
	 * control file left open in the program. */
	assert_string_equal(out, "my-argv0 one kept\n0\n");
}

static void test_label_written(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	char *argv[] = {"true", NULL};
	struct call_args a = {
	    .path = "/bin/true", .argv = argv, .report_fd = -1, .steps = TRAMPOLINE_STEPS_INIT};
	a.steps.label_fd = p[1];
	a.steps.label = "exec berth-test-profile";
	char out[256], label[128] = {0};
	int st = run_child(call_child, &a, out, sizeof(out));
	close(p[1]);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(read(p[0], label, sizeof(label) - 1), (ssize_t)strlen("exec berth-test-profile"));
	assert_string_equal(label, "exec berth-test-profile");
	close(p[0]);
}

static void test_exec_failure_reported(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	char *argv[] = {"nothing", NULL};
	struct call_args a = {
	    .path = "/nonexistent/program", .argv = argv, .report_fd = sv[1], .steps = TRAMPOLINE_STEPS_INIT};
	char out[256];
	int st = run_child(call_child, &a, out, sizeof(out));
	close(sv[1]);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), TRAMPOLINE_EXIT_EXEC);
	struct {
		uint32_t type;
		struct berth_error e;
	} m;
	assert_int_equal(recv(sv[0], &m, sizeof(m), 0), (ssize_t)sizeof(m));
	assert_int_equal(m.type, TRAMPOLINE_REPORT_TYPE);
	assert_int_equal(m.e.code, -ENOENT);
	assert_non_null(strstr(m.e.msg, "exec '/nonexistent/program'"));
	assert_non_null(strstr(m.e.msg, "No such file or directory"));
	close(sv[0]);
}

/* mkdir and mkdirat answer EPERM, everything else is allowed (no arch check: a test only). */
static struct sock_filter deny_mkdir[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdir, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdirat, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
};

static void test_seccomp_loaded(void **state)
{
	(void)state;
	char dir[] = "/tmp/berth-trampoline-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char script[512];
	snprintf(script, sizeof(script),
		 "grep '^Seccomp:' /proc/self/status; mkdir %s/sub 2>/dev/null && echo MKDIR-OK; echo end",
		 dir);
	char *argv[] = {"sh", "-c", script, NULL};
	struct call_args a = {
	    .path = "/bin/sh", .argv = argv, .report_fd = -1, .nnp = true, .steps = TRAMPOLINE_STEPS_INIT};
	a.steps.insns = deny_mkdir;
	a.steps.n_insns = sizeof(deny_mkdir) / sizeof(deny_mkdir[0]);
	char out[1024];
	int st = run_child(call_child, &a, out, sizeof(out));
	rmdir(dir);
	assert_true(WIFEXITED(st));
	assert_string_equal(out, "Seccomp:\t2\nend\n");
}

static void test_notify_fd_to_agent(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	char *argv[] = {"true", NULL};
	struct call_args a = {
	    .path = "/bin/true", .argv = argv, .report_fd = -1, .nnp = true, .steps = TRAMPOLINE_STEPS_INIT};
	a.steps.insns = deny_mkdir;
	a.steps.n_insns = sizeof(deny_mkdir) / sizeof(deny_mkdir[0]);
	a.steps.seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	a.steps.listener_fd = sv[1];
	a.steps.msg = "{\"state\":\"for the agent\"}";
	a.steps.msg_len = strlen(a.steps.msg);
	char out[256];
	int st = run_child(call_child, &a, out, sizeof(out));
	close(sv[1]);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	char buf[128] = {0};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
	assert_int_equal(recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC), (ssize_t)strlen(a.steps.msg));
	assert_string_equal(buf, a.steps.msg);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
	int nfd;
	memcpy(&nfd, CMSG_DATA(cm), sizeof(nfd));
	char link[64], path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", nfd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = 0;
	assert_string_equal(link, "anon_inode:seccomp notify");
	close(nfd);
	close(sv[0]);
}

/* ---- no container process can ptrace or open the trampoline before its last steps ---- */

/* The credentials of a container process: uid @uid, capabilities CAP_KILL and CAP_DAC_OVERRIDE. */
static void container_creds(uid_t uid)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (c != CAP_KILL && c != CAP_DAC_OVERRIDE)
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (uid && (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0))
		_exit(94);
	d[0].permitted = d[0].effective = (1U << CAP_KILL) | (1U << CAP_DAC_OVERRIDE);
	if (syscall(SYS_capset, &h, d) < 0)
		_exit(93);
}

/* A: the trampoline (or, for @control, a plain exec of sleep) blocked in its label write on a full
 * pipe. B: the same credentials, opens /proc/A/exe. Returns B's errno, 0 when it opened. */
static int open_exe_of_blocked(uid_t uid, bool control)
{
	int p[2];
	char buf[4096] = {0};
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	while (write(p[1], buf, sizeof(buf)) > 0)
		;
	fcntl(p[1], F_SETFL, 0);
	pid_t a = fork();
	assert_true(a >= 0);
	if (a == 0) {
		container_creds(uid);
		if (control)
			execl("/bin/sleep", "sleep", "10", (char *)NULL);
		struct call_args ca = {.path = "/bin/true",
				       .argv = (char *[]){"true", NULL},
				       .report_fd = -1,
				       .steps = TRAMPOLINE_STEPS_INIT};
		ca.steps.label_fd = p[1];
		ca.steps.label = "blocks";
		call_child(&ca);
	}
	close(p[1]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)a);
	/* Wait until A runs what it will block in. */
	for (int i = 0; i < 200; i++) {
		char link[128] = {0};
		if (readlink(path, link, sizeof(link) - 1) > 0 &&
		    strstr(link, control ? "sleep" : "memfd:berth-trampoline"))
			break;
		usleep(10000);
	}
	usleep(50000);
	int e[2];
	assert_int_equal(pipe(e), 0);
	pid_t b = fork();
	assert_true(b >= 0);
	if (b == 0) {
		container_creds(uid);
		int fd = open(path, O_PATH);
		int r = fd >= 0 ? 0 : errno;
		(void)!write(e[1], &r, sizeof(r));
		_exit(0);
	}
	close(e[1]);
	int r = -1, st = 0;
	ssize_t n = read(e[0], &r, sizeof(r));
	close(e[0]);
	waitpid(b, &st, 0);
	if (n != (ssize_t)sizeof(r))
		fail_msg("the opening child failed (wait status 0x%x)", st);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	close(p[0]);
	return r;
}

static void test_not_dumpable(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* needs to change uid and capabilities */
	/* The control shows B could open A's exe were A dumpable. */
	assert_int_equal(open_exe_of_blocked(0, true), 0);
	assert_int_equal(open_exe_of_blocked(65534, true), 0);
	/* Root with CAP_DAC_OVERRIDE and an unprivileged user alike: the trampoline starts
	 * non-dumpable (it is execute-only, exec'd without CAP_DAC_* in the effective set). */
	assert_int_equal(open_exe_of_blocked(0, false), EACCES);
	assert_int_equal(open_exe_of_blocked(65534, false), EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_sealed),           cmocka_unit_test(test_misuse_refused),
	    cmocka_unit_test(test_argv_env_passed),       cmocka_unit_test(test_label_written),
	    cmocka_unit_test(test_exec_failure_reported), cmocka_unit_test(test_seccomp_loaded),
	    cmocka_unit_test(test_notify_fd_to_agent),    cmocka_unit_test(test_not_dumpable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
