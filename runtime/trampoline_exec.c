/* The berth side of the exec trampoline: see trampoline_exec.h and trampoline/trampoline.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "lifecycle.h"
#include "seccomp.h"
#include "trampoline/trampoline.h"
#include "lsm.h"
#include "trampoline_exec.h"

_Static_assert(TRAMPOLINE_REPORT_TYPE == SYNC_ERROR, "the trampoline reports in the sync format");
_Static_assert(sizeof(struct trampoline_error) == sizeof(struct berth_error), "struct berth_error layout");
_Static_assert(TRAMPOLINE_ERROR_MSG_MAX == BERTH_ERROR_MSG_MAX, "struct berth_error layout");

extern const unsigned char berth_trampoline_image[];
extern const size_t berth_trampoline_size;

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

int trampoline_open(int *ret_fd, struct berth_error *err)
{
	/* MFD_EXEC: executable even where vm.memfd_noexec makes memfds non-executable by default
	 * (kernels before 6.3 do not know the flag). */
	_cleanup_close_ int fd = memfd_create("berth-trampoline", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("berth-trampoline", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 && errno == EACCES)
		return berth_error_setf_errno(
		    err, -errno,
		    "create the exec trampoline's memfd (vm.memfd_noexec=2 forbids "
		    "executable memfds, which berth needs to keep its binary out of reach)");
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "create the exec trampoline's memfd");
	int r = write_all(fd, berth_trampoline_image, berth_trampoline_size);
	if (r < 0)
		return berth_error_setf_errno(err, r, "write the exec trampoline");
	/* Execute-only: a process without CAP_DAC_* cannot read it, so the kernel makes the process
	 * that execs it non-dumpable (trampoline_exec drops those capabilities from the effective set
	 * for that exec): no container process can ptrace it before its last steps are done. */
	if (fchmod(fd, 0111) < 0)
		return berth_error_setf_errno(err, -errno, "chmod the exec trampoline");
	int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	if (fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC) < 0 &&
	    (errno != EINVAL || fcntl(fd, F_ADD_SEALS, seals) < 0))
		return berth_error_setf_errno(err, -errno, "seal the exec trampoline");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* The control file: the header, then the label, the program and the agent's message. */
int trampoline_control_create(const struct trampoline_steps *s, int *ret_fd, struct berth_error *err)
{
	*ret_fd = -1;
	if (s->label_fd < 0 && !s->insns)
		return 0;
	struct trampoline_control h = {.magic = TRAMPOLINE_MAGIC,
				       .version = TRAMPOLINE_VERSION,
				       .label_fd = s->label_fd,
				       .listener_fd = s->insns ? s->listener_fd : -1,
				       .seccomp_flags = s->seccomp_flags};
	size_t label_len = s->label_fd >= 0 && s->label ? strlen(s->label) : 0;
	size_t prog_len = s->insns ? s->n_insns * sizeof(struct sock_filter) : 0;
	size_t msg_len = h.listener_fd >= 0 ? s->msg_len : 0;
	size_t total = sizeof(h) + label_len + prog_len + msg_len;
	if (total > UINT32_MAX)
		return berth_error_set(err, -E2BIG, "the exec trampoline's control file is too large");
	h.size = (uint32_t)total;
	h.label_off = sizeof(h);
	h.label_len = (uint32_t)label_len;
	h.seccomp_off = (uint32_t)(sizeof(h) + label_len);
	h.seccomp_len = (uint32_t)(s->insns ? s->n_insns : 0);
	h.msg_off = (uint32_t)(h.seccomp_off + prog_len);
	h.msg_len = (uint32_t)msg_len;
	_cleanup_close_ int fd = memfd_create("berth-trampoline-control", MFD_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "create the exec trampoline's control file");
	int r = write_all(fd, &h, sizeof(h));
	if (r == 0 && label_len)
		r = write_all(fd, s->label, label_len);
	if (r == 0 && prog_len)
		r = write_all(fd, s->insns, prog_len);
	if (r == 0 && msg_len)
		r = write_all(fd, s->msg, msg_len);
	if (r < 0)
		return berth_error_setf_errno(err, r, "write the exec trampoline's control file");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int keep_open(int fd)
{
	if (fd < 0)
		return 0;
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* Take CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH out of the effective set for the exec of the
 * execute-only trampoline: it is then unreadable to us, and the kernel starts it non-dumpable. The
 * effective set before an execve does not shape the capabilities after it (those come from the
 * permitted, inheritable, ambient and bounding sets), so nothing else changes. Best effort. */
static void drop_dac_effective(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &hdr, d) < 0)
		return;
	d[0].effective &= ~((1U << CAP_DAC_OVERRIDE) | (1U << CAP_DAC_READ_SEARCH));
	(void)syscall(SYS_capset, &hdr, d);
}

