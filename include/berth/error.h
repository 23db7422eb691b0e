/* The error record every module entry point fills: a negative errno plus a sentence a user
 * can act on. Fixed size, so nothing is allocated and it crosses the sync socket as bytes. */
#pragma once

#include <stddef.h>

#define BERTH_ERROR_MSG_MAX 512

struct berth_error {
	int code;                      /* -errno, or 0 when no error is recorded */
	char msg[BERTH_ERROR_MSG_MAX]; /* NUL-terminated; empty when code == 0 */
};

/* Record an error and return @code (a negative errno) so callers can write
 * `return berth_error_set(err, -ENOENT, "...")`. @err may be NULL. */
int berth_error_set(struct berth_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like berth_error_set, with ": <strerror(-code)>" appended. */
int berth_error_setf_errno(struct berth_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend context ("create 'x': ") to an already recorded message. Returns err->code, or -EIO
 * when @err is NULL or holds no error, so it is always a failure value. */
int berth_error_prefix(struct berth_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void berth_error_clear(struct berth_error *err);
