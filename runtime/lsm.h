/* runtime-internal: Linux security module labels (process.apparmorProfile, process.selinuxLabel,
 * linux.mountLabel). A label for the user program is written to the kernel's per-task "exec"
 * attribute just before the final execve(); the attribute file is opened early, while the host's
 * /proc is still the one mounted, so a masked or absent /proc in the container cannot get in the
 * way. Not part of the public API (berth_lsm_probe in berth/runtime.h is). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "berth/runtime.h"

struct berth_error;
struct oci_config;
struct oci_process;

enum lsm_kind { LSM_APPARMOR, LSM_SELINUX };

/* Whether the comma-separated list @list (the content of /sys/kernel/security/lsm, possibly with
 * a trailing newline) names the LSM @name. */
bool lsm_list_has(const char *list, const char *name);

/* The host's LSM state as seen under @root ("/" for the real one; tests pass a fake tree with
 * sys/ and proc/ in it). When @ret_why is given and an LSM is off, it receives a short reason
 * (for error messages) for the AppArmor case. */
void lsm_probe_at(const char *root, struct berth_lsm *ret, char *ret_why, size_t why_size);

/* The attribute file @attr ("exec", "current", "keycreate") of the calling thread for @kind:
 * <root>/proc/thread-self/attr/apparmor/@attr where the kernel has per-LSM directories (5.8 and
 * later), else <root>/proc/thread-self/attr/@attr, which older kernels and SELinux use.
 * -ENAMETOOLONG when @size is too small. */
int lsm_attr_path(const char *root, enum lsm_kind kind, const char *attr, char *buf, size_t size);

/* Everything the container init needs, called early in the init (host /proc and /sys, before
 * any namespace is joined): refuses a label the host cannot apply (like runc: a SELinux label or
 * mount label without SELinux; an AppArmor profile without AppArmor, or one that is not loaded),
 * sets SELinux's key creation label for the session keyring when @new_keyring, and returns what
 * lsm_prepare_exec_label returns. */
int lsm_prepare_init(const struct oci_config *c, bool new_keyring, int *ret_fd, char **ret_value,
		     struct berth_error *err);

/* For the process @p: checks that its label can be applied here and opens the attribute file
 * to write it to. On success *ret_fd (O_CLOEXEC, owned by the caller) and *ret_value (malloc'd,
 * e.g. "exec my-profile") are set, or -EBADF and NULL when @p asks for no label. Errors name
 * the config field. */
int lsm_prepare_exec_label(const struct oci_process *p, int *ret_fd, char **ret_value,
			   struct berth_error *err);

/* lsm_prepare_exec_label against a fake tree under @root (tests). */
int lsm_prepare_exec_label_at(const char *root, const struct oci_process *p, int *ret_fd, char **ret_value,
			      struct berth_error *err);

/* Write @value to @fd (from lsm_prepare_exec_label): the label takes effect at the next execve.
 * Call it immediately before that execve. A no-op when @fd < 0. */
int lsm_apply_exec_label(int fd, const char *value, struct berth_error *err);

/* Where the exec label is written. SELinux checks the entrypoint of the very file exec'd right
 * after setexeccon, so its label goes through the trampoline (written just before the final
 * execve of the user's program). AppArmor's "exec <profile>" refused that write from the
 * trampoline with EPERM on Debian's 6.1 kernel (seen in tests/vm/test_vm_apparmor.sh), so it is
 * written by berth's own code just before it execs the trampoline: the profile is attached at
 * that exec and the trampoline's own execve of the program then runs confined (a profile must
 * allow executing the container's program, as docker-default's `file,` does). */
static inline bool lsm_label_via_trampoline(const char *value)
{
	return value && strncmp(value, "exec ", 5) != 0;
}

/* linux.mountLabel for a filesystem mount of @type: appends context="@label" to the mount data
 * @data (of @size bytes) as runc does, for every type but proc, sysfs, cgroup, cgroup2 and mqueue
 * (mqueue's superblock is shared within its IPC namespace: lsm_label_mount_root labels its root).
 * A no-op without a label. */
int lsm_mount_data(const char *type, const char *label, char *data, size_t size, struct berth_error *err);

/* Set the SELinux label of the mount root @fd (any descriptor, O_PATH too) to @label. */
int lsm_label_mount_root(int fd, const char *label, struct berth_error *err);
