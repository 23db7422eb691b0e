/* Logging: text lines or containerd-readable JSON records, to stderr or a --log file.
 * The destination is the only global state of the library code. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "berth/log.h"
#include "berth/util.h"

static struct {
	int fd;
	bool own_fd;
	enum berth_log_format format;
	enum berth_log_level level;
} log_state = {.fd = STDERR_FILENO, .format = BERTH_LOG_TEXT, .level = BERTH_LOG_WARN};

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int berth_log_open(const char *path, enum berth_log_format fmt, enum berth_log_level level)
{
	berth_log_close();
	log_state.format = fmt;
	log_state.level = level;
	if (!path || !*path)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	log_state.fd = fd;
	log_state.own_fd = true;
	return 0;
}

void berth_log_close(void)
{
	if (log_state.own_fd)
		close(log_state.fd);
	log_state.fd = STDERR_FILENO;
	log_state.own_fd = false;
}

bool berth_log_enabled(enum berth_log_level level)
{
	return level <= log_state.level;
}

/* JSON string escaping for the message; common/ cannot use yajl. */
static size_t json_escape(const char *in, char *out, size_t size)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 7 < size; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (*p < 0x20) {
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
	return o;
}

void berth_log(enum berth_log_level level, const char *fmt, ...)
{
	if (!berth_log_enabled(level))
		return;
	char msg[1024], line[2600], now[48];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rfc3339_now(now, sizeof(now));

	int n;
	if (log_state.format == BERTH_LOG_JSON) {
		char esc[2200];
		json_escape(msg, esc, sizeof(esc));
		n = snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
			     level_names[level], esc, now);
	} else {
		n = snprintf(line, sizeof(line), "%s %s: %s\n", now, level_names[level], msg);
	}
	if (n > 0)
		(void)write_all(log_state.fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
