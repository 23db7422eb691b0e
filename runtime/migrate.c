/* berth migrate: move a running container to another host over OpenSSH, as one pipeline:
 *   connect -> send the image (when the target lacks it) -> pre-copy rounds -> freeze ->
 *   final dump -> transfer -> restore (on the target) -> acknowledge -> clean up
 * Each phase is a function; a failure anywhere before the target's acknowledgement thaws the
 * container here (it never stopped running for good: the final dump is taken with
 * --leave-running from a frozen cgroup) and closes the channel, on which the receiver removes
 * what it made.
 *
 * The memory travels as CRIU images over the ssh channel: each pre-dump round (memory tracking,
 * the previous round as parent) holds only the pages dirtied since the last one, and the final
 * dump only those dirtied since the last round. No port is opened on either host. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "berth/runtime.h"
#include "berth/util.h"
#include "lifecycle.h"
#include "migrate_lazy.h"
#include "migrate_proto.h"

#define DEFAULT_ROUNDS 4
#define MAX_ROUNDS 16
/* Stop the pre-copy when a round carried at most this many pages (4 MiB)... */
#define SMALL_DIRTY_PAGES 1024
/* ...or did not shrink below 3/4 of the previous round. */

struct migration {
	const struct berth_context *ctx;
	const struct berth_migrate_opts *o;
	char dir[PATH_MAX]; /* MIG_DIR_BASE/<id>, here and on the target */
	pid_t ssh_pid;
	int ssh_in, ssh_out;
	struct mig_chan ch;
	/* the container */
	char image_ref[256], digest[IMAGE_DIGEST_SIZE], chain[IMAGE_DIGEST_SIZE], network[128];
	bool image_based, target_has_image;
	/* progress */
	int rounds;
	bool paused, acknowledged;
	bool commit_sent; /* COMMIT went out: the target may own the container even without its OK */
	bool left_frozen; /* post-copy failed after the commit: frozen here, the error says why */
	uint64_t t_start, t_freeze, t_ack;
};

