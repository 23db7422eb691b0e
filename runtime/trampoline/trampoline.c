/* berth's exec trampoline: a freestanding static program (no libc, raw syscalls, no heap) that berth
 * runs from a sealed memfd just before a container process execs its program. See trampoline.h
 * for why and for the calling convention. Run any other way (say as the interpreter of a
 * `#!/proc/self/exe` script) it refuses with a message and exit status 127: nothing in it can
 * reach the host's berth binary, and the memfd it runs from cannot be written. */
#include <stddef.h>
#include <stdint.h>

#include <asm/unistd.h>
#include <linux/close_range.h>
#include <linux/fcntl.h>
#include <linux/filter.h>
#include <linux/mman.h>
#include <linux/seccomp.h>

#include "trampoline.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "the exec trampoline supports x86-64 and aarch64"
#endif

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
#else
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;
	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
#endif
}
#define sys3(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* ---- tiny string helpers (the compiler may not call libc for us: -ffreestanding) ---- */

/* Compilers may still emit calls to these two for struct copies and initializers (clang does);
 * the volatile byte stores keep them from being turned back into calls to themselves. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n)
{
	volatile unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}
void *memcpy(void *d, const void *s, size_t n)
{
	volatile unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

static size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static int seq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* "-" -> -1; "-<status>" (argv[2]) -> -1; a decimal fd -> it; anything else -> -2. */
static int parse_fd(const char *s)
{
	long v = 0;
	if (s[0] == '-' && s[1] == 0)
		return -1;
	if (s[0] == '-') {
		int st = parse_fd(s + 1);
		return st < 0 || st > 255 ? -2 : -1;
	}
	if (!*s)
		return -2;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000)
			return -2;
		v = v * 10 + (*s - '0');
	}
	return (int)v;
}

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s)
{
	while (*s && b->len + 1 < b->cap)
		b->p[b->len++] = *s++;
	b->p[b->len] = 0;
}

