/* Bounds on the waits of one berth command for another: no command waits forever on a lock that
 * another berth holds (e.g. an exec whose process sits in a frozen cgroup). */
#include <errno.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>

#include "lifecycle.h"

unsigned int berth_wait_limit_ms(void)
{
	const char *s = getenv("BERTH_LOCK_TIMEOUT");
	char *end = NULL;
	unsigned long v;

	if (!s || !*s)
		return BERTH_WAIT_LIMIT_DEFAULT_MS;
	v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > 3600)
		return BERTH_WAIT_LIMIT_DEFAULT_MS;
	return (unsigned int)v * 1000u;
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

int flock_bounded(int fd, unsigned int limit_ms)
{
	unsigned long long deadline = now_ms() + limit_ms;
	long delay_us = 200;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = delay_us * 1000};
		nanosleep(&ts, NULL);
		if (delay_us < 50000)
			delay_us *= 2;
	}
}