static void progress(const struct migration *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct migration *m, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (!m->o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->o->progress(m->o->progress_data, line);
}

/* ---- connect ---- */

/* `ssh [-o OPT]... [-p PORT] HOST -- REMOTE-BERTH migrate-receive` with pipes to its stdin and
 * from its stdout; its stderr stays ours (ssh's own messages and the receiver's). */
static int spawn_ssh(struct migration *m, struct berth_error *err)
{
	int r = mig_ssh_spawn(m->o, "migrate-receive", &m->ssh_pid, &m->ssh_out, &m->ssh_in, err);
	if (r < 0)
		return r;
	mig_chan_init(&m->ch, m->ssh_in, m->ssh_out);
	return 0;
}

/* What the target needs to know before anything is sent: the container's image and network. */
static int inspect_container(struct migration *m, struct berth_error *err)
{
	struct container c = {.root_fd = -EBADF, .dir_fd = -EBADF};
	int r = container_peek(m->ctx, m->o->id, &c, err);
	if (r < 0)
		return r;
	if (container_status(m->ctx, &c) != OCI_STATUS_RUNNING) {
		container_release(&c);
		return berth_error_set(err, -EINVAL, "container \"%s\" is not running: nothing to migrate",
				       m->o->id);
	}
	/* A terminal's master is held by whoever gave the console socket here: the target has nobody
	 * to hand the new master to. Said before anything is frozen or sent. */
	struct oci_config *cfg = NULL;
	r = container_config(&c, &cfg, err);
	bool terminal = r == 0 && cfg->process.terminal;
	oci_config_free(cfg);
	const char *cs = m->o->console_socket;
	if (r == 0 && terminal && !cs)
		r = berth_error_set(
		    err, -EINVAL,
		    "process.terminal: the container has a terminal, whose new pty master needs "
		    "a console socket on the target: give --console-socket PATH (a socket there, "
		    "as for restore --console-socket)");
	else if (r == 0 && !terminal && cs)
		r = berth_error_set(err, -EINVAL, "--console-socket: the container has no terminal");
	else if (r == 0 && cs && (cs[0] != '/' || strlen(cs) >= 108 || strpbrk(cs, " \t\n")))
		r = berth_error_set(err, -EINVAL,
				    "--console-socket: '%s' must be an absolute path of at most 107 bytes "
				    "without blanks",
				    cs);
	if (r < 0) {
		container_release(&c);
		return r;
	}
	_cleanup_free_ char *upper = NULL;
	struct berth_error e = {0};
	m->image_based = image_container_upper(m->o->id, c.rec->annotations, c.rec->n_annotations, &upper,
					       m->digest, m->chain, &e) == 0;
	for (size_t i = 0; i < c.rec->n_annotations; i++) {
		const struct oci_kv *a = &c.rec->annotations[i];
		if (strcmp(a->key, IMAGE_ANNOTATION_NAME) == 0)
			snprintf(m->image_ref, sizeof(m->image_ref), "%s", a->value);
		else if (strcmp(a->key, "berth.network") == 0)
			snprintf(m->network, sizeof(m->network), "%s", a->value);
	}
	container_release(&c);
	if (m->image_based && !m->image_ref[0])
		return berth_error_set(err, -EINVAL, "container \"%s\": its image has no name", m->o->id);
	return 0;
}

static int phase_connect(struct migration *m, struct berth_error *err)
{
	int r = inspect_container(m, err);
	if (r == 0)
		r = spawn_ssh(m, err);
	if (r < 0)
		return r;
	r = mig_send(&m->ch, "HELLO %d %s %s %s %s %s", MIG_PROTO_VERSION, m->o->id, m->dir,
		     m->image_based ? m->image_ref : "-", m->image_based ? m->digest : "-",
		     m->network[0] ? m->network : "-");
	if (r < 0)
		return berth_error_setf_errno(err, r, "migrate: start the receiver over ssh");
	char rest[64];
	r = mig_expect_ok(&m->ch, rest, sizeof(rest), err);
	if (r < 0)
		return r;
	m->target_has_image = strcmp(rest, "1") == 0;
	if (m->o->console_socket) {
		r = mig_send(&m->ch, "CONSOLE %s", m->o->console_socket);
		if (r == 0)
			r = mig_expect_ok(&m->ch, NULL, 0, err);
		if (r < 0)
			return err->code ? berth_error_prefix(err, "migrate: --console-socket")
					 : berth_error_setf_errno(err, r, "migrate: --console-socket");
	}
	progress(m, "connected to %s (%s container%s%s)", m->o->destination,
		 m->image_based ? "image-based" : "plain-bundle", m->image_based ? ", image " : "",
		 m->image_based ? m->image_ref : "");
	return 0;
}

/* ---- the image, only when the target's store lacks it ---- */

static int phase_image(struct migration *m, struct berth_error *err)
{
	if (!m->image_based || m->target_has_image) {
		if (m->image_based)
			progress(m, "image %s: already in the target's store, not sent", m->image_ref);
		return 0;
	}
	char file[PATH_MAX + 16];
	struct image_store *s = NULL;
	snprintf(file, sizeof(file), "%s/image.tar", m->dir);
	int r = image_store_open(m->o->storage ? m->o->storage : IMAGE_DEFAULT_STORAGE, false, &s, err);
	if (r == 0)
		r = image_export(s, m->image_ref, file, err);
	image_store_close(s);
	if (r < 0)
		return berth_error_prefix(err, "migrate: export the image");
	uint64_t before = m->ch.sent;
	r = mig_send_file(&m->ch, file, "image.tar", err);
	if (r == 0)
		r = mig_send(&m->ch, "IMAGE image.tar") < 0 ? -EPIPE : 0;
	if (r == 0)
		r = mig_expect_ok(&m->ch, NULL, 0, err);
	(void)unlink(file);
	if (r < 0)
		return berth_error_prefix(err, "migrate: image %s", m->image_ref);
	progress(m, "image %s: the target lacked it, sent %llu bytes", m->image_ref,
		 (unsigned long long)(m->ch.sent - before));
	return 0;
}

/* ---- pre-copy ---- */

static int precopy_round(struct migration *m, int i, uint64_t *ret_pages, struct berth_error *err)
{
	char images[PATH_MAX + 16], work[PATH_MAX + 16], parent[32], rel[32];
	snprintf(images, sizeof(images), "%s/pre%d", m->dir, i);
	snprintf(work, sizeof(work), "%s/work", m->dir);
	snprintf(parent, sizeof(parent), "../pre%d", i - 1);
	snprintf(rel, sizeof(rel), "pre%d", i);
	struct berth_checkpoint_opts x = {
	    .id = m->o->id,
	    .image_path = images,
	    .work_path = work,
	    .parent_path = i > 1 ? parent : NULL,
	    .pre_dump = true,
	    .status_fd = -1,
	    .no_kernel_check = i > 1,
	};
	uint64_t t = mig_now_ms(), before = m->ch.sent, bytes, pages;
	int r = berth_container_checkpoint(m->ctx, &x, err);
	if (r < 0)
		return berth_error_prefix(err, "migrate: pre-copy round %d", i);
	uint64_t dumped = mig_now_ms();
	r = mig_send_dir(&m->ch, images, rel, &bytes, &pages, err);
	if (r == 0 && mig_send(&m->ch, "SYNC") < 0)
		r = berth_error_set(err, -EPIPE, "migrate: the target closed the channel");
	if (r == 0)
		r = mig_expect_ok(&m->ch, NULL, 0, err);
	if (r < 0)
		return berth_error_prefix(err, "migrate: pre-copy round %d", i);
	progress(m, "round %d: %llu pages, %llu bytes sent (dump %llu ms, transfer %llu ms)", i,
		 (unsigned long long)pages, (unsigned long long)(m->ch.sent - before),
		 (unsigned long long)(dumped - t), (unsigned long long)(mig_now_ms() - dumped));
	*ret_pages = pages;
	return 0;
}

static int phase_precopy(struct migration *m, struct berth_error *err)
{
	int max = m->o->max_rounds > 0 ? m->o->max_rounds : DEFAULT_ROUNDS;
	uint64_t prev = UINT64_MAX, pages = 0;
	if (max > MAX_ROUNDS)
		return berth_error_set(err, -EINVAL, "--max-rounds: at most %d", MAX_ROUNDS);
	for (int i = 1; i <= max; i++) {
		int r = precopy_round(m, i, &pages, err);
		if (r < 0)
			return r;
		m->rounds = i;
		if (pages <= SMALL_DIRTY_PAGES || (prev != UINT64_MAX && pages * 4 > prev * 3))
			break; /* small enough, or no longer shrinking: the freeze sends the rest */
		prev = pages;
	}
	return 0;
}

/* ---- freeze and final dump ---- */

static int phase_freeze(struct migration *m, struct berth_error *err)
{
	m->t_freeze = mig_now_ms();
	int r = berth_container_pause(m->ctx, m->o->id, err);
	if (r < 0)
		return berth_error_prefix(err, "migrate: freeze");
	m->paused = true;
	return 0;
}

/* The final dump names the last pre-dump as its parent by a path that climbs to / and comes
 * down to MIG_DIR_BASE: the same text resolves here and, inside the archive unpacked under the
 * target's store or bundle, on the target (whose copy of the rounds is at the same path). */
static void final_parent(const struct migration *m, char *buf, size_t size)
{
	size_t pos = 0;
	for (int i = 0; i < 24 && pos + 3 < size; i++)
		pos += (size_t)snprintf(buf + pos, size - pos, "../");
	snprintf(buf + pos, size - pos, "%s/pre%d", m->dir + 1, m->rounds);
}

static int phase_final_dump(struct migration *m, struct berth_error *err)
{
	char images[PATH_MAX + 16], work[PATH_MAX + 16], archive[PATH_MAX + 16], parent[PATH_MAX + 80];
	snprintf(images, sizeof(images), "%s/final", m->dir);
	snprintf(work, sizeof(work), "%s/work", m->dir);
	snprintf(archive, sizeof(archive), "%s/final.tar", m->dir);
	final_parent(m, parent, sizeof(parent));
	struct berth_checkpoint_opts x = {
	    .id = m->o->id,
	    .image_path = images,
	    .work_path = work,
	    .parent_path = m->rounds > 0 ? parent : NULL,
	    .export_path = archive,
	    .export_rootfs = !m->image_based, /* a plain bundle: its rootfs travels whole */
	    .leave_running = true,            /* frozen, not killed: a failure later thaws it */
	    .status_fd = -1,
	    .no_kernel_check = true, /* round 1 ran it */
	};
	uint64_t t = mig_now_ms();
	int r = berth_container_checkpoint(m->ctx, &x, err);
	if (r < 0)
		return berth_error_prefix(err, "migrate: final dump");
	progress(m, "final dump: %llu ms (frozen since %llu ms)", (unsigned long long)(mig_now_ms() - t),
		 (unsigned long long)(mig_now_ms() - m->t_freeze));
	return 0;
}

/* ---- transfer, restore, acknowledge ---- */

static int phase_transfer(struct migration *m, struct berth_error *err)
{
	char archive[PATH_MAX + 16];
	snprintf(archive, sizeof(archive), "%s/final.tar", m->dir);
	uint64_t before = m->ch.sent, t = mig_now_ms();
	int r = mig_send_file(&m->ch, archive, "final.tar", err);
	if (r < 0)
		return berth_error_prefix(err, "migrate: transfer");
	progress(m, "final: %llu bytes sent in %llu ms", (unsigned long long)(m->ch.sent - before),
		 (unsigned long long)(mig_now_ms() - t));
	return 0;
}

static int phase_restore(struct migration *m, struct berth_error *err)
{
	char line[MIG_LINE_MAX];
	uint64_t t = mig_now_ms();
	int r = mig_send(&m->ch, "RESTORE final.tar");
	if (r == 0)
		r = mig_recv(&m->ch, line, sizeof(line));
	if (r < 0)
		return berth_error_setf_errno(err, r, "migrate: restore on the target: the channel broke");
	if (strncmp(line, "ERR ", 4) == 0)
		return berth_error_set(err, -EIO, "migrate: restore on the target: %s", line + 4);
	if (strncmp(line, "RUNNING ", 8) != 0)
		return berth_error_set(err, -EPROTO, "migrate: unexpected answer '%.80s'", line);
	m->t_ack = mig_now_ms();
	progress(m, "restored on the target in %llu ms", (unsigned long long)(m->t_ack - t));
	return 0;
}

/* Both sides agree the target owns the container from here: the receiver answers OK only once it
 * will no longer roll back. */
static int phase_acknowledge(struct migration *m, struct berth_error *err)
{
	int r = mig_send(&m->ch, "COMMIT");
	if (r < 0)
		return berth_error_setf_errno(err, r, "migrate: commit");
	m->commit_sent = true;
	r = mig_expect_ok(&m->ch, NULL, 0, err);
	if (r < 0)
		return berth_error_prefix(err, "migrate: commit");
	m->acknowledged = true;
	return 0;
}

/* ---- clean up ---- */

static void close_channel(struct migration *m)
{
	closep(&m->ssh_out);
	closep(&m->ssh_in);
	if (m->ssh_pid > 0) {
		int ws;
		while (waitpid(m->ssh_pid, &ws, 0) < 0 && errno == EINTR)
			;
		m->ssh_pid = 0;
	}
}

/* Success: the container is the target's now; nothing of it stays here. */
static int phase_cleanup(struct migration *m, struct berth_error *err)
{
	int r = berth_container_delete(m->ctx, m->o->id, true, err);
	if (r < 0)
		return berth_error_prefix(err, "migrate: the container runs on the target, but removing "
					       "it here failed");
	return 0;
}

/* Failure before the acknowledgement: the container runs on here. Once COMMIT went out, a lost
 * answer does not say the target rolled back (it may have committed and run the container): the
 * container then stays frozen here rather than run on two hosts. */
static void rollback(struct migration *m)
{
	struct berth_error e = {0};
	close_channel(m); /* the receiver sees the end of the stream and removes what it made */
	if (m->commit_sent)
		return;
	if (m->paused && berth_container_resume(m->ctx, m->o->id, &e) < 0)
		log_warn("migrate: could not thaw \"%s\": %s", m->o->id, e.msg);
	m->paused = false;
}

/* Ctrl-C (or a TERM, or the terminal gone) during a migration: the phase under way fails and the
 * pipeline rolls back (the container is thawed); ssh, in our process group, gets the signal too. */
static void on_signal(int sig)
{
	(void)sig;
	mig_interrupted = 1;
}

static void catch_signals(bool on)
{
	struct sigaction sa = {.sa_handler = on ? on_signal : SIG_DFL}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Between two phases: stop when a signal came. */
static int interrupted(struct berth_error *err)
{
	return mig_interrupted ? berth_error_set(err, -ECANCELED, "migrate: interrupted by a signal") : 0;
}

/* Post-copy (--lazy): freeze, lazy dump, transfer, restore, commit, the last page (migrate_lazy.c). */
static int phase_lazy(struct migration *m, struct berth_error *err)
{
	const struct mig_lazy_src s = {
	    .ctx = m->ctx,
	    .o = m->o,
	    .dir = m->dir,
	    .ch = &m->ch,
	    .image_based = m->image_based,
	    .paused = &m->paused,
	    .commit_sent = &m->commit_sent,
	    .left_frozen = &m->left_frozen,
	    .t_freeze = &m->t_freeze,
	    .t_ack = &m->t_ack,
	};
	int r = mig_lazy_source(&s, err);
	m->acknowledged = r == 0;
	return r;
}

static int pipeline(struct migration *m, struct berth_error *err)
{
	int r = phase_connect(m, err);
	if (r == 0 && (r = interrupted(err)) == 0)
		r = phase_image(m, err);
	if (r == 0 && m->o->lazy)
		return phase_lazy(m, err);
	if (r == 0 && (r = interrupted(err)) == 0)
		r = phase_precopy(m, err);
	if (r == 0 && (r = interrupted(err)) == 0)
		r = phase_freeze(m, err);
	if (r == 0 && (r = interrupted(err)) == 0)
		r = phase_final_dump(m, err);
	if (r == 0 && (r = interrupted(err)) == 0)
		r = phase_transfer(m, err);
	if (r == 0 && (r = interrupted(err)) == 0)
		r = phase_restore(m, err);
	if (r == 0 && (r = interrupted(err)) == 0)
		r = phase_acknowledge(m, err);
	return r;
}

int berth_container_migrate(const struct berth_context *ctx, const struct berth_migrate_opts *o,
			    struct berth_error *err)
{
	struct migration m = {.ctx = ctx, .o = o, .ssh_in = -EBADF, .ssh_out = -EBADF};
	int r = container_id_validate(o->id, err);
	if (r < 0)
		return r;
	if (o->lazy && o->max_rounds > 0)
		return berth_error_set(err, -EINVAL,
				       "--lazy: no pre-copy rounds (--max-rounds) with post-copy");
	char host[256], port[8];
	r = mig_parse_destination(o->destination, host, sizeof(host), port, sizeof(port), err);
	if (r < 0)
		return r;
	m.t_start = mig_now_ms();
	snprintf(m.dir, sizeof(m.dir), MIG_DIR_BASE "/%s", o->id);
	r = mkdir_p_at(AT_FDCWD, MIG_DIR_BASE, 0700);
	if (r == 0 && mkdir(m.dir, 0700) < 0)
		r = -errno;
	if (r < 0)
		return berth_error_setf_errno(
		    err, r, "migrate: create '%s' (is a migration of \"%s\" under way?)", m.dir, o->id);
	/* ssh's end of the pipe may close early; a write then fails with EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	catch_signals(true);
	r = pipeline(&m, err);
	if (r < 0)
		rollback(&m);
	else
		close_channel(&m);
	catch_signals(false);
	(void)rm_rf_at(AT_FDCWD, m.dir);
	if (r < 0 && m.ssh_pid == 0 && !m.paused && m.ch.sent == 0)
		return berth_error_prefix(err, "migrate \"%s\"", o->id);
	if (r < 0 && m.left_frozen)
		return berth_error_prefix(err, "migrate \"%s\"", o->id);
	if (r < 0 && m.commit_sent)
		return berth_error_prefix(err,
					  "migrate \"%s\": the commit was sent but not acknowledged, so the "
					  "target may run it; it stays frozen here (check the target, then "
					  "`berth delete --force %s` or `berth resume %s` here)",
					  o->id, o->id, o->id);
	if (r < 0)
		return berth_error_prefix(err, "migrate \"%s\" (it still runs here)", o->id);
	r = phase_cleanup(&m, err);
	uint64_t end = mig_now_ms();
	progress(&m,
		 "migrated %s to %s: total %llu ms, downtime %llu ms, %llu bytes sent, %d pre-copy "
		 "round(s)",
		 o->id, o->destination, (unsigned long long)(end - m.t_start),
		 (unsigned long long)(m.t_ack - m.t_freeze), (unsigned long long)m.ch.sent, m.rounds);
	return r;
}
