/* berth migrate-receive: the target's side of `berth migrate`, run by the source over ssh with
 * the channel on its stdin/stdout. It keeps the rounds' images under the same MIG_DIR_BASE/<id>
 * as the source, imports the image when asked, restores the final archive, and answers RUNNING
 * once the restored process runs. Until COMMIT, the end of the stream (the source, ssh or the
 * link gone) rolls everything back: the restored container is killed and deleted, an image it
 * imported removed, the directory removed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/checkpoint.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "lifecycle.h"
#include "migrate_lazy.h"
#include "migrate_proto.h"
#include "network.h"

/* Where a plain bundle's rootfs is unpacked (restore --import's default place, named here so
 * that a rollback knows what to remove). */
#define MIG_BUNDLE_BASE "/var/lib/berth/restored"

/* The worker's exit status once it has undone its own work (the guardian then does nothing). */
#define WORKER_ROLLED_BACK 3

struct receiver {
	const struct berth_context *ctx;
	const char *storage;
	struct mig_chan ch;
	char id[256], dir[PATH_MAX], image_ref[256];
	char bundle[PATH_MAX]; /* a plain bundle's, made by the restore ("" for an image-based one) */
	char console[108];     /* CONSOLE: the console socket a terminal container's master goes to */
	bool dir_made, image_imported, restored, committed;
	struct berth_error pending; /* the first FILE/LINK error, answered at the next SYNC */
	struct mig_lazy_recv *lazy; /* post-copy (LAZY), migrate_lazy.c */
};

/* A marker in the migration's directory for the guardian (berth_migrate_receive's parent), which
 * cleans up when the worker dies before COMMIT (killed, crashed). */
static void mark(const struct receiver *rv, const char *name, const char *value)
{
	_cleanup_close_ int dfd = open(rv->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)write_file_at(dfd, name, value, strlen(value), true, 0600);
}

static int reply_err(struct receiver *rv, const struct berth_error *e)
{
	char msg[sizeof(e->msg)];
	snprintf(msg, sizeof(msg), "%s", e->msg);
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return mig_send(&rv->ch, "ERR %s", msg);
}

/* HELLO <version> <id> <dir> <image|-> <digest|-> <network|->: check what can be checked before
 * the source sends anything (the id is free, the network exists, CRIU works); answer whether the
 * image is here. */
static int on_hello(struct receiver *rv, char *args, struct berth_error *err)
{
	char id[256], dir[PATH_MAX], image[256], digest[IMAGE_DIGEST_SIZE], network[128];
	int version;
	if (sscanf(args, "%d %255s %4095s %255s %71s %127s", &version, id, dir, image, digest, network) != 6)
		return berth_error_set(err, -EPROTO, "migrate-receive: bad HELLO");
	if (version != MIG_PROTO_VERSION)
		return berth_error_set(err, -EPROTO, "migrate-receive: protocol %d, this berth speaks %d",
				       version, MIG_PROTO_VERSION);
	int r = container_id_validate(id, err);
	if (r < 0)
		return r;
	snprintf(rv->id, sizeof(rv->id), "%s", id);
	snprintf(rv->dir, sizeof(rv->dir), MIG_DIR_BASE "/%s", id);
	if (strcmp(dir, rv->dir) != 0)
		return berth_error_set(err, -EPROTO, "migrate-receive: the directory must be '%s'", rv->dir);
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	struct berth_error e = {0};
	if (container_peek(rv->ctx, id, &c, &e) == 0) {
		container_release(&c);
		return berth_error_set(err, -EEXIST, "a container \"%s\" already exists on the target", id);
	}
	if (strcmp(network, "-") != 0) {
		_cleanup_close_ int root_fd = -EBADF;
		if (state_root_open(rv->ctx->root, false, &root_fd, &e) < 0)
			root_fd = -EBADF;
		r = network_check_exists(root_fd, network, err);
		if (r < 0)
			return r;
	}
	r = mkdir_p_at(AT_FDCWD, MIG_DIR_BASE, 0700);
	if (r == 0 && mkdir(rv->dir, 0700) < 0)
		r = -errno;
	if (r < 0)
		return berth_error_setf_errno(err, r, "create '%s' (is a migration of \"%s\" under way?)",
					      rv->dir, id);
	rv->dir_made = true;
	char work[PATH_MAX + 16];
	snprintf(work, sizeof(work), "%s/work", rv->dir);
	r = checkpoint_check_kernel(rv->ctx->criu_path, work, err);
	if (r < 0)
		return r;
	if (strcmp(image, "-") == 0) {
		struct stat st;
		snprintf(rv->bundle, sizeof(rv->bundle), MIG_BUNDLE_BASE "/%s", id);
		if (lstat(rv->bundle, &st) == 0)
			return berth_error_set(err, -EEXIST, "'%s' exists on the target", rv->bundle);
	}
	bool have = false;
	if (strcmp(image, "-") != 0) {
		struct image_store *s = NULL;
		struct image_info info = {0};
		snprintf(rv->image_ref, sizeof(rv->image_ref), "%s", image);
		if (image_store_open(rv->storage, true, &s, &e) == 0 && image_get(s, image, &info, &e) == 0)
			have = true;
		image_info_clear(&info);
		image_store_close(s);
	}
	return mig_send(&rv->ch, "OK %d", have ? 1 : 0);
}

