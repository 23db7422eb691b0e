/* The libcriu side of the checkpoint module: the only file that calls libcriu (criu_api.h).
 * libcriu keeps its options in a process-global; every call here starts from criu_init_opts(). */
#include "criu_api.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"

#define LOG_TAIL_MAX (256u << 10)
#define CHECK_LOG "check.log"

static enum criu_cg_mode cg_mode_to_criu(int mode)
{
	switch (mode) {
	case CKPT_CG_SOFT:
		return CRIU_CG_MODE_SOFT;
	case CKPT_CG_FULL:
		return CRIU_CG_MODE_FULL;
	case CKPT_CG_STRICT:
		return CRIU_CG_MODE_STRICT;
	case CKPT_CG_IGNORE:
		return CRIU_CG_MODE_IGNORE;
	default:
		return CRIU_CG_MODE_DEFAULT;
	}
}

/* Explain a failed CRIU run: its last error lines and where the whole log is. */
static int criu_failure(const char *what, int ret, const char *work_dir, const char *log_name,
			struct berth_error *err)
{
	_cleanup_free_ char *log = NULL;
	char tail[320] = "";
	size_t len = 0;
	_cleanup_close_ int dfd = open(work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0 && read_file_at(dfd, log_name, LOG_TAIL_MAX, &log, &len) == -EFBIG) {
		/* A long log: its end is what matters. */
		_cleanup_close_ int fd = openat(dfd, log_name, O_RDONLY | O_CLOEXEC);
		off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
		log = malloc(LOG_TAIL_MAX);
		if (log && size > 0) {
			ssize_t n = pread(fd, log, LOG_TAIL_MAX, size - (off_t)LOG_TAIL_MAX);
			len = n > 0 ? (size_t)n : 0;
		}
	}
	if (log && len)
		checkpoint_log_errors(log, len, tail, sizeof(tail));
	int code = ret < 0 ? ret : -EIO;
	if (!tail[0])
		return berth_error_set(err, code, "criu %s failed (%s)%s%s; log: %s/%s", what,
				       strerror(-code), tail[0] ? ": " : "", tail, work_dir, log_name);
	return berth_error_set(err, code, "criu %s failed: %s; log: %s/%s", what, tail, work_dir, log_name);
}

/* The dump's post-dump hook: libcriu's callback has no data pointer, and libcriu's options are
 * process-global anyway. */
static int (*post_dump_hook)(void *data);
static void *post_dump_hook_data;

/* Notifications need an answer, not an action: libcriu itself keeps the orphan pty master. Only
 * "post-dump" may call the dump's hook. */
static int notify_ok(char *action, void *na)
{
	(void)na;
	if (post_dump_hook && action && strcmp(action, "post-dump") == 0)
		return post_dump_hook(post_dump_hook_data);
	return 0;
}

static int apply(const struct ckpt_opts *o, const struct ckpt_settings *s, int images_fd, int work_fd,
		 struct berth_error *err)
{
	int r = criu_init_opts();
	if (r < 0)
		return berth_error_setf_errno(err, r, "criu: initialise libcriu");
	if (o->criu_path && (r = criu_set_service_binary(o->criu_path)) < 0)
		return berth_error_setf_errno(err, r, "criu: binary '%s'", o->criu_path);
	criu_set_images_dir_fd(images_fd);
	criu_set_work_dir_fd(work_fd);
	criu_set_log_level(s->log_level);
	if ((r = criu_set_log_file(s->log_file)) < 0)
		return berth_error_setf_errno(err, r, "criu: log file");
	if (o->pid > 0)
		criu_set_pid(o->pid);
	criu_set_leave_running(s->leave_running);
	criu_set_tcp_established(s->tcp_established);
	criu_set_ext_unix_sk(s->ext_unix_sk);
	criu_set_shell_job(s->shell_job);
	criu_set_file_locks(s->file_locks);
	criu_set_track_mem(s->track_mem);
	post_dump_hook = o->action == CKPT_DUMP ? o->post_dump : NULL;
	post_dump_hook_data = o->post_dump_data;
	if (s->notify_scripts || post_dump_hook)
		criu_set_notify_cb(notify_ok);
	criu_set_orphan_pts_master(s->orphan_pts_master);
	criu_set_manage_cgroups(s->manage_cgroups);
	criu_set_manage_cgroups_mode(cg_mode_to_criu(s->cg_mode));
	if (s->root && (r = criu_set_root(s->root)) < 0)
		return berth_error_setf_errno(err, r, "criu: root '%s'", s->root);
	if (s->parent_images && (r = criu_set_parent_images(s->parent_images)) < 0)
		return berth_error_setf_errno(err, r, "criu: --parent-path '%s'", s->parent_images);
	if (s->freeze_cgroup && (r = criu_set_freeze_cgroup(s->freeze_cgroup)) < 0)
		return berth_error_setf_errno(err, r, "criu: freeze cgroup '%s'", s->freeze_cgroup);
	for (size_t i = 0; i < o->n_ext_mounts; i++)
		if ((r = criu_add_ext_mount(o->ext_mounts[i].key, o->ext_mounts[i].val)) < 0)
			return berth_error_setf_errno(err, r, "criu: external mount '%s'",
						      o->ext_mounts[i].key);
	for (size_t i = 0; i < o->n_externals; i++)
		if ((r = criu_add_external(o->externals[i])) < 0)
			return berth_error_setf_errno(err, r, "criu: external '%s'", o->externals[i]);
	for (size_t i = 0; i < o->n_inherit_fds; i++)
		if ((r = criu_add_inherit_fd(o->inherit_fds[i].fd, o->inherit_fds[i].key)) < 0)
			return berth_error_setf_errno(err, r, "criu: inherited fd '%s'",
						      o->inherit_fds[i].key);
	return 0;
}

