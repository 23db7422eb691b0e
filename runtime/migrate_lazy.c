/* Post-copy migration: see migrate_lazy.h. The sequence on the source:
 *   LAZY (the target checks userfaultfd and CRIU, and listens for the page channel) ->
 *   the page channel (a second ssh session + a relay here) -> freeze ->
 *   lazy dump (CRIU writes every image but the memory, berth writes the archive, then CRIU's
 *   page server waits on the page channel) -> the images and the archive sent ->
 *   LAZY-RESTORE (the target starts `criu lazy-pages` on the page channel, restores with lazy
 *   pages, answers RUNNING: the downtime ends here) -> COMMIT -> the last page served (the dump
 *   returns) -> the caller removes the container here.
 * Before COMMIT any failure thaws the container here: the lazy dump runs with --leave-running
 * from the frozen cgroup, as the pre-copy's final dump does. After COMMIT the target runs the
 * process, and its memory that was not yet fetched exists only here: a broken channel then
 * leaves the process there without memory it needs, so the target stops it, and the container
 * stays frozen here (`berth resume` runs it again from the moment of the freeze). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "migrate_lazy.h"
#include "migrate_proto.h"
#include "relay.h"

#define PAGES_SOCK "pages.sock"
#define ACCEPT_TIMEOUT_MS 60000
#define DAEMON_READY_TIMEOUT_MS 60000

static void lazy_progress(const struct berth_migrate_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void lazy_progress(const struct berth_migrate_opts *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (!o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->progress(o->progress_data, line);
}

static void reap(pid_t *pid, int *ret_status)
{
	int ws = 0;
	if (*pid <= 0)
		return;
	while (waitpid(*pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (ret_status)
		*ret_status = ws;
	*pid = 0;
}

/* ---- the source ---- */

struct lazy_src_run {
	const struct mig_lazy_src *s;
	pid_t ssh_pid, relay_pid, dump_pid;
	int ready_fd; /* the dump child's reports: 'R', then 'D'; or 'E' + struct berth_error */
	int count_fd; /* the relay's byte counts at its end (to the target, from it) */
};

/* `ssh [-o OPT]... [-p PORT] HOST -- REMOTE-BERTH migrate-pages ID` with its stdin/stdout on
 * pipes, and a relay child between them and @sock, the other end of @crius (CRIU's). The
 * destination was checked by migrate.c. */
static int spawn_page_channel(struct lazy_src_run *run, int sock, int crius, struct berth_error *err)
{
	const struct berth_migrate_opts *o = run->s->o;
	char args[512];
	int to[2] = {-EBADF, -EBADF}, from[2] = {-EBADF, -EBADF}; /* [1] and [0]: our ends */
	snprintf(args, sizeof(args), "migrate-pages %s", o->id);
	int r = mig_ssh_spawn(o, args, &run->ssh_pid, &to[1], &from[0], err);
	if (r < 0)
		return r;
	int cnt[2] = {-EBADF, -EBADF};
	if (pipe2(cnt, O_CLOEXEC) < 0)
		r = errno;
	if (r == 0) {
		run->relay_pid = fork();
		if (run->relay_pid == 0) {
			/* the main channel is the parent's: its end must not wait for this child */
			close(run->s->ch->in);
			close(run->s->ch->out);
			close(crius); /* CRIU's end: the relay sees its end only when CRIU's is closed */
			unsigned long long moved[2] = {0, 0};
			int rr = relay_run(sock, from[0], to[1], &moved[1], &moved[0]);
			(void)write_all(cnt[1], moved, sizeof(moved));
			_exit(rr == 0 ? 0 : 1);
		}
		if (run->relay_pid < 0)
			r = errno;
	}
	close(to[1]);
	close(from[0]);
	closep(&cnt[1]);
	run->count_fd = cnt[0];
	if (r != 0)
		return berth_error_set(err, -r, "migrate --lazy: the page channel (ssh): %s", strerror(r));
	return 0;
}

/* The dump child: CRIU's lazy-pages mode and page-server socket come from a CRIU configuration
 * file (libcriu 3.17 has no call for either; its service reads CRIU_CONFIG_FILE). */
