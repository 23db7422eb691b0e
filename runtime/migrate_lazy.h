/* Post-copy migration (`berth migrate --lazy`): the container resumes on the target as soon as
 * its non-memory state is there, and its memory follows on demand through CRIU's lazy pages
 * (userfaultfd on the target). CRIU's page traffic needs a connected socket on each side
 * (--ps-socket); it travels through a second ssh session to the target, `berth migrate-pages ID`,
 * with a relay (relay.c) on each side between the socket CRIU uses and ssh's pipes. No port is
 * opened: on the target the second session reaches the receiver through a unix socket in the
 * migration's root-only directory. Private to runtime/migrate*.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct berth_context;
struct berth_error;
struct berth_migrate_opts;
struct mig_chan;

/* The source's side, after connect (and the image): freeze, lazy dump, transfer, restore on the
 * target, commit, and the wait for the last page. The pointers are migrate.c's state: *paused
 * is true while a failure must thaw the container here; it turns false at the commit, after which
 * a failure leaves the container frozen here (the target stopped its copy). */
struct mig_lazy_src {
	const struct berth_context *ctx;
	const struct berth_migrate_opts *o;
	const char *dir;
	struct mig_chan *ch;
	bool image_based;
	bool *paused;
	bool *commit_sent; /* COMMIT went out: never thaw here from then on */
	bool *left_frozen; /* a failure after the commit left the container frozen here on purpose */
	uint64_t *t_freeze, *t_ack;
};
int mig_lazy_source(const struct mig_lazy_src *s, struct berth_error *err);

/* The receiver's side. */
struct mig_lazy_recv;
/* "LAZY": check that this kernel and CRIU can do lazy pages (before the source freezes
 * anything) and listen for the page channel on a unix socket in @dir; answers on the channel. */
int mig_lazy_recv_prepare(struct mig_lazy_recv **ret, const char *dir, const char *criu_path,
			  struct berth_error *err);
/* Once the images are here ("LAZY-DAEMON"): take the page channel and start `criu lazy-pages`
 * on it, without waiting for it. */
int mig_lazy_recv_daemon(struct mig_lazy_recv *l, struct berth_error *err);
/* Before the restore: the daemon (started here if it was not) ready, and the restore set to use
 * lazy pages (CRIU_CONFIG_FILE). */
int mig_lazy_recv_start(struct mig_lazy_recv *l, struct berth_error *err);
/* After the restore: the restore's CRIU settings go away. */
void mig_lazy_recv_restored(struct mig_lazy_recv *l);
/* After COMMIT: wait until the lazy-pages daemon has every page; -EIO when it failed (the
 * restored process's memory is incomplete: the caller stops the container). */
int mig_lazy_recv_wait(struct mig_lazy_recv *l, struct berth_error *err);
/* Stop the daemon if it runs, close everything, free. */
void mig_lazy_recv_free(struct mig_lazy_recv **l);