/* The RPC check of libcriu checks more than `criu check` does (a veth pair even for a container
 * without a network namespace). Its verdict is then confirmed with `criu check` itself, whose
 * output lands in check.log: returns that command's exit status (-1: could not be run). */
static int run_criu_check(const char *criu_path, const char *work_dir)
{
	char log[PATH_MAX];
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)(criu_path ? criu_path : "criu"), "check", NULL};
	pid_t pid;
	int ws = -1;

	if (snprintf(log, sizeof(log), "%s/" CHECK_LOG, work_dir) >= (int)sizeof(log) ||
	    posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0)
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	posix_spawn_file_actions_destroy(&fa);
	return ws == -1 ? -1 : WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
}

int checkpoint_check_kernel(const char *criu_path, const char *work_dir, struct berth_error *err)
{
	int r = mkdir_p_at(AT_FDCWD, work_dir, 0700);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--work-path: create '%s'", work_dir);
	_cleanup_close_ int wfd = open(work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0)
		return berth_error_setf_errno(err, -errno, "--work-path '%s'", work_dir);
	r = criu_init_opts();
	if (r == 0 && criu_path)
		r = criu_set_service_binary(criu_path);
	if (r < 0)
		return berth_error_setf_errno(err, r, "criu: initialise libcriu");
	/* CRIU's service wants an images directory for every request, a check too. */
	criu_set_images_dir_fd(wfd);
	criu_set_work_dir_fd(wfd);
	criu_set_log_level(4);
	(void)criu_set_log_file(CHECK_LOG);
	r = criu_check();
	if (r == -EBADE) {
		if (run_criu_check(criu_path, work_dir) == 0)
			return 0;
		return criu_failure("check (this kernel lacks what CRIU needs)", r, work_dir, CHECK_LOG, err);
	}
	if (r < 0)
		return berth_error_set(
		    err, r,
		    "cannot run criu ('%s'): %s; is the criu package installed (or give --criu PATH)?",
		    criu_path ? criu_path : "criu", strerror(-r));
	return 0;
}

/* Open (and for a dump, create) the images and work directories. */
static int open_dirs(const struct ckpt_opts *o, int *ret_images, int *ret_work, struct berth_error *err)
{
	bool dump = o->action != CKPT_RESTORE;
	int r = dump ? mkdir_p_at(AT_FDCWD, o->images_dir, 0700) : 0;
	if (r < 0)
		return berth_error_setf_errno(err, r, "--image-path: create '%s'", o->images_dir);
	_cleanup_close_ int images = open(o->images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (images < 0)
		return berth_error_setf_errno(err, -errno, "--image-path '%s'", o->images_dir);
	if (!dump && faccessat(images, "inventory.img", F_OK, 0) < 0)
		return berth_error_set(
		    err, -ENOENT,
		    "--image-path '%s' holds no checkpoint (no inventory.img): nothing to restore",
		    o->images_dir);
	if (o->parent_path) {
		_cleanup_close_ int parent =
		    openat(images, o->parent_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0)
			return berth_error_setf_errno(err, -errno, "--parent-path '%s' (relative to '%s')",
						      o->parent_path, o->images_dir);
	}
	const char *work = o->work_dir ? o->work_dir : o->images_dir;
	r = mkdir_p_at(AT_FDCWD, work, 0700);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--work-path: create '%s'", work);
	int wfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0)
		return berth_error_setf_errno(err, -errno, "--work-path '%s'", work);
	*ret_images = TAKE_FD(images);
	*ret_work = wfd;
	return 0;
}

int checkpoint_dump(const struct ckpt_opts *o, struct berth_error *err)
{
	struct ckpt_settings s;
	_cleanup_close_ int images = -EBADF, work = -EBADF;
	int r = checkpoint_settings(o, &s, err);
	if (r == 0)
		r = open_dirs(o, &images, &work, err);
	if (r == 0)
		r = apply(o, &s, images, work, err);
	if (r < 0)
		return r;
	r = o->action == CKPT_PRE_DUMP ? criu_pre_dump() : criu_dump();
	if (r < 0)
		return criu_failure(o->action == CKPT_PRE_DUMP ? "pre-dump" : "dump", r,
				    o->work_dir ? o->work_dir : o->images_dir, s.log_file, err);
	return 0;
}

int checkpoint_restore(const struct ckpt_opts *o, pid_t *ret_pid, struct berth_error *err)
{
	struct ckpt_settings s;
	_cleanup_close_ int images = -EBADF, work = -EBADF;
	int r = checkpoint_settings(o, &s, err);
	if (r == 0)
		r = open_dirs(o, &images, &work, err);
	if (r == 0)
		r = apply(o, &s, images, work, err);
	if (r < 0)
		return r;
	r = criu_restore_child();
	if (r <= 0)
		return criu_failure("restore", r, o->work_dir ? o->work_dir : o->images_dir, s.log_file, err);
	*ret_pid = r;
	if (!s.orphan_pts_master)
		return 0;
	/* The restored terminal's new master: to --console-socket, as at create. */
	_cleanup_close_ int master = criu_get_orphan_pts_master_fd();
	if (master < 0)
		return berth_error_set(err, -EIO,
				       "criu restore: CRIU sent no master for the container's terminal");
	if (o->has_console && (r = unix_send_fd(o->console_fd, master, "", 1)) < 0)
		return berth_error_setf_errno(err, r, "send the pty master to --console-socket");
	return 0;
}