static void dump_child(const struct mig_lazy_src *s, int ps_fd, int ready)
{
	char conf[PATH_MAX + 32], text[64], images[PATH_MAX + 16], work[PATH_MAX + 16],
	    archive[PATH_MAX + 16];
	struct berth_error e = {0};
	snprintf(conf, sizeof(conf), "%s/criu-lazy-dump.conf", s->dir);
	snprintf(text, sizeof(text), "lazy-pages\nps-socket %d\n", ps_fd);
	snprintf(images, sizeof(images), "%s/final", s->dir);
	snprintf(work, sizeof(work), "%s/work", s->dir);
	snprintf(archive, sizeof(archive), "%s/final.tar", s->dir);
	int r = write_file_at(AT_FDCWD, conf, text, strlen(text), true, 0600);
	int fl = fcntl(ps_fd, F_GETFD);
	if (r == 0 && (fl < 0 || fcntl(ps_fd, F_SETFD, fl & ~FD_CLOEXEC) < 0))
		r = -errno;
	if (r < 0)
		berth_error_setf_errno(&e, r, "migrate --lazy: prepare CRIU's settings");
	else if (setenv("CRIU_CONFIG_FILE", conf, 1) < 0)
		r = berth_error_setf_errno(&e, -errno, "migrate --lazy: setenv");
	struct berth_checkpoint_opts x = {
	    .id = s->o->id,
	    .image_path = images,
	    .work_path = work,
	    .export_path = archive,
	    .export_rootfs = !s->image_based,
	    .leave_running = true, /* frozen, not killed: a failure before COMMIT thaws it */
	    .status_fd = -1,
	    .no_kernel_check = true, /* the receiver checked its side; this side below */
	    .lazy = true,
	    .lazy_ready_fd = ready,
	};
	if (r == 0)
		r = berth_container_checkpoint(s->ctx, &x, &e);
	char tag = r == 0 ? 'D' : 'E';
	(void)write_all(ready, &tag, 1);
	if (r < 0)
		(void)write_all(ready, &e, sizeof(e));
	_exit(r == 0 ? 0 : 1);
}

/* Wait for the dump child's next report: 0 for @want, else the error it sent. */
static int dump_report(struct lazy_src_run *run, char want, struct berth_error *err)
{
	char tag = 0;
	ssize_t n;
	while ((n = read(run->ready_fd, &tag, 1)) < 0 && errno == EINTR)
		;
	if (n == 1 && tag == want)
		return 0;
	if (n == 1 && tag == 'E') {
		struct berth_error e = {0};
		if (read(run->ready_fd, &e, sizeof(e)) == (ssize_t)sizeof(e) && e.code < 0) {
			*err = e;
			return e.code;
		}
	}
	return berth_error_set(err, -EIO,
			       "migrate --lazy: the dump ended without a report (see CRIU's "
			       "log under the migration's work directory)");
}

static int start_dump(struct lazy_src_run *run, int sp[2], struct berth_error *err)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return berth_error_setf_errno(err, -errno, "migrate --lazy: pipe");
	run->dump_pid = fork();
	if (run->dump_pid == 0) {
		close(run->s->ch->in);
		close(run->s->ch->out);
		close(ready[0]);
		close(sp[1]);
		dump_child(run->s, sp[0], ready[1]);
	}
	close(ready[1]);
	if (run->dump_pid < 0) {
		close(ready[0]);
		run->dump_pid = 0;
		return berth_error_setf_errno(err, -errno, "migrate --lazy: fork");
	}
	run->ready_fd = ready[0];
	return 0;
}

