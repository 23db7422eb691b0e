/* Logging. The only global state of library code: the destination and format. */
#pragma once

#include <stdbool.h>

enum berth_log_level { BERTH_LOG_ERROR = 0, BERTH_LOG_WARN, BERTH_LOG_INFO, BERTH_LOG_DEBUG };
enum berth_log_format { BERTH_LOG_TEXT = 0, BERTH_LOG_JSON };

/* Open @path for appending (NULL: stderr). Returns 0 or -errno. */
int berth_log_open(const char *path, enum berth_log_format fmt, enum berth_log_level level);
void berth_log_close(void);
bool berth_log_enabled(enum berth_log_level level);

void berth_log(enum berth_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) berth_log(BERTH_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) berth_log(BERTH_LOG_WARN, __VA_ARGS__)
#define log_info(...) berth_log(BERTH_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                       \
	do {                                                                                                 \
		if (berth_log_enabled(BERTH_LOG_DEBUG))                                                      \
			berth_log(BERTH_LOG_DEBUG, __VA_ARGS__);                                             \
	} while (0)
