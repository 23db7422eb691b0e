/* runtime-internal: the log of a detached container (`run -d`, `run --image -d`).
 *
 * Where: <state dir>/container.log, beside state.json. The state dir exists for both kinds of
 * container (a bundle has no store dir), `delete` removes it with everything else, it lives on the
 * state root that only its owner may write (0700, never mounted into a container), and a restore
 * makes a new one on the target host, where the log then continues.
 *
 * Format: the raw bytes the container wrote to stdout and stderr, interleaved in write order, no
 * framing, no timestamps. The init's fds 1 and 2 are one open file description with O_APPEND
 * (O_WRONLY), written by the process itself: no relay process, nothing lost when berth exits, and
 * a regular file is what CRIU restores (an O_WRONLY|O_APPEND file is not size-checked by CRIU, so
 * the log may grow or be carried over). stdin is /dev/null. */
#pragma once

#include <stdbool.h>

struct berth_error;

#define STDIO_LOG_FILE "container.log"

/* The init's stdio for a detached run below the state dir @dir_fd: [0] /dev/null read-only, [1]
 * and [2] the same O_WRONLY|O_APPEND descriptor of the log (created 0600). All three are >= 3 and
 * close-on-exec; close with stdio_log_close. */
int stdio_log_open(int dir_fd, int ret_fds[3], struct berth_error *err);
void stdio_log_close(int fds[3]);

/* The log below @dir_fd opened O_WRONLY|O_APPEND (created when missing), never through a
 * symlink, mode 0600 whatever the umask (CRIU compares the mode at restore). Close-on-exec. */
int stdio_log_open_append(int dir_fd, int *ret_fd, struct berth_error *err);

/* Append the regular file @name below @src_dfd to @out_fd (a carried-over log). */
int stdio_log_copy(int src_dfd, const char *name, int out_fd, struct berth_error *err);
