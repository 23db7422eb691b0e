/* runtime-internal: how a container process (the init, an exec'd process, a hook that runs in the
 * container) leaves berth's code: through the exec trampoline, from a sealed memfd, so that no
 * process in the container ever runs, or can reach through /proc/<pid>/exe, the host's berth
 * binary (CVE-2019-5736). The protocol is in trampoline/trampoline.h.
 *
 * Chosen over the alternatives after measuring (bench/README.md):
 * - a memfd copy of all of berth (runc 1.1) and a re-exec of berth from it: 1.6 MB copied and a
 *   second start of a static-pie binary per container process;
 * - a read-only overlay/bind of berth's own binary (runc 1.2): the init is a fork of berth, not
 *   an exec, so its /proc/self/exe stays the host file whatever berth itself was started from;
 *   only an exec changes it, and PR_SET_MM_EXE_FILE refuses while the binary is mapped.
 * The trampoline costs one memfd of ~3 KB and one exec of a program with one page of text. It is
 * the idea of runc 1.2-rc's runc-dmz, which runc dropped because the LSM exec label was set
 * before the dmz exec (SELinux then wanted the memfd as the domain's entrypoint): here the
 * trampoline itself writes the label, so it applies to the user's program. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct berth_error;
struct sock_filter;

/* A sealed (write, grow, shrink, seal; exec bits where the kernel knows F_SEAL_EXEC), execute-only
 * memfd holding the trampoline. Close-on-exec: it is exec'd through execveat(AT_EMPTY_PATH).
 * *ret_fd is owned by the caller. */
int trampoline_open(int *ret_fd, struct berth_error *err);

/* The optional last steps (trampoline/trampoline.h, struct trampoline_control). */
struct trampoline_steps {
	int label_fd;                    /* an open /proc/thread-self/attr/<lsm>/exec, or -1 */
	const char *label;               /* written to label_fd just before the final execve */
	const struct sock_filter *insns; /* a seccomp program to load (no_new_privs must be set), or NULL */
	size_t n_insns;
	unsigned int seccomp_flags; /* the flags to load it with, NEW_LISTENER included with an agent */
	int listener_fd;            /* connected to the agent, or -1 */
	const char *msg;            /* the agent's message */
	size_t msg_len;
};
#define TRAMPOLINE_STEPS_INIT                                                                                \
	{                                                                                                    \
		.label_fd = -1, .listener_fd = -1                                                            \
	}

/* Route the LSM exec label (lsm.h) of the process about to be exec'd: into @s for the
 * trampoline to write (SELinux), or written now (AppArmor); see lsm_label_via_trampoline. */
int trampoline_steps_label(struct trampoline_steps *s, int lsm_fd, const char *lsm_value,
			   struct berth_error *err);

/* Write @s into a new memfd for the trampoline to map; *ret_fd (close-on-exec until
 * trampoline_exec) is owned by the caller; -1 when @s has nothing to do. */
int trampoline_control_create(const struct trampoline_steps *s, int *ret_fd, struct berth_error *err);

struct trampoline_call {
	int memfd;         /* trampoline_open() */
	const char *path;  /* the program, already looked up */
	char *const *argv; /* its argv, argv[0] as the config gives it */
	char *const *envp; /* its environment, unchanged */
	int report_fd;     /* a sync socket to report a failed execve to, or -1: stderr */
	int fail_status;   /* exit status after a failed execve without report_fd (0: 1, as the init's) */
	int hold_fd;       /* kept open until the final execve (the init's exec.fifo), or -1 */
	int control_fd;    /* trampoline_control_create(), or -1 */
	const struct trampoline_steps *steps; /* the fds in it are handed over, or NULL */
	bool filtered;                        /* a seccomp filter is loaded already: see trampoline_exec() */
	bool proc_path_ok;                    /* trampoline_proc_path_ok(), asked before the filter went in */
};

/* Whether /proc/self/fd/<@memfd> (in the current root) is @memfd: a rootfs without procfs at /proc
 * could put any file there. Ask it before loading a filter: it opens and stats. */
bool trampoline_proc_path_ok(int memfd);

/* Exec the trampoline, which execs @c->path. Returns only on failure (-errno, @err set); the
 * descriptors it hands over have lost close-on-exec then, so the caller must exit.
 * With @c->filtered (no no_new_privs: the filter went in before the identity change, as runc
 * does), the profile decides what may run: execve() of /proc/self/fd/<memfd> is tried first when
 * @c->proc_path_ok (checked before the filter went in), then execveat. Filtered, the caller must
 * have cleared close-on-exec on report_fd and hold_fd itself (before the filter). */
int trampoline_exec(const struct trampoline_call *c, struct berth_error *err);

struct oci_process;
struct oci_seccomp;
struct seccomp_plan;

/* The container's process (the init's or an exec'd one), exec'd through the trampoline. */
struct process_exec {
	const struct oci_process *proc; /* args and env (HOME added as runc does), noNewPrivileges */
	const char *path;               /* args[0], looked up already */
	const struct seccomp_plan *sp;  /* with noNewPrivileges the trampoline loads it, else unused */
	const struct oci_seccomp *seccomp;
	const char *state; /* the state JSON for a seccomp agent */
	size_t state_len;
	int lsm_fd; /* lsm_prepare_exec_label(), or -1 */
	const char *lsm_value;
	int memfd, report_fd, hold_fd; /* as in struct trampoline_call */
	bool filtered, proc_path_ok;
};

/* Build the trampoline's steps for @e (LSM label, the filter under no_new_privs, the agent) and
 * exec it. Returns only on failure, as trampoline_exec. */
int trampoline_exec_process(const struct process_exec *e, struct berth_error *err);
