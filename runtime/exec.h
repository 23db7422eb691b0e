/* runtime-internal: the state of one `exec` while it runs, and signal forwarding shared with run. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "berth/cgroups.h"
#include "berth/oci.h"
#include "lifecycle.h"
#include "seccomp.h"

struct berth_error;
struct berth_exec_opts;

struct exec_plan {
	struct container c;
	struct oci_config *config;         /* the container's saved config */
	struct oci_process proc;           /* the process to run: a shallow view, see below */
	struct oci_process *owned_process; /* parsed --process file, when given */
	char **env, **caps_bounding, **caps_effective, **caps_permitted; /* arrays proc points into */
	int pidfd;                                                       /* the container init */
	unsigned long parent_ns, child_ns; /* CLONE_NEW* joined by the parent (pid, time) / the child */
	bool userns;
	struct cgroup cg;
	bool cg_resolved;
	int cg_root_fd, cg_fd;
	struct cgroup_movers movers; /* v1 "tasks" files the child writes itself into */
	struct seccomp_plan seccomp; /* the container's filter, compiled (or cached) before the clone */
	char *state_json;            /* for a seccomp listener */
	size_t state_len;
	int console_fd;
	int pty_sock; /* -t without --console-socket: the child sends its pty master here */

	int sync_fd;
	pid_t pid;
	int init_root_fd; /* no mount namespace of its own: the init's root, chrooted into */
	bool paused;      /* --ignore-paused into a paused container: the lock is dropped before the clone */
};

void exec_plan_free(struct exec_plan *x);

/* exec_spawn.c: clone the process into the container and wait until it has exec'd (or failed). */
int exec_spawn(struct exec_plan *x, const struct berth_exec_opts *o, struct berth_error *err);

/* forward.c: the signals a foreground run/exec forwards to its process, plus SIGCHLD. */
void exec_signal_set(sigset_t *set);
/* Forward signals to @pid until it exits; its exit code, or 128+N when killed by signal N. */
int exec_wait_forwarding(pid_t pid, const sigset_t *set);
