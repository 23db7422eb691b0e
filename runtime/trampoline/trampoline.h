/* The interface between berth and its exec trampoline (runtime/trampoline/trampoline.c), shared by
 * both. Freestanding: fixed-size types only, no libc beyond <stdint.h>.
 *
 * Why a trampoline (CVE-2019-5736): the container init, the exec'd process and the hooks that run
 * in the container are forks of berth until their execve(). Were that execve the user's program,
 * a `#!/proc/self/exe` script (or args ["/proc/self/exe"]) would run the host's berth binary inside
 * the container, and a container process could reopen it for writing through /proc/<pid>/exe once
 * berth has exited. So berth first execs this tiny static program from a sealed memfd; its
 * execve() of the user's program is the one where /proc/self/exe resolves, and it resolves to
 * the sealed memfd, never to the host's file.
 *
 * The call: execveat(memfd, "", argv, envp, AT_EMPTY_PATH) with
 *   argv[0] = TRAMPOLINE_ARGV0
 *   argv[1] = the program to exec (looked up already: absolute for the process, as configured
 *             for a hook)
 *   argv[2] = "<fd>" of a SOCK_SEQPACKET socket to report an exec failure to (in berth's sync
 *             format: TRAMPOLINE_REPORT_TYPE then a struct trampoline_error), or "-": stderr,
 *             or "-<status>": stderr and that exit status (a hook: 127, as a shell would)
 *   argv[3] = "<fd>" to hold open until the final execve, or "-" (the init's exec.fifo: `start`
 *             waits for it to close, so that poststart hooks follow the exec of the program)
 *   argv[4] = "<fd>" of a control file (struct trampoline_control), or "-": nothing to do
 *   argv[5...] = the program's own argv, argv[5] its argv[0]
 *   envp = the program's environment, passed through as is.
 * The descriptors named must not be close-on-exec; the trampoline marks them close-on-exec before
 * its final execve. Anything else it is run with is refused (exit 127). */
#pragma once

#include <stdint.h>

#define TRAMPOLINE_ARGV0 "berth-trampoline"
#define TRAMPOLINE_ARG_PATH 1
#define TRAMPOLINE_ARG_REPORT 2
#define TRAMPOLINE_ARG_HOLD 3
#define TRAMPOLINE_ARG_CONTROL 4
#define TRAMPOLINE_ARG_FIRST 5 /* the program's argv[0] */

/* Exit status when the final execve fails (berth's own error status), or when the trampoline is
 * run by anything but berth (the shell's "cannot execute"). */
#define TRAMPOLINE_EXIT_EXEC 1
#define TRAMPOLINE_EXIT_MISUSE 127

/* The report message: the sync channel's SYNC_ERROR type then a struct berth_error (checked by
 * _Static_assert where berth builds the call). */
#define TRAMPOLINE_REPORT_TYPE 2u
#define TRAMPOLINE_ERROR_MSG_MAX 512
struct trampoline_error {
	int32_t code; /* -errno */
	char msg[TRAMPOLINE_ERROR_MSG_MAX];
};

#define TRAMPOLINE_MAGIC 0x74726d62u /* "bmrt" */
#define TRAMPOLINE_VERSION 1u

/* The last steps before the final execve, in this order: (1) write the label to label_fd (an open
 * /proc/thread-self/attr/<lsm>/exec: the label applies to that execve, and SELinux checks its
 * entrypoint against the user's program, not against berth or this trampoline); (2) load the
 * seccomp filter (the caller has set no_new_privs; the trampoline's own syscalls before it are
 * never filtered, so a profile only needs execve); (3) with a listener, send the new notify fd
 * and the process state to the seccomp agent. Offsets are from the start of the file, which is
 * mapped read-only as a whole; `size` is its length. Unused fds are -1, unused lengths 0. */
struct trampoline_control {
	uint32_t magic;   /* TRAMPOLINE_MAGIC */
	uint32_t version; /* TRAMPOLINE_VERSION */
	uint32_t size;    /* bytes in the file, this header included */
	int32_t label_fd; /* LSM exec attribute, or -1 */
	uint32_t label_off, label_len;
	uint32_t seccomp_len; /* struct sock_filter instructions; 0: no filter */
	uint32_t seccomp_off;
	uint32_t seccomp_flags;    /* SECCOMP_FILTER_FLAG_*, NEW_LISTENER included when listener_fd >= 0 */
	int32_t listener_fd;       /* connected to listenerPath, or -1 */
	uint32_t msg_off, msg_len; /* the agent's message (the container process state) */
};
