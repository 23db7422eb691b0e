/* ckpt_stdio_restore (runtime/ckpt_stdio.c) on a crafted checkpoint: the berth-stdio record and
 * the berth-log copy come from the images, which an archive (restore --import) or a migration's
 * source supplies. What restore opens for them is fixed by the kind, never by the record's text:
 * /dev/null, the log in the new state dir, or restore's own descriptors; descriptor numbers
 * outside 0..2 are ignored; a berth-log that is a symlink or a FIFO is refused without following
 * or waiting; a file stream whose recorded mode differs from restore's own is refused naming the
 * stream. (CRIU itself reads the other images: those are trusted as CRIU trusts them.) */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "runtime/ckpt_internal.h"

static char base[] = "/tmp/berth-unit-ckpt-stdio.XXXXXX";
static char images[128], state[128];
static int state_fd = -1;

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **st)
{
	(void)st;
	char cmd[512];
	static bool made;
	if (!made && !mkdtemp(base))
		return -1;
	made = true;
	if (state_fd >= 0)
		close(state_fd);
	snprintf(images, sizeof(images), "%s/images", base);
	snprintf(state, sizeof(state), "%s/state", base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", images, state);
	if (system(cmd) != 0 || mkdir(images, 0700) < 0 || mkdir(state, 0700) < 0)
		return -1;
	state_fd = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return state_fd >= 0 ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[512];
	close(state_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("ckpt_stdio_restore blocked");
}

/* Keys that look like paths, numbers outside 0..2: only the kinds decide what is opened. */
static void test_record_text_opens_nothing_named(void **st)
{
	(void)st;
	write_text(images, "berth-stdio",
		   "-1 /etc/shadow log 0100600\n7 /etc/shadow log 0100600\n99999999999 x null\n"
		   "0 ../../../etc/passwd null 020666\n1 file[1:2] log 0100600\n2 file[1:2] log 0100600\n");
	write_text(images, "berth-log", "carried\n");
	struct stdio_keys k = {0};
	struct ckpt_opts o = {0};
	struct berth_error err = {0};
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int caller[3] = {devnull, devnull, devnull};
	assert_int_equal(ckpt_stdio_restore(images, state_fd, caller, &k, &o, &err), 0);
	/* stdin: this host's /dev/null, opened here; stdout and stderr: one log, one descriptor */
	assert_int_equal(o.n_inherit_fds, 2);
	struct stat s;
	assert_int_equal(fstat(o.inherit_fds[0].fd, &s), 0);
	assert_true(S_ISCHR(s.st_mode) && s.st_rdev == makedev(1, 3));
	assert_string_equal(o.inherit_fds[0].key, "../../../etc/passwd"); /* a CRIU key, no path */
	assert_int_equal(fstat(o.inherit_fds[1].fd, &s), 0);
	struct stat log;
	assert_int_equal(fstatat(state_fd, "container.log", &log, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(s.st_ino == log.st_ino && s.st_dev == log.st_dev);
	assert_int_equal(log.st_size, 8); /* the carried copy */
	assert_int_equal(log.st_mode & 07777, 0600);
	ckpt_stdio_release(&k);
	close(devnull);
}

static void expect_log_refused(const char *what, int expect)
{
	write_text(images, "berth-stdio", "1 file[1:2] log 0100600\n");
	struct stdio_keys k = {0};
	struct ckpt_opts o = {0};
	struct berth_error err = {0};
	signal(SIGALRM, on_alarm);
	alarm(5);
	int r = ckpt_stdio_restore(images, state_fd, NULL, &k, &o, &err);
	alarm(0);
	ckpt_stdio_release(&k);
	if (r != expect)
		fail_msg("%s: expected %d, got %d (%s)", what, expect, r, err.msg);
	assert_non_null(strstr(err.msg, "restore the container's log"));
	struct stat s;
	assert_int_equal(fstatat(state_fd, "container.log", &s, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(s.st_size, 0); /* nothing of the target copied */
}

static void test_log_symlink_refused(void **st)
{
	(void)st;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/berth-log", images);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	expect_log_refused("a symlink", -ELOOP);
}

static void test_log_fifo_refused(void **st)
{
	(void)st;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/berth-log", images);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_log_refused("a FIFO", -EINVAL);
}

/* A file stream recorded as a regular file: restore's own /dev/null cannot stand in. */
static void test_file_mode_checked(void **st)
{
	(void)st;
	write_text(images, "berth-stdio", "2 file[5:6] file 0100644\n");
	struct stdio_keys k = {0};
	struct ckpt_opts o = {0};
	struct berth_error err = {0};
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int caller[3] = {devnull, devnull, devnull};
	assert_int_equal(ckpt_stdio_restore(images, state_fd, caller, &k, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "stderr"));
	assert_int_equal(o.n_inherit_fds, 0);
	ckpt_stdio_release(&k);
	close(devnull);
}

/* A pipe at the dump: restore's own stdout stands in (a pipe, /dev/null), but a terminal is
 * refused, so a container that put a pipe of its own on its stdio cannot get the terminal of
 * whoever runs restore. */
static void test_pipe_not_a_terminal(void **st)
{
	(void)st;
	write_text(images, "berth-stdio", "1 pipe:[4242] pipe 010600\n");
	struct stdio_keys k = {0};
	struct ckpt_opts o = {0};
	struct berth_error err = {0};
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	int tty = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(tty >= 0);
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int caller[3] = {devnull, tty, devnull};
	assert_int_equal(ckpt_stdio_restore(images, state_fd, caller, &k, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "stdout"));
	assert_non_null(strstr(err.msg, "terminal"));
	assert_int_equal(o.n_inherit_fds, 0);
	ckpt_stdio_release(&k);

	for (int i = 0; i < 2; i++) {
		int p[2];
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		caller[1] = i == 0 ? p[1] : devnull; /* a pipe, then /dev/null: both stand in */
		memset(&k, 0, sizeof(k));
		memset(&o, 0, sizeof(o));
		assert_int_equal(ckpt_stdio_restore(images, state_fd, caller, &k, &o, &err), 0);
		assert_int_equal(o.n_inherit_fds, 1);
		assert_int_equal(o.inherit_fds[0].fd, caller[1]);
		assert_string_equal(o.inherit_fds[0].key, "pipe:[4242]");
		ckpt_stdio_release(&k);
		close(p[0]);
		close(p[1]);
	}
	close(tty);
	close(master);
	close(devnull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_record_text_opens_nothing_named, setup),
	    cmocka_unit_test_setup(test_log_symlink_refused, setup),
	    cmocka_unit_test_setup(test_log_fifo_refused, setup),
	    cmocka_unit_test_setup(test_file_mode_checked, setup),
	    cmocka_unit_test_setup(test_pipe_not_a_terminal, setup),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