/* Everything but the memory to the target, and the restore there. */
static int send_and_restore(struct lazy_src_run *run, struct berth_error *err)
{
	const struct mig_lazy_src *s = run->s;
	char images[PATH_MAX + 16], archive[PATH_MAX + 16], line[MIG_LINE_MAX];
	uint64_t bytes = 0, pages = 0, before = s->ch->sent, t = mig_now_ms();
	snprintf(images, sizeof(images), "%s/final", s->dir);
	snprintf(archive, sizeof(archive), "%s/final.tar", s->dir);
	int r = mig_send_dir(s->ch, images, "lazy", &bytes, &pages, err);
	/* the target starts its lazy-pages daemon (seconds under TCG) while the archive travels */
	if (r == 0 && mig_send(s->ch, "LAZY-DAEMON") < 0)
		r = berth_error_set(err, -EPIPE, "migrate --lazy: the target closed the channel");
	if (r == 0)
		r = mig_send_file(s->ch, archive, "final.tar", err);
	if (r == 0 && mig_send(s->ch, "SYNC") < 0)
		r = berth_error_set(err, -EPIPE, "migrate --lazy: the target closed the channel");
	if (r == 0)
		r = mig_expect_ok(s->ch, NULL, 0, err);
	if (r < 0)
		return berth_error_prefix(err, "migrate --lazy: transfer");
	lazy_progress(s->o,
		      "lazy dump: %llu pages in the images (the rest stays here until asked), "
		      "%llu bytes sent in %llu ms",
		      (unsigned long long)pages, (unsigned long long)(s->ch->sent - before),
		      (unsigned long long)(mig_now_ms() - t));
	t = mig_now_ms();
	r = mig_send(s->ch, "LAZY-RESTORE final.tar");
	if (r == 0)
		r = mig_recv(s->ch, line, sizeof(line));
	if (r < 0)
		return berth_error_setf_errno(err, r,
					      "migrate --lazy: restore on the target: the channel broke");
	if (strncmp(line, "ERR ", 4) == 0)
		return berth_error_set(err, -EIO, "migrate --lazy: restore on the target: %s", line + 4);
	if (strncmp(line, "RUNNING ", 8) != 0)
		return berth_error_set(err, -EPROTO, "migrate --lazy: unexpected answer '%.80s'", line);
	*s->t_ack = mig_now_ms();
	lazy_progress(s->o, "restored on the target with lazy pages in %llu ms",
		      (unsigned long long)(*s->t_ack - t));
	return 0;
}

/* COMMIT, then serve the pages until CRIU's page server here ends, then the target's word that
 * its lazy-pages daemon got every page (the page server also ends when the page channel breaks:
 * only the target knows whether the memory is whole). */
static int commit_and_serve(struct lazy_src_run *run, struct berth_error *err)
{
	const struct mig_lazy_src *s = run->s;
	/* From COMMIT on the target may own the process: never thaw it here again. */
	*s->commit_sent = true;
	int r = mig_send(s->ch, "COMMIT");
	if (r < 0)
		return berth_error_setf_errno(err, r, "migrate --lazy: commit");
	r = mig_expect_ok(s->ch, NULL, 0, err);
	if (r < 0)
		return berth_error_prefix(err, "migrate --lazy: commit");
	*s->paused = false;
	uint64_t t = mig_now_ms();
	r = dump_report(run, 'D', err);
	if (r == 0)
		r = mig_expect_ok(s->ch, NULL, 0, err);
	if (r < 0) {
		*s->left_frozen = true;
		/* -EIO: the target said it stopped its copy; else it could not say */
		return berth_error_prefix(
		    err,
		    "post-copy: the process resumed on the target, but %s; \"%s\" is left frozen "
		    "here: `berth resume %s` runs it again from the moment of the freeze",
		    r == -EIO ? "not all of its memory got there and the target stopped its copy"
			      : "the target could not confirm that all of its memory got there (check "
				"whether it runs there before resuming it here)",
		    s->o->id, s->o->id);
	}
	lazy_progress(s->o, "post-copy: every page served %llu ms after the resume",
		      (unsigned long long)(mig_now_ms() - t));
	return 0;
}

