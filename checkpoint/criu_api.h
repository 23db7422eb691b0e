/* The part of libcriu's API (libcriu.so.2, Debian's criu package) that berth calls.
 *
 * Why not <criu/criu.h>: it includes rpc.pb-c.h, which needs <protobuf-c/protobuf-c.h> from
 * libprotobuf-c-dev, a package the build machines do not have (ENVIRONMENT.md). Every function
 * used here takes only plain C types, so declaring them is enough; the signatures and the enum
 * values are those of criu.h in CRIU 3.17 (its ABI has been stable since libcriu.so.2).
 * Private to the checkpoint module: only checkpoint/checkpoint.c includes this. */
#pragma once

#include <stdbool.h>

enum criu_cg_mode {
	CRIU_CG_MODE_IGNORE,
	CRIU_CG_MODE_NONE,
	CRIU_CG_MODE_PROPS,
	CRIU_CG_MODE_SOFT,
	CRIU_CG_MODE_FULL,
	CRIU_CG_MODE_STRICT,
	CRIU_CG_MODE_DEFAULT,
};

int criu_init_opts(void);
int criu_set_service_binary(const char *path);
void criu_set_pid(int pid);
void criu_set_images_dir_fd(int fd);
int criu_set_parent_images(const char *path);
void criu_set_work_dir_fd(int fd);
void criu_set_leave_running(bool leave_running);
void criu_set_ext_unix_sk(bool ext_unix_sk);
void criu_set_tcp_established(bool tcp_established);
void criu_set_shell_job(bool shell_job);
void criu_set_orphan_pts_master(bool orphan_pts_master);
void criu_set_file_locks(bool file_locks);
void criu_set_track_mem(bool track_mem);
/* criu.h's criu_notify_arg_t is a pointer to a protobuf-c struct: opaque here. */
void criu_set_notify_cb(int (*cb)(char *action, void *na));
int criu_get_orphan_pts_master_fd(void);
void criu_set_log_level(int log_level);
int criu_set_log_file(const char *log_file);
int criu_set_root(const char *root);
void criu_set_manage_cgroups(bool manage);
void criu_set_manage_cgroups_mode(enum criu_cg_mode mode);
int criu_set_freeze_cgroup(const char *name);
int criu_add_ext_mount(const char *key, const char *val);
int criu_add_inherit_fd(int fd, const char *key);
int criu_add_external(const char *key);
int criu_check(void);
int criu_dump(void);
int criu_pre_dump(void);
int criu_restore_child(void);
