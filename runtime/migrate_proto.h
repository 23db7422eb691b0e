/* The migration channel: one byte stream each way between `berth migrate` (the source) and
 * `berth migrate-receive` (the target), carried by OpenSSH (the source runs the receiver as the
 * remote command; the stream is ssh's stdin/stdout). Messages are one text line ("VERB args\n",
 * at most MIG_LINE_MAX bytes) optionally followed by a payload whose size the line states.
 * Private to runtime/migrate*.c. */
#pragma once

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>

struct berth_error;

#define MIG_LINE_MAX 4096
/* 2: after a post-copy's COMMIT the target answers once more, OK when every page arrived, ERR
 * when it stopped its copy (a source of version 1 took the end of its page server for success) */
#define MIG_PROTO_VERSION 2
/* Where both sides keep the images of one migration: the same absolute path on the source and
 * the target, so that the final dump's "parent" link (made by CRIU on the source) resolves on
 * the target as well. */
#define MIG_DIR_BASE "/var/lib/berth/migrate"

struct mig_chan {
	int in, out;
	char buf[65536];
	size_t pos, len;
	uint64_t sent, received; /* payload and line bytes, for the progress lines */
};

void mig_chan_init(struct mig_chan *ch, int in, int out);
/* Send one line (printf format; the newline is added). -EPIPE when the peer is gone. */
int mig_send(struct mig_chan *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read one line without its newline into @line. -EPIPE on end of stream, -EPROTO when too long. */
int mig_recv(struct mig_chan *ch, char *line, size_t size);
/* Copy @size bytes from @fd to the channel, or from the channel to @fd. */
int mig_send_payload(struct mig_chan *ch, int fd, uint64_t size);
int mig_recv_payload(struct mig_chan *ch, int fd, uint64_t size);
/* Send the regular file @path as "FILE <mode> <size> <rel>" + contents. */
int mig_send_file(struct mig_chan *ch, const char *path, const char *rel, struct berth_error *err);
/* Send the flat directory @dir (CRIU images: regular files and the "parent" link) as @rel/NAME
 * files; *ret_bytes is the size of its files, *ret_pages the number of memory pages in them. */
int mig_send_dir(struct mig_chan *ch, const char *dir, const char *rel, uint64_t *ret_bytes,
		 uint64_t *ret_pages, struct berth_error *err);
/* A relative path the receiver accepts: components of [A-Za-z0-9._-], none "." or "..", no
 * leading or doubled '/', at most 2 components. */
bool mig_rel_ok(const char *rel);
/* Wait for "OK[ rest]": 0 with @rest filled (may be NULL); "ERR msg": -EIO with msg in @err. */
int mig_expect_ok(struct mig_chan *ch, char *rest, size_t size, struct berth_error *err);

/* Set by `migrate`'s SIGINT/SIGTERM/SIGHUP handler: a read or write the signal interrupts then
 * fails with -ECANCELED instead of going on, and the pipeline rolls back. */
extern volatile sig_atomic_t mig_interrupted;

/* Monotonic milliseconds. */
uint64_t mig_now_ms(void);

struct berth_migrate_opts;

/* migrate_ssh.c: ssh://[user@]host[:port] into "[user@]host" and the port ("" for ssh's default);
 * -EINVAL naming the destination. */
int mig_parse_destination(const char *dest, char *host, size_t hsize, char *port, size_t psize,
			  struct berth_error *err);
/* `ssh [-o OPT]... [-p PORT] HOST -- REMOTE-BERTH REMOTE-ARGS`: its pid, the write end of its
 * stdin (@ret_to) and the read end of its stdout (@ret_from); its stderr is ours. */
int mig_ssh_spawn(const struct berth_migrate_opts *o, const char *remote_args, pid_t *ret_pid, int *ret_to,
		  int *ret_from, struct berth_error *err);