static int open_under(struct receiver *rv, const char *rel, bool dir_too, struct berth_error *err)
{
	if (!rv->dir_made)
		return berth_error_set(err, -EPROTO, "migrate-receive: no HELLO yet");
	if (!mig_rel_ok(rel))
		return berth_error_set(err, -EINVAL, "migrate-receive: bad path '%s'", rel);
	_cleanup_close_ int dfd = open(rv->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_setf_errno(err, -errno, "open '%s'", rv->dir);
	const char *slash = strchr(rel, '/');
	if (slash && dir_too) {
		char sub[256];
		snprintf(sub, sizeof(sub), "%.*s", (int)(slash - rel), rel);
		if (mkdirat(dfd, sub, 0700) < 0 && errno != EEXIST)
			return berth_error_setf_errno(err, -errno, "create '%s/%s'", rv->dir, sub);
	}
	return TAKE_FD(dfd);
}

/* FILE <mode> <size> <rel>: the payload always is read, so the stream stays in step. */
static int on_file(struct receiver *rv, char *args)
{
	unsigned mode;
	unsigned long long size;
	char rel[512];
	if (sscanf(args, "%o %llu %511s", &mode, &size, rel) != 3)
		return -EPROTO;
	struct berth_error *pe = rv->pending.code ? NULL : &rv->pending;
	_cleanup_close_ int fd = -EBADF;
	int dfd = open_under(rv, rel, true, pe);
	if (dfd >= 0) {
		fd = openat(dfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0700);
		if (fd < 0)
			berth_error_setf_errno(pe, -errno, "create '%s/%s'", rv->dir, rel);
		close(dfd);
	}
	int null = fd >= 0 ? -EBADF : open("/dev/null", O_WRONLY | O_CLOEXEC);
	int r = mig_recv_payload(&rv->ch, fd >= 0 ? fd : null, size);
	if (null >= 0)
		close(null);
	if (r < 0 && r != -EPIPE && r != -EPROTO)
		berth_error_setf_errno(pe, r, "write '%s/%s'", rv->dir, rel);
	return r == -EPIPE ? r : 0;
}

/* LINK <rel> <target>: only a round's link to the previous round ("preN/parent" -> "../preM"). */
static int on_link(struct receiver *rv, char *args)
{
	char rel[512], target[64];
	int n;
	struct berth_error *pe = rv->pending.code ? NULL : &rv->pending;
	if (sscanf(args, "%511s %63s", rel, target) != 2)
		return -EPROTO;
	const char *slash = strchr(rel, '/');
	int end = 0;
	/* exactly "../preN": nothing may follow the number (no "../pre1/../../etc") */
	if (!slash || strcmp(slash, "/parent") != 0 || sscanf(target, "../pre%d%n", &n, &end) != 1 || n < 1 ||
	    target[end] != '\0' || strncmp(target, "../pre", 6) != 0 || target[6] < '1' || target[6] > '9') {
		berth_error_set(pe, -EINVAL, "migrate-receive: refused link '%s' -> '%s'", rel, target);
		return 0;
	}
	int dfd = open_under(rv, rel, true, pe);
	if (dfd >= 0) {
		if (symlinkat(target, dfd, rel) < 0)
			berth_error_setf_errno(pe, -errno, "link '%s/%s'", rv->dir, rel);
		close(dfd);
	}
	return 0;
}

static int on_image(struct receiver *rv, char *args, struct berth_error *err)
{
	char file[PATH_MAX + 256];
	if (!mig_rel_ok(args) || !rv->dir_made)
		return berth_error_set(err, -EPROTO, "migrate-receive: bad IMAGE");
	if (rv->pending.code)
		return berth_error_set(err, rv->pending.code, "%s", rv->pending.msg);
	snprintf(file, sizeof(file), "%s/%s", rv->dir, args);
	struct image_store *s = NULL;
	struct image_import_result res = {0};
	int r = image_store_open(rv->storage, true, &s, err);
	if (r == 0)
		r = image_import(s, file, &(struct image_import_opts){0}, &res, err);
	image_import_result_free(&res);
	image_store_close(s);
	(void)unlink(file);
	if (r < 0)
		return berth_error_prefix(err, "import the image");
	rv->image_imported = true;
	mark(rv, ".image", rv->image_ref);
	return mig_send(&rv->ch, "OK");
}

static int on_restore(struct receiver *rv, char *args, struct berth_error *err)
{
	char archive[PATH_MAX + 256], work[PATH_MAX + 16];
	if (!mig_rel_ok(args) || !rv->dir_made)
		return berth_error_set(err, -EPROTO, "migrate-receive: bad RESTORE");
	if (rv->pending.code)
		return berth_error_set(err, rv->pending.code, "%s", rv->pending.msg);
	snprintf(archive, sizeof(archive), "%s/%s", rv->dir, args);
	snprintf(work, sizeof(work), "%s/work", rv->dir);
	struct berth_restore_opts x = {
	    .id = rv->id,
	    .import_path = archive,
	    .work_path = work,
	    .storage = rv->storage,
	    .bundle = rv->bundle[0] ? rv->bundle : NULL,
	    .detach = true,
	    .no_kernel_check = true, /* at HELLO */
	    .console_socket = rv->console[0] ? rv->console : NULL,
	};
	int status = 0;
	if (rv->bundle[0]) {
		(void)mkdir_p_at(AT_FDCWD, MIG_BUNDLE_BASE, 0700);
		mark(rv, ".plain", rv->bundle);
	}
	mark(rv, ".restoring", rv->id);
	fault_point("migrate-receive.before-restore");
	int r = berth_container_restore(rv->ctx, &x, &status, err);
	if (r < 0)
		return r;
	rv->restored = true;
	fault_point("migrate-receive.after-restore");
	return mig_send(&rv->ch, "RUNNING %s", rv->id);
}

/* LAZY: post-copy; checked before the source freezes anything. */
static int on_lazy(struct receiver *rv, struct berth_error *err)
{
	if (!rv->dir_made || rv->lazy)
		return berth_error_set(err, -EPROTO, "migrate-receive: bad LAZY");
	int r = mig_lazy_recv_prepare(&rv->lazy, rv->dir, rv->ctx->criu_path, err);
	return r < 0 ? r : mig_send(&rv->ch, "OK");
}

/* LAZY-RESTORE <archive>: the restore with CRIU's lazy-pages daemon on the page channel. */
static int on_lazy_restore(struct receiver *rv, char *args, struct berth_error *err)
{
	if (!rv->lazy)
		return berth_error_set(err, -EPROTO, "migrate-receive: LAZY-RESTORE without LAZY");
	int r = mig_lazy_recv_start(rv->lazy, err);
	if (r == 0)
		r = on_restore(rv, args, err);
	mig_lazy_recv_restored(rv->lazy);
	return r;
}

static void receiver_rollback(struct receiver *rv);

/* After COMMIT of a post-copy: the process runs here while its memory still arrives. If the page
 * channel breaks first, the process lacks memory it may touch: it is stopped and everything this
 * receiver made is removed, rather than let it run on pages that are not its own. The source
 * learns which it was (OK: every page is here; ERR: the copy is gone) and keeps its frozen
 * original until then. */
static void lazy_after_commit(struct receiver *rv)
{
	struct berth_error e = {0};
	if (!rv->lazy)
		return;
	fault_point("migrate-receive.after-commit");
	if (mig_lazy_recv_wait(rv->lazy, &e) < 0) {
		log_warn("migrate-receive: %s; stopping \"%s\"", e.msg, rv->id);
		/* the answer once the copy is gone: the source may resume its own at once */
		receiver_rollback(rv);
		(void)reply_err(rv, &e);
		return;
	}
	mig_lazy_recv_free(&rv->lazy);
	(void)mig_send(&rv->ch, "OK");
}

/* CONSOLE <path>: a terminal container's new pty master goes to this socket on the target (a
 * receiver the admin runs there, as for restore --console-socket). */
static int on_console(struct receiver *rv, char *args, struct berth_error *err)
{
	if (args[0] != '/' || strlen(args) >= sizeof(rv->console))
		return berth_error_set(err, -EINVAL, "migrate-receive: bad CONSOLE path");
	struct stat st;
	if (stat(args, &st) < 0 || !S_ISSOCK(st.st_mode))
		return berth_error_set(err, -ENOENT,
				       "--console-socket: '%s' is not a socket on the target (start the "
				       "console receiver there first)",
				       args);
	snprintf(rv->console, sizeof(rv->console), "%s", args);
	return mig_send(&rv->ch, "OK");
}

/* The end of the stream before COMMIT: undo everything this receiver made. */
static void receiver_rollback(struct receiver *rv)
{
	struct berth_error e = {0};
	if (rv->restored && berth_container_delete(rv->ctx, rv->id, true, &e) < 0)
		log_warn("migrate-receive: delete \"%s\": %s", rv->id, e.msg);
	if (rv->restored && rv->bundle[0])
		(void)rm_rf_at(AT_FDCWD, rv->bundle);
	if (rv->image_imported) {
		struct image_store *s = NULL;
		if (image_store_open(rv->storage, false, &s, &e) == 0 &&
		    image_remove(s, rv->image_ref, &e) < 0)
			log_warn("migrate-receive: remove the image %s: %s", rv->image_ref, e.msg);
		image_store_close(s);
	}
	mig_lazy_recv_free(&rv->lazy);
}

/* One message; 1 after COMMIT, 0 to go on, negative: stop (and roll back). */
static int dispatch(struct receiver *rv, char *line, struct berth_error *err)
{
	char *args = strchr(line, ' ');
	args = args ? args + 1 : line + strlen(line);
	int r;
	if (strncmp(line, "FILE ", 5) == 0)
		return on_file(rv, args);
	if (strncmp(line, "LINK ", 5) == 0)
		return on_link(rv, args);
	if (strcmp(line, "SYNC") == 0) {
		r = rv->pending.code ? reply_err(rv, &rv->pending) : mig_send(&rv->ch, "OK");
		return rv->pending.code ? -EIO : r;
	}
	if (strcmp(line, "COMMIT") == 0) {
		rv->committed = true;
		(void)mig_send(&rv->ch, "OK");
		lazy_after_commit(rv);
		return 1;
	}
	if (strncmp(line, "HELLO ", 6) == 0)
		r = on_hello(rv, args, err);
	else if (strncmp(line, "IMAGE ", 6) == 0)
		r = on_image(rv, args, err);
	else if (strncmp(line, "CONSOLE ", 8) == 0)
		r = on_console(rv, args, err);
	else if (strncmp(line, "RESTORE ", 8) == 0)
		r = on_restore(rv, args, err);
	else if (strcmp(line, "LAZY") == 0)
		r = on_lazy(rv, err);
	else if (strncmp(line, "LAZY-RESTORE ", 13) == 0)
		r = on_lazy_restore(rv, args, err);
	else if (strcmp(line, "LAZY-DAEMON") == 0)
		r = rv->lazy ? mig_lazy_recv_daemon(rv->lazy, err)
			     : berth_error_set(err, -EPROTO, "migrate-receive: LAZY-DAEMON without LAZY");
	else
		r = berth_error_set(err, -EPROTO, "migrate-receive: unknown message '%.40s'", line);
	if (r < 0 && err->code)
		(void)reply_err(rv, err);
	return r;
}

/* The worker: every message after HELLO. Exits 0 once committed. */
static int worker(struct receiver *rv, struct berth_error *err)
{
	char line[MIG_LINE_MAX];
	int r;
	for (;;) {
		r = mig_recv(&rv->ch, line, sizeof(line));
		if (r < 0)
			break;
		r = dispatch(rv, line, err);
		if (r != 0)
			break;
	}
	if (!rv->committed)
		receiver_rollback(rv);
	return rv->committed ? 0 : r < 0 ? r : -EIO;
}

/* The worker died without COMMIT and could not roll back itself: do it from its markers. */
static void guardian_cleanup(struct receiver *rv)
{
	_cleanup_close_ int dfd = open(rv->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *ref = NULL;
	size_t len;
	if (dfd < 0)
		return;
	rv->restored = faccessat(dfd, ".restoring", F_OK, 0) == 0;
	if (faccessat(dfd, ".plain", F_OK, 0) != 0)
		rv->bundle[0] = '\0';
	if (read_file_at(dfd, ".image", sizeof(rv->image_ref) - 1, &ref, &len) == 0) {
		rv->image_imported = true;
		snprintf(rv->image_ref, sizeof(rv->image_ref), "%.*s", (int)len, ref);
	}
	receiver_rollback(rv);
}

int berth_migrate_receive(const struct berth_context *ctx, const char *storage, int in, int out,
			  struct berth_error *err)
{
	struct receiver rv = {.ctx = ctx, .storage = storage ? storage : IMAGE_DEFAULT_STORAGE};
	char line[MIG_LINE_MAX];
	signal(SIGPIPE, SIG_IGN);
	/* ssh ends the session with SIGHUP when the source goes: roll back, do not die. */
	signal(SIGHUP, SIG_IGN);
	mig_chan_init(&rv.ch, in, out);
	int r = mig_recv(&rv.ch, line, sizeof(line));
	if (r == 0 && strncmp(line, "HELLO ", 6) != 0)
		r = berth_error_set(err, -EPROTO, "migrate-receive: expected HELLO");
	else if (r == 0)
		r = on_hello(&rv, line + 6, err);
	else
		berth_error_setf_errno(err, r, "migrate-receive: read HELLO");
	if (r < 0) {
		if (err->code)
			(void)reply_err(&rv, err);
		if (rv.dir_made)
			(void)rm_rf_at(AT_FDCWD, rv.dir);
		return r;
	}
	/* The rest runs in a worker; this process only waits, and cleans up after a worker that was
	 * killed (or crashed) before COMMIT: then nothing it made stays. */
	pid_t pid = fork();
	if (pid < 0) {
		(void)rm_rf_at(AT_FDCWD, rv.dir);
		return berth_error_setf_errno(err, -errno, "migrate-receive: fork");
	}
	if (pid == 0) {
		r = worker(&rv, err);
		_exit(r == 0 ? 0 : WORKER_ROLLED_BACK); /* worker() rolls back before it returns */
	}
	closep(&in);
	closep(&out);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	bool ok = WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
	/* Only a worker that died (killed, crashed) left its work undone: one that rolled back itself
	 * must not have the guardian delete a container of this id that is not this migration's. */
	if (!ok && !(WIFEXITED(ws) && WEXITSTATUS(ws) == WORKER_ROLLED_BACK))
		guardian_cleanup(&rv);
	(void)rm_rf_at(AT_FDCWD, rv.dir);
	if (ok)
		return 0;
	return berth_error_set(err, -EIO, "migrate-receive: rolled back (the worker %s)",
			       WIFSIGNALED(ws) ? "was killed" : "failed");
}
