/* The berth_error record: fixed-size, allocation-free, safe to copy across a socket. */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "berth/error.h"

__attribute__((format(printf, 4, 0))) static int vset(struct berth_error *err, int code, bool with_errno,
						      const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(-code));
	return code;
}

int berth_error_set(struct berth_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, false, fmt, ap);
	va_end(ap);
	return code;
}

int berth_error_setf_errno(struct berth_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(err, code, true, fmt, ap);
	va_end(ap);
	return code;
}

int berth_error_prefix(struct berth_error *err, const char *fmt, ...)
{
	/* Callers write `return berth_error_prefix(err, ...)` on failure paths: never return 0
	 * there, also when nobody asked for the message (err == NULL) or none was recorded. */
	if (!err)
		return -EIO;
	char prefix[BERTH_ERROR_MSG_MAX];
	char old[BERTH_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* Truncation is acceptable: the message stays NUL-terminated and keeps its start. */
	size_t n = strnlen(prefix, sizeof(err->msg) - 1);
	memcpy(err->msg, prefix, n);
	if (n + 2 < sizeof(err->msg)) {
		memcpy(err->msg + n, ": ", 2);
		n += 2;
	}
	size_t rest = strnlen(old, sizeof(old));
	if (rest > sizeof(err->msg) - 1 - n)
		rest = sizeof(err->msg) - 1 - n;
	memcpy(err->msg + n, old, rest);
	err->msg[n + rest] = '\0';
	return err->code < 0 ? err->code : -EIO;
}

void berth_error_clear(struct berth_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
