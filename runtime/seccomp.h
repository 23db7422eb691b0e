/* runtime-internal: linux.seccomp. The profile is compiled with libseccomp to classic BPF while
 * `create` can still report errors (the program is cached under the state root, keyed by a hash
 * of the profile), and loaded by the init with seccomp(2) as late as possible before exec.
 * Not part of the public API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/sha256.h"

struct berth_error;
struct oci_seccomp;
struct sock_filter;

/* <state root>/SECCOMP_CACHE_DIR/<sha256 hex>.bpf, at most SECCOMP_CACHE_MAX files. */
#define SECCOMP_CACHE_DIR ".seccomp-cache"
#define SECCOMP_CACHE_MAX 64

/* A compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER). */
struct seccomp_filter_prog {
	struct sock_filter *insns;      /* malloc'd */
	size_t len;                     /* instructions, 1..BPF_MAXINSNS */
	unsigned int flags;             /* SECCOMP_FILTER_FLAG_* from linux.seccomp.flags */
	bool notify;                    /* a rule is SCMP_ACT_NOTIFY: loading asks for a listener fd */
	uint8_t key[BERTH_SHA256_SIZE]; /* seccomp_profile_hash() of the profile */
};

void seccomp_filter_prog_free(struct seccomp_filter_prog *p);

/* Check @s beyond what the parser checks (errnoRet only with ERRNO/TRACE, NOTIFY rules need a
 * listenerPath and never cover write, flags the kernel knows) and compile it: unknown syscall
 * names are skipped as runc does, and syscalls newer than every name in the profile get ENOSYS
 * instead of the default action (so libc falls back, as with runc). No cache. On success
 * *ret is owned by the caller. Errors name the field: "linux.seccomp.syscalls[2].errnoRet: ...". */
int seccomp_compile(const struct oci_seccomp *s, struct seccomp_filter_prog **ret, struct berth_error *err);

/* The cache key: sha256 over a canonical encoding of everything that shapes the program
 * (actions, errno values, architectures, rules, arguments), plus the libseccomp version and
 * the kernel release, which decide how names resolve. Flags and the listener are not part of it. */
void seccomp_profile_hash(const struct oci_seccomp *s, uint8_t ret_key[BERTH_SHA256_SIZE]);

/* Look @key up in <@root_fd>/SECCOMP_CACHE_DIR. -ENOENT on a miss, -EBADMSG when the file is
 * damaged (bad size, magic, key or checksum), -EACCES when another user owns it or group/others
 * may write it: it must not be used. -EPERM when that is true of the directory. *ret_insns malloc'd. */
int seccomp_cache_load(int root_fd, const uint8_t key[BERTH_SHA256_SIZE], struct sock_filter **ret_insns,
		       size_t *ret_len);
/* Store @p atomically (a temporary file renamed over the entry), evicting the oldest entries
 * beyond SECCOMP_CACHE_MAX. Failures only cost a later compile; the caller may ignore them. */
int seccomp_cache_store(int root_fd, const struct seccomp_filter_prog *p);

/* seccomp_compile through the cache at @root_fd (the state root; -EBADF: no cache). */
int seccomp_prepare(const struct oci_seccomp *s, int root_fd, struct seccomp_filter_prog **ret,
		    struct berth_error *err);

/* Connect to linux.seccomp.listenerPath (a host path: call before pivot_root). *ret_fd is a
 * SOCK_STREAM socket owned by the caller. */
int seccomp_listener_connect(const struct oci_seccomp *s, int *ret_fd, struct berth_error *err);

/* The "container process state" a listener receives, as runc sends it:
 * {"ociVersion","fds":["seccompFd"],"pid","metadata","state":{... "status":"running"}} built
 * from the compact state JSON berth gives hooks. *ret_json malloc'd, NUL-terminated. */
int seccomp_process_state(const struct oci_seccomp *s, const char *state_json, size_t state_len,
			  char **ret_json, size_t *ret_len);

/* Load @p into the calling thread (needs no_new_privs or CAP_SYS_ADMIN). With a NOTIFY rule, the
 * listener fd the kernel returns is sent over @listener_fd with SCM_RIGHTS and the process state
 * as the message, then closed; @listener_fd is left to the caller to close. */
int seccomp_install(const struct seccomp_filter_prog *p, int listener_fd, const struct oci_seccomp *s,
		    const char *state_json, size_t state_len, struct berth_error *err);

/* What the init carries from set-up (in `create`) to the moment it loads the filter. */
struct seccomp_plan {
	struct seccomp_filter_prog *prog; /* NULL: no linux.seccomp */
	int listener_fd;                  /* connected to listenerPath when prog->notify, else -EBADF */
};
#define SECCOMP_PLAN_INIT                                                                                    \
	{                                                                                                    \
		.prog = NULL, .listener_fd = -EBADF                                                          \
	}

/* seccomp_prepare, then the listener connection when a rule notifies. */
int seccomp_plan_prepare(const struct oci_seccomp *s, int root_fd, struct seccomp_plan *plan,
			 struct berth_error *err);
/* seccomp_install, then release the plan. A no-op for an empty plan. */
int seccomp_plan_install(struct seccomp_plan *plan, const struct oci_seccomp *s, const char *state_json,
			 size_t state_len, struct berth_error *err);
void seccomp_plan_release(struct seccomp_plan *plan);

struct trampoline_steps;
/* The plan as steps for the exec trampoline (trampoline_exec.h), which loads the filter itself just
 * before its final execve (no_new_privs set): berth's own syscalls are then never filtered. With
 * @agent, a notifying filter gets a listener, sent to listenerPath with the process state
 * (*ret_msg, malloc'd, to free after the exec failed); without (a hook), there is no listener and
 * notifying rules fail with ENOSYS, as with no agent. The plan keeps its program and listener. */
int seccomp_plan_steps(const struct seccomp_plan *plan, const struct oci_seccomp *s, const char *state_json,
		       size_t state_len, bool agent, struct trampoline_steps *steps, char **ret_msg,
		       struct berth_error *err);
