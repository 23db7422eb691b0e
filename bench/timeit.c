/*
 * bench/timeit.c: timeit FILE COMMAND [ARGS...]
 *
 * Runs COMMAND (searched in PATH, stdio inherited) with posix_spawnp, waits for it, and appends
 * the wall time from just before the spawn to the end of the wait, in microseconds
 * (CLOCK_MONOTONIC), as one line to FILE. Exits with COMMAND's status (128+N for signal N, 127 if
 * it could not be started). bench/run.sh uses it so that the timer's own cost is a vfork+exec
 * from a small process, not a fork of bash (which costs about 1 ms on the benchmark machines).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	long long t0, t1;
	pid_t pid;
	int status, err;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: timeit FILE COMMAND [ARGS...]\n");
		return 2;
	}
	t0 = now_us();
	err = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
	if (err) {
		fprintf(stderr, "timeit: %s: %s\n", argv[2], strerror(err));
		return 127;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "timeit: waitpid: %s\n", strerror(errno));
			return 2;
		}
	}
	t1 = now_us();
	/* opened only now: COMMAND inherits no descriptor of ours */
	out = fopen(argv[1], "a");
	if (!out || fprintf(out, "%lld\n", t1 - t0) < 0 || fclose(out)) {
		fprintf(stderr, "timeit: %s: write failed\n", argv[1]);
		return 2;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
