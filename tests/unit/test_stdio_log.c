/* stdio_log_copy (runtime/stdio_log.c): the copy of a container's log that a checkpoint carries in
 * its images (berth-log) and that a restore appends to the new log. The container writes the log
 * and may ftruncate it to any size (a sparse file); the images may come from an archive made
 * elsewhere: a hole is not copied out as NUL bytes, and a berth-log that is a FIFO is refused at
 * once instead of blocking the restore. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "runtime/stdio_log.h"

static char dir[] = "/tmp/berth-unit-stdio-log.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("stdio_log_copy blocked");
}

/* A log of 256 MiB, of which 10 bytes were written: the copy holds the bytes, not the hole. */
static void test_sparse_log(void **state)
{
	(void)state;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	int in = openat(dfd, "sparse", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(in >= 0);
	assert_int_equal(write(in, "first\n", 6), 6);
	assert_int_equal(ftruncate(in, (off_t)256 << 20), 0);
	assert_int_equal(pwrite(in, "end\n", 4, (off_t)256 << 20), 4);
	close(in);
	int out = openat(dfd, "copy", O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	struct berth_error err = {0};
	assert_int_equal(stdio_log_copy(dfd, "sparse", out, &err), 0);
	struct stat st;
	assert_int_equal(fstat(out, &st), 0);
	/* holes are found by file-system block: at most one block of NULs around the first line */
	assert_true(st.st_size >= 10 && st.st_size <= 10 + (1 << 20));
	char buf[1 << 16];
	ssize_t n = pread(out, buf, sizeof(buf), 0);
	assert_true(n >= 6);
	assert_memory_equal(buf, "first\n", 6);
	assert_int_equal(pread(out, buf, 4, st.st_size - 4), 4);
	assert_memory_equal(buf, "end\n", 4);
	close(out);
	close(dfd);
}

/* A berth-log that is a FIFO (a crafted image dir or archive): refused, without blocking. */
static void test_fifo_refused(void **state)
{
	(void)state;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(mkfifoat(dfd, "berth-log", 0600), 0);
	int out = openat(dfd, "copy2", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	struct berth_error err = {0};
	signal(SIGALRM, on_alarm);
	alarm(5);
	int r = stdio_log_copy(dfd, "berth-log", out, &err);
	alarm(0);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	close(out);
	close(dfd);
}

/* A symlink to a host file is not followed. */
static void test_symlink_refused(void **state)
{
	(void)state;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(symlinkat("/etc/passwd", dfd, "link-log"), 0);
	int out = openat(dfd, "copy3", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	struct berth_error err = {0};
	assert_int_equal(stdio_log_copy(dfd, "link-log", out, &err), -ELOOP);
	struct stat st;
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(out);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sparse_log),
	    cmocka_unit_test(test_fifo_refused),
	    cmocka_unit_test(test_symlink_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