int mig_lazy_source(const struct mig_lazy_src *s, struct berth_error *err)
{
	struct lazy_src_run run = {.s = s, .ready_fd = -EBADF, .count_fd = -EBADF};
	int sp[2] = {-EBADF, -EBADF};
	int r = mig_send(s->ch, "LAZY");
	if (r < 0)
		return berth_error_setf_errno(err, r, "migrate --lazy: the target closed the channel");
	r = mig_expect_ok(s->ch, NULL, 0, err);
	if (r == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		r = berth_error_setf_errno(err, -errno, "migrate --lazy: socketpair");
	if (r == 0)
		r = spawn_page_channel(&run, sp[1], sp[0], err);
	if (r == 0) {
		*s->t_freeze = mig_now_ms();
		r = berth_container_pause(s->ctx, s->o->id, err);
		if (r < 0)
			berth_error_prefix(err, "migrate --lazy: freeze");
		else
			*s->paused = true;
	}
	if (r == 0)
		r = start_dump(&run, sp, err);
	closep(&sp[0]);
	closep(&sp[1]);
	if (r == 0) {
		r = dump_report(&run, 'R', err);
		if (r == 0)
			lazy_progress(s->o, "lazy dump: %llu ms (frozen since its start)",
				      (unsigned long long)(mig_now_ms() - *s->t_freeze));
	}
	if (r == 0)
		r = send_and_restore(&run, err);
	if (r == 0)
		r = commit_and_serve(&run, err);
	/* A failure: the page channel's end stops CRIU's page server (its socket reads the end). */
	if (r < 0 && run.ssh_pid > 0)
		kill(run.ssh_pid, SIGTERM);
	if (r < 0 && run.relay_pid > 0)
		kill(run.relay_pid, SIGTERM);
	reap(&run.dump_pid, NULL);
	reap(&run.relay_pid, NULL);
	reap(&run.ssh_pid, NULL);
	closep(&run.ready_fd);
	unsigned long long n[2];
	if (r == 0 && run.count_fd >= 0 && read(run.count_fd, n, sizeof(n)) == (ssize_t)sizeof(n)) {
		/* the closing line's "bytes sent" counts both sessions */
		s->ch->sent += n[0];
		lazy_progress(s->o, "page channel: %llu bytes sent, %llu received", n[0], n[1]);
	}
	closep(&run.count_fd);
	return r;
}

/* ---- the target ---- */

struct mig_lazy_recv {
	char dir[PATH_MAX];
	const char *criu_path;
	int listen_fd, ps_fd, status_fd;
	pid_t daemon;
};

/* userfaultfd(2) as this process may use it; the check CRIU's restore would otherwise fail late. */
static int check_userfaultfd(struct berth_error *err)
{
#ifdef SYS_userfaultfd
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		close((int)fd);
		return 0;
	}
	if (errno == ENOSYS)
		return berth_error_set(err, -ENOTSUP,
				       "--lazy: the target's kernel has no userfaultfd (CONFIG_USERFAULTFD): "
				       "post-copy is not possible there; migrate without --lazy");
	return berth_error_setf_errno(err, -errno,
				      "--lazy: userfaultfd(2) is refused on the target (see "
				      "/proc/sys/vm/unprivileged_userfaultfd; the receiver runs as root?)");
#else
	return berth_error_set(err, -ENOTSUP, "--lazy: built without userfaultfd support");
#endif
}

