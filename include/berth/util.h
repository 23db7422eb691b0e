/* libc-only helpers shared by every module: files, descriptors, /proc, strings, signals, ids. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berth_error;

/* ---- files ---- */

/* Read a whole file (relative to @dirfd, or absolute) into a NUL-terminated buffer of at most
 * @max bytes. On success *ret_buf (malloc'd, caller frees) and *ret_len are set. -EFBIG if larger. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len);
/* The same from the current offset of an open descriptor (not closed). */
int read_fd_all(int fd, size_t max, char **ret_buf, size_t *ret_len);

/* Files berth trusts (its state root, state files, seccomp cache): owned by the caller's euid and
 * not writable by group or others, else -EPERM with "<what> '<path>[/<name>]': <reason>" in @err.
 * @name may be NULL. fd_check_trusted fstats @fd first. */
struct stat;
int stat_check_trusted(const struct stat *st, const char *what, const char *path, const char *name,
		       struct berth_error *err);
int fd_check_trusted(int fd, const char *what, const char *path, const char *name, struct berth_error *err);

/* Write @len bytes to @path (O_WRONLY|O_TRUNC, no O_CREAT unless @create). Short writes are retried. */
int write_file_at(int dirfd, const char *path, const void *buf, size_t len, bool create, mode_t mode);

/* Write to "<path>.tmp" then rename() over @path, both relative to @dirfd. */
int write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode);

/* write() all of @buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
/* read() until @len bytes or EOF; returns bytes read or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);

/* mkdir -p relative to @dirfd (absolute paths ignore it). Existing directories are fine. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode);

/* Remove a directory tree below @dirfd/@name without crossing mount points or following symlinks. */
int rm_rf_at(int dirfd, const char *name);

/* ---- descriptors ---- */

/* Send @len bytes (at least 1) over the connected unix socket @sock with @fd attached
 * (SCM_RIGHTS) to the first sendmsg; the rest of the data follows. 0 or -errno. */
int unix_send_fd(int sock, int fd, const void *data, size_t len);

/* Mark every descriptor >= @from close-on-exec. */
int fds_cloexec_from(int from);

/* ---- /proc ---- */

/* Start time (field 22 of /proc/<pid>/stat, clock ticks since boot). -ESRCH if the pid is gone. */
int proc_start_time(pid_t pid, uint64_t *ret_start);
/* Start time and the one-letter state ('R', 'S', 'Z', ...) of @pid. Either output may be NULL. */
int proc_stat_info(pid_t pid, uint64_t *ret_start, char *ret_state);

/* ---- strings ---- */

bool str_has_prefix(const char *s, const char *prefix);
/* Parse a base-10 integer in [min, max]; -EINVAL on junk, -ERANGE out of range. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* Current UTC time as RFC 3339 with nanoseconds (buf of at least 40 bytes). */
void rfc3339_now(char *buf, size_t size);
/* A random number for unique temporary names (not for secrets): getrandom(2), or, should it
 * fail, the clock, the pid and a counter, which are unique enough for a name tried with O_EXCL. */
uint64_t random_u64(void);

/* ---- signals ---- */

/* "9", "KILL", "SIGKILL", "sigkill", "RTMIN+3" -> signal number. -EINVAL for anything else. */
int signal_parse(const char *s, int *ret_sig);
/* "SIGKILL" for 9; NULL for unknown. */
const char *signal_name(int sig);

/* ---- container ids ---- */

/* [A-Za-z0-9_.+-]{1,1024}, no leading '.'. Fills @err naming the reason. */
int container_id_validate(const char *id, struct berth_error *err);

/* ---- fault injection (tests only) ---- */

/* If the environment variable BERTH_FAULT equals @phase, _exit(99) at once (no cleanup, as a
 * crash would). BERTH_FAULT is read on the first call; unset, this is a cheap no-op. */
void fault_point(const char *phase);