bool trampoline_proc_path_ok(int memfd)
{
	char path[64];
	struct stat want, got;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	_cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
	return fd >= 0 && fstat(fd, &got) == 0 && fstat(memfd, &want) == 0 && got.st_dev == want.st_dev &&
	       got.st_ino == want.st_ino;
}

int trampoline_exec(const struct trampoline_call *c, struct berth_error *err)
{
	size_t n = 0;
	while (c->argv[n])
		n++;
	_cleanup_free_ char **argv = calloc(n + TRAMPOLINE_ARG_FIRST + 1, sizeof(char *));
	char report[16] = "-", hold[16] = "-", control[16] = "-";
	if (!argv)
		return berth_error_set(err, -ENOMEM, "exec '%s': out of memory", c->path);
	if (c->report_fd >= 0)
		snprintf(report, sizeof(report), "%d", c->report_fd);
	else if (c->fail_status > 0)
		snprintf(report, sizeof(report), "-%d", c->fail_status & 0xff);
	if (c->hold_fd >= 0)
		snprintf(hold, sizeof(hold), "%d", c->hold_fd);
	if (c->control_fd >= 0)
		snprintf(control, sizeof(control), "%d", c->control_fd);
	argv[0] = (char *)TRAMPOLINE_ARGV0;
	argv[TRAMPOLINE_ARG_PATH] = (char *)c->path;
	argv[TRAMPOLINE_ARG_REPORT] = report;
	argv[TRAMPOLINE_ARG_HOLD] = hold;
	argv[TRAMPOLINE_ARG_CONTROL] = control;
	memcpy(argv + TRAMPOLINE_ARG_FIRST, c->argv, n * sizeof(char *));

	/* Filtered, the caller has made report_fd and hold_fd inheritable before the filter. */
	int r = c->filtered ? 0 : keep_open(c->report_fd);
	if (r == 0 && !c->filtered)
		r = keep_open(c->hold_fd);
	if (r == 0)
		r = keep_open(c->control_fd);
	if (r == 0 && c->steps)
		r = keep_open(c->steps->label_fd);
	if (r == 0 && c->steps && c->steps->insns)
		r = keep_open(c->steps->listener_fd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "exec '%s': hand descriptors to the trampoline",
					      c->path);
	/* Filtered, the last steps are done (the trampoline only execs): no window to guard, and
	 * no syscall the profile need not allow. */
	if (!c->filtered)
		drop_dac_effective();
	/* Filtered, execve() of /proc/self/fd/N first: a profile that allows exec at all allows
	 * execve, not always execveat (and SCMP_ACT_KILL would not let us try the other). */
	if (c->filtered && c->proc_path_ok) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", c->memfd);
		execve(path, argv, c->envp);
	}
	syscall(SYS_execveat, c->memfd, "", argv, c->envp, AT_EMPTY_PATH);
	r = -errno;
	return berth_error_setf_errno(err, r, "exec '%s' (through berth's exec trampoline)", c->path);
}

int trampoline_steps_label(struct trampoline_steps *s, int lsm_fd, const char *lsm_value,
			   struct berth_error *err)
{
	if (!lsm_label_via_trampoline(lsm_value))
		return lsm_apply_exec_label(lsm_fd, lsm_value, err);
	s->label_fd = lsm_fd;
	s->label = lsm_value;
	return 0;
}

int trampoline_exec_process(const struct process_exec *e, struct berth_error *err)
{
	struct trampoline_steps steps = TRAMPOLINE_STEPS_INIT;
	_cleanup_free_ char *msg = NULL;
	_cleanup_close_ int control_fd = -EBADF;
	int r = trampoline_steps_label(&steps, e->lsm_fd, e->lsm_value, err);
	if (r == 0 && e->proc->no_new_privileges)
		r = seccomp_plan_steps(e->sp, e->seccomp, e->state, e->state_len, true, &steps, &msg, err);
	if (r == 0)
		r = trampoline_control_create(&steps, &control_fd, err);
	if (r < 0)
		return r;
	static char *const empty_env[] = {NULL};
	char **env = e->proc->env ? e->proc->env : (char **)empty_env;
	(void)process_env_with_home(e->proc, &env);
	struct trampoline_call call = {.memfd = e->memfd,
				       .path = e->path,
				       .argv = e->proc->args,
				       .envp = env,
				       .report_fd = e->report_fd,
				       .hold_fd = e->hold_fd,
				       .control_fd = control_fd,
				       .steps = &steps,
				       .filtered = e->filtered,
				       .proc_path_ok = e->proc_path_ok};
	return trampoline_exec(&call, err);
}