/* `criu check --feature uffd-noncoop`: CRIU's lazy pages for a tree of processes. */
static int check_criu_lazy(const char *criu_path, const char *dir, struct berth_error *err)
{
	char log[PATH_MAX + 32];
	snprintf(log, sizeof(log), "%s/check-lazy.log", dir);
	char *argv[] = {(char *)(criu_path ? criu_path : "criu"), "check", "--feature", "uffd-noncoop", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid = 0;
	int ws = -1;
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0)
		reap(&pid, &ws);
	posix_spawn_file_actions_destroy(&fa);
	if (ws != -1 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return 0;
	return berth_error_set(err, -ENOTSUP,
			       "--lazy: CRIU on the target cannot do lazy pages here (`criu check "
			       "--feature uffd-noncoop` failed; its output: %s)",
			       log);
}

int mig_lazy_recv_prepare(struct mig_lazy_recv **ret, const char *dir, const char *criu_path,
			  struct berth_error *err)
{
	int r = check_userfaultfd(err);
	if (r == 0)
		r = check_criu_lazy(criu_path, dir, err);
	if (r < 0)
		return r;
	struct mig_lazy_recv *l = calloc(1, sizeof(*l));
	if (!l)
		return berth_error_set(err, -ENOMEM, "--lazy: out of memory");
	*l = (struct mig_lazy_recv){
	    .criu_path = criu_path, .listen_fd = -EBADF, .ps_fd = -EBADF, .status_fd = -EBADF};
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" PAGES_SOCK, dir) >= (int)sizeof(sa.sun_path))
		r = berth_error_set(err, -ENAMETOOLONG, "--lazy: '%s': path too long", dir);
	/* In the migration's directory (0700, root's): only root reaches it; nothing listens on a
	 * network. */
	l->listen_fd = r < 0 ? -EBADF : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r == 0 && (l->listen_fd < 0 || bind(l->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		       listen(l->listen_fd, 1) < 0))
		r = berth_error_setf_errno(err, -errno, "--lazy: listen on '%s'", sa.sun_path);
	if (r < 0) {
		mig_lazy_recv_free(&l);
		return r;
	}
	*ret = l;
	return 0;
}

static int accept_page_channel(struct mig_lazy_recv *l, struct berth_error *err)
{
	struct pollfd p = {l->listen_fd, POLLIN, 0};
	int n;
	while ((n = poll(&p, 1, ACCEPT_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (n == 0)
		return berth_error_set(err, -ETIMEDOUT,
				       "--lazy: the page channel (the source's second ssh session) did "
				       "not come within %d s",
				       ACCEPT_TIMEOUT_MS / 1000);
	/* no O_CLOEXEC: CRIU's lazy-pages daemon inherits it */
	l->ps_fd = n < 0 ? -1 : accept4(l->listen_fd, NULL, NULL, 0);
	if (l->ps_fd < 0)
		return berth_error_setf_errno(err, -errno, "--lazy: accept the page channel");
	closep(&l->listen_fd);
	return 0;
}

/* `criu lazy-pages` on the page channel, its images the ones sent as lazy/; ready once it
 * writes its status byte (it then listens for the restore on work/lazy-pages.socket). */
static int start_daemon(struct mig_lazy_recv *l, struct berth_error *err)
{
	char images[PATH_MAX + 16], work[PATH_MAX + 16], psfd[16], stfd[16];
	int st[2];
	snprintf(images, sizeof(images), "%s/lazy", l->dir);
	snprintf(work, sizeof(work), "%s/work", l->dir);
	if (pipe(st) < 0)
		return berth_error_setf_errno(err, -errno, "--lazy: pipe");
	(void)fcntl(st[0], F_SETFD, FD_CLOEXEC);
	snprintf(psfd, sizeof(psfd), "%d", l->ps_fd);
	snprintf(stfd, sizeof(stfd), "%d", st[1]);
	char *argv[] = {(char *)(l->criu_path ? l->criu_path : "criu"),
			"lazy-pages",
			"-D",
			images,
			"-W",
			work,
			"--page-server",
			"--ps-socket",
			psfd,
			"--status-fd",
			stfd,
			"-v4",
			"-o",
			"lazy-pages.log",
			NULL};
	/* The daemon dies with this receiver: a receiver killed before the restore (its guardian
	 * rolls back) must not leave it waiting for a restore that never comes. */
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	int r = pid < 0 ? errno : 0;
	close(st[1]);
	closep(&l->ps_fd);
	if (r != 0) {
		close(st[0]);
		l->daemon = 0;
		return berth_error_set(err, -r, "--lazy: run criu lazy-pages: %s", strerror(r));
	}
	l->daemon = pid;
	l->status_fd = st[0];
	return 0;
}

/* The daemon's status byte: it listens for the restore from then on. */
static int wait_daemon(struct mig_lazy_recv *l, struct berth_error *err)
{
	struct pollfd p = {l->status_fd, POLLIN, 0};
	char c;
	int n = poll(&p, 1, DAEMON_READY_TIMEOUT_MS);
	n = n > 0 ? (int)read(l->status_fd, &c, 1) : -1;
	closep(&l->status_fd);
	if (n != 1)
		return berth_error_set(
		    err, -EIO, "--lazy: criu lazy-pages did not start (log: %s/work/lazy-pages.log)", l->dir);
	return 0;
}

int mig_lazy_recv_daemon(struct mig_lazy_recv *l, struct berth_error *err)
{
	if (l->daemon > 0)
		return berth_error_set(err, -EPROTO, "--lazy: the lazy-pages daemon runs already");
	int r = accept_page_channel(l, err);
	return r < 0 ? r : start_daemon(l, err);
}

int mig_lazy_recv_start(struct mig_lazy_recv *l, struct berth_error *err)
{
	char conf[PATH_MAX + 32];
	static const char text[] = "lazy-pages\n";
	int r = l->daemon > 0 ? 0 : mig_lazy_recv_daemon(l, err);
	if (r == 0)
		r = wait_daemon(l, err);
	snprintf(conf, sizeof(conf), "%s/criu-lazy-restore.conf", l->dir);
	if (r == 0 && (r = write_file_at(AT_FDCWD, conf, text, strlen(text), true, 0600)) < 0)
		berth_error_setf_errno(err, r, "--lazy: write '%s'", conf);
	if (r == 0 && setenv("CRIU_CONFIG_FILE", conf, 1) < 0)
		r = berth_error_setf_errno(err, -errno, "--lazy: setenv");
	return r;
}

void mig_lazy_recv_restored(struct mig_lazy_recv *l)
{
	(void)l;
	unsetenv("CRIU_CONFIG_FILE");
}

/* The error lines at the end of the lazy-pages daemon's log (the log itself goes with the
 * migration's directory when the receiver rolls back). */
static void daemon_errors(const struct mig_lazy_recv *l, char *buf, size_t size)
{
	char path[PATH_MAX + 32], log[16384];
	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/work/lazy-pages.log", l->dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	if (end <= 0)
		return;
	off_t from = end > (off_t)sizeof(log) ? end - (off_t)sizeof(log) : 0;
	ssize_t n = pread(fd, log, sizeof(log), from);
	if (n > 0)
		checkpoint_log_errors(log, (size_t)n, buf, size);
}

int mig_lazy_recv_wait(struct mig_lazy_recv *l, struct berth_error *err)
{
	int ws = -1;
	if (!l || l->daemon <= 0)
		return 0;
	reap(&l->daemon, &ws);
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return 0;
	char why[320];
	daemon_errors(l, why, sizeof(why));
	return berth_error_set(err, -EIO, "--lazy: criu lazy-pages failed before every page was here%s%s",
			       why[0] ? ": " : "", why);
}

void mig_lazy_recv_free(struct mig_lazy_recv **lp)
{
	struct mig_lazy_recv *l = *lp;
	if (!l)
		return;
	if (l->daemon > 0) {
		kill(l->daemon, SIGKILL);
		reap(&l->daemon, NULL);
	}
	closep(&l->listen_fd);
	closep(&l->ps_fd);
	closep(&l->status_fd);
	unsetenv("CRIU_CONFIG_FILE");
	free(l);
	*lp = NULL;
}

/* ---- `berth migrate-pages ID`: the target's end of the page channel ---- */

int berth_migrate_pages(const char *id, int in, int out, struct berth_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int r = container_id_validate(id, err);
	if (r < 0)
		return r;
	snprintf(sa.sun_path, sizeof(sa.sun_path), MIG_DIR_BASE "/%s/" PAGES_SOCK, id);
	_cleanup_close_ int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return berth_error_setf_errno(err, -errno, "migrate-pages: socket");
	/* The receiver listens from LAZY on; this session may start a moment before that. */
	for (int i = 0;; i++) {
		if (connect(sk, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (i >= 300 || (errno != ENOENT && errno != ECONNREFUSED))
			return berth_error_setf_errno(err, -errno, "migrate-pages: connect to '%s'",
						      sa.sun_path);
		usleep(100 * 1000);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	r = relay_run(sk, in, out, NULL, NULL);
	if (r < 0)
		return berth_error_setf_errno(err, r, "migrate-pages: relay");
	return 0;
}
