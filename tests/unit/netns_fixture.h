/* Shared by the netns unit tests: run a check in a forked child inside a network namespace of its
 * own (unshare), so that nothing the check does reaches the host's interfaces. Include after
 * cmocka and the system headers (fork, pipe, unshare, waitpid). */
#pragma once

#define MSG_MAX 700

/* A check run in the child: returns 0, or -1 with a description in @msg. */
typedef int (*netns_check)(char *msg, size_t size);

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			snprintf(msg, size, __VA_ARGS__);                                                    \
			return -1;                                                                           \
		}                                                                                            \
	} while (0)

/* Fork, unshare the network namespace in the child, run @fn there and report its verdict. */
static void run_in_new_netns(netns_check fn)
{
	char msg[MSG_MAX] = "";
	int p[2], status = 0;

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		int r = unshare(CLONE_NEWNET);
		if (r < 0)
			snprintf(msg, sizeof(msg), "unshare(CLONE_NEWNET): %s", strerror(errno));
		else
			r = fn(msg, sizeof(msg));
		if (write(p[1], msg, strlen(msg)) < 0)
			_exit(3);
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	ssize_t n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	msg[n > 0 ? n : 0] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("in the new network namespace: %s (status 0x%x)", msg[0] ? msg : "child died",
			 status);
}

/* 77 (skip, with a line saying why) when @what cannot run here: not root, or no network namespace
 * can be made (root alone is not enough inside some sandboxes); 0 otherwise. */
static int netns_fixture_skip(const char *what)
{
	int status = 0;
	if (geteuid() != 0) {
		printf("skipped: %s needs root\n", what);
		return 77;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("skipped: cannot create a network namespace here\n");
		return 77;
	}
	return 0;
}