static void put_num(struct buf *b, long v)
{
	char tmp[24];
	int i = (int)sizeof(tmp) - 1;
	tmp[i] = 0;
	if (v < 0) {
		put(b, "-");
		v = -v;
	}
	do
		tmp[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	put(b, tmp + i);
}

static const char *errname(long e)
{
	switch (e) {
	case 1:
		return "Operation not permitted";
	case 2:
		return "No such file or directory";
	case 7:
		return "Argument list too long";
	case 8:
		return "Exec format error";
	case 12:
		return "Cannot allocate memory";
	case 13:
		return "Permission denied";
	case 20:
		return "Not a directory";
	case 26:
		return "Text file busy";
	case 38:
		return "Function not implemented";
	case 40:
		return "Too many levels of symbolic links";
	default:
		return "error";
	}
}

static __attribute__((noreturn)) void die(int status)
{
	for (;;)
		sys3(__NR_exit_group, status, 0, 0);
}

static void say(const char *s)
{
	(void)sys3(__NR_write, 2, s, slen(s));
}

/* Report @what (a negative errno) to berth's sync socket if there is one, else to stderr. */
static __attribute__((noreturn)) void fail(int report_fd, int status, const char *what, const char *arg,
					   long e)
{
	struct trampoline_error te = {.code = (int32_t)e};
	struct buf b = {.p = te.msg, .cap = sizeof(te.msg)};
	put(&b, what);
	if (arg) {
		put(&b, " '");
		put(&b, arg);
		put(&b, "'");
	}
	put(&b, ": ");
	put(&b, errname(-e));
	put(&b, " (errno ");
	put_num(&b, -e);
	put(&b, ")");
	if (report_fd >= 0) {
		struct {
			uint32_t type;
			struct trampoline_error e;
		} m = {.type = TRAMPOLINE_REPORT_TYPE, .e = te};
		if (sys3(__NR_write, report_fd, &m, sizeof(m)) == (long)sizeof(m))
			die(TRAMPOLINE_EXIT_EXEC);
	}
	say("berth: ");
	say(te.msg);
	say("\n");
	die(status);
}

static long set_cloexec(int fd)
{
	/* close_range is what berth itself used here before the trampoline (so profiles that let
	 * the runtime start a process allow it); fcntl for kernels without it. */
	long r = sys3(__NR_close_range, fd, fd, CLOSE_RANGE_CLOEXEC);
	if (r < 0)
		r = sys3(__NR_fcntl, fd, F_SETFD, FD_CLOEXEC);
	return r;
}

/* sendmsg(2) with one SCM_RIGHTS descriptor, the kernel's own layouts (no libc headers here). */
struct k_iovec {
	const void *base;
	size_t len;
};
struct k_msghdr {
	void *name;
	int namelen;
	struct k_iovec *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	unsigned flags;
};
struct k_cmsg_fd {
	size_t len;
	int level, type;
	int fd;
	int pad;
};

static long send_listener(int sock, int fd, const void *msg, size_t len)
{
	struct k_iovec iov = {msg, len};
	struct k_cmsg_fd cm = {.len = sizeof(size_t) + 2 * sizeof(int) + sizeof(int),
			       .level = 1 /* SOL_SOCKET */,
			       .type = 1 /* SCM_RIGHTS */,
			       .fd = fd};
	struct k_msghdr mh = {0, 0, &iov, 1, &cm, sizeof(cm), 0};
	return sys3(__NR_sendmsg, sock, &mh, 0x4000 /* MSG_NOSIGNAL */);
}

/* The control file's steps; returns 0 or a negative errno with *what set. */
static long run_control(int ctl_fd, const char **what)
{
	struct trampoline_control h;
	*what = "read the control file";
	long r = sys6(__NR_pread64, ctl_fd, (long)&h, sizeof(h), 0, 0, 0);
	if (r != (long)sizeof(h) || h.magic != TRAMPOLINE_MAGIC || h.version != TRAMPOLINE_VERSION ||
	    h.size < sizeof(h))
		return r < 0 ? r : -22;
	const char *base = (const char *)sys6(__NR_mmap, 0, h.size, PROT_READ, MAP_PRIVATE, ctl_fd, 0);
	if ((unsigned long)base > -4096UL)
		return (long)base;
	(void)sys3(__NR_close, ctl_fd, 0, 0);
	if ((uint64_t)h.label_off + h.label_len > h.size || (uint64_t)h.msg_off + h.msg_len > h.size ||
	    (uint64_t)h.seccomp_off + (uint64_t)h.seccomp_len * sizeof(struct sock_filter) > h.size)
		return -22;
	if (h.listener_fd >= 0 && (r = set_cloexec(h.listener_fd)) < 0)
		return r;
	if (h.label_fd >= 0) {
		*what = "write the LSM exec label";
		/* One write: an LSM takes the attribute whole or not at all. */
		r = sys3(__NR_write, h.label_fd, base + h.label_off, h.label_len);
		if (r < 0 || r != (long)h.label_len)
			return r < 0 ? r : -5 /* EIO */;
		(void)sys3(__NR_close, h.label_fd, 0, 0);
	}
	if (!h.seccomp_len)
		return 0;
	*what = "linux.seccomp: load the filter";
	struct sock_fprog prog = {.len = (unsigned short)h.seccomp_len,
				  .filter = (struct sock_filter *)(uintptr_t)(base + h.seccomp_off)};
	/* Every syscall from here on is filtered: only sendmsg (with a listener) and execve follow. */
	long nfd = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, h.seccomp_flags, &prog);
	if (nfd < 0)
		return nfd;
	if (h.listener_fd >= 0 && (h.seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) {
		*what = "linux.seccomp: send the notification fd to the agent";
		r = send_listener(h.listener_fd, (int)nfd, base + h.msg_off, h.msg_len);
		if (r < 0)
			return r;
		/* The notify fd is close-on-exec (the kernel makes it so): the agent has its copy. */
	}
	return 0;
}

static __attribute__((noreturn, used)) void trampoline_main(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;

	if (argc <= TRAMPOLINE_ARG_FIRST || !seq(argv[0], TRAMPOLINE_ARGV0) ||
	    !argv[TRAMPOLINE_ARG_PATH][0] || parse_fd(argv[TRAMPOLINE_ARG_REPORT]) < -1 ||
	    parse_fd(argv[TRAMPOLINE_ARG_HOLD]) < -1 || parse_fd(argv[TRAMPOLINE_ARG_CONTROL]) < -1) {
		say("berth-trampoline: this program only starts container processes for berth; "
		    "it is not a command (was it run through /proc/self/exe?)\n");
		die(TRAMPOLINE_EXIT_MISUSE);
	}
	const char *path = argv[TRAMPOLINE_ARG_PATH];
	int report_fd = parse_fd(argv[TRAMPOLINE_ARG_REPORT]);
	/* "-<status>": the exit status of a failed exec (validated above) */
	int status = argv[TRAMPOLINE_ARG_REPORT][0] == '-' && argv[TRAMPOLINE_ARG_REPORT][1]
			 ? parse_fd(argv[TRAMPOLINE_ARG_REPORT] + 1)
			 : TRAMPOLINE_EXIT_EXEC;
	int hold_fd = parse_fd(argv[TRAMPOLINE_ARG_HOLD]);
	int ctl_fd = parse_fd(argv[TRAMPOLINE_ARG_CONTROL]);
	const char *what = "mark the report socket close-on-exec";
	long r = report_fd >= 0 ? set_cloexec(report_fd) : 0;
	if (r == 0 && hold_fd >= 0) {
		what = "mark the held descriptor close-on-exec";
		r = set_cloexec(hold_fd);
	}
	if (r == 0 && ctl_fd >= 0)
		r = run_control(ctl_fd, &what);
	if (r < 0)
		fail(report_fd, status, what, NULL, r);
	r = sys3(__NR_execve, path, argv + TRAMPOLINE_ARG_FIRST, envp);
	fail(report_fd, status, "exec", path, r);
}

/* The entry point: hand the initial stack (argc, argv..., NULL, envp..., NULL, auxv) to C with the
 * ABI's alignment. */
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n"
	"	xor %rbp, %rbp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call trampoline_main\n"
	"	hlt\n");
#else
__asm__(".text\n.global _start\n_start:\n"
	"	mov x0, sp\n"
	"	and sp, x0, #-16\n"
	"	bl trampoline_main\n"
	"	brk #0\n");
#endif
