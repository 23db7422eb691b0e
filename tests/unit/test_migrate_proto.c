/* The migration channel (runtime/migrate_proto.c) and what `berth migrate` refuses before it
 * touches anything: the paths a receiver accepts, lines and payloads over a socket pair, the
 * answers OK/ERR, the end of the stream, and a bad destination or --lazy with --max-rounds. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "berth/runtime.h"
#include "runtime/migrate_proto.h"

static void test_rel_ok(void **state)
{
	(void)state;
	assert_true(mig_rel_ok("final.tar"));
	assert_true(mig_rel_ok("pre1/pages-1.img"));
	/* no dot-names: the receiver keeps its own markers (.image, .restoring, .plain) there */
	assert_false(mig_rel_ok("pre1/.x"));
	assert_false(mig_rel_ok(".image"));
	assert_false(mig_rel_ok(".restoring"));
	assert_false(mig_rel_ok(""));
	assert_false(mig_rel_ok(NULL));
	assert_false(mig_rel_ok("/etc/passwd"));
	assert_false(mig_rel_ok(".."));
	assert_false(mig_rel_ok("../x"));
	assert_false(mig_rel_ok("pre1/.."));
	assert_false(mig_rel_ok("pre1/../../x"));
	assert_false(mig_rel_ok("."));
	assert_false(mig_rel_ok("a//b"));
	assert_false(mig_rel_ok("a/b/c"));
	assert_false(mig_rel_ok("a/"));
	assert_false(mig_rel_ok("a b"));
	assert_false(mig_rel_ok("a\nFILE"));
}

static void test_lines_and_payload(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct mig_chan a, b;
	mig_chan_init(&a, sv[0], sv[0]);
	mig_chan_init(&b, sv[1], sv[1]);
	char path[] = "/tmp/berth-migproto.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello pages", 11), 11);
	close(fd);
	struct berth_error err = {0};
	assert_int_equal(mig_send(&a, "HELLO %d", 1), 0);
	assert_int_equal(mig_send_file(&a, path, "pre1/pages-1.img", &err), 0);
	assert_int_equal(mig_send(&a, "OK 1"), 0);
	assert_int_equal(mig_send(&a, "ERR the target says no"), 0);
	char line[MIG_LINE_MAX], rest[16];
	assert_int_equal(mig_recv(&b, line, sizeof(line)), 0);
	assert_string_equal(line, "HELLO 1");
	assert_int_equal(mig_recv(&b, line, sizeof(line)), 0);
	assert_string_equal(line, "FILE 600 11 pre1/pages-1.img");
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(mig_recv_payload(&b, p[1], 11), 0);
	char got[16] = "";
	assert_int_equal(read(p[0], got, sizeof(got)), 11);
	assert_memory_equal(got, "hello pages", 11);
	assert_int_equal(mig_expect_ok(&b, rest, sizeof(rest), &err), 0);
	assert_string_equal(rest, "1");
	assert_int_equal(mig_expect_ok(&b, rest, sizeof(rest), &err), -EIO);
	assert_non_null(strstr(err.msg, "the target says no"));
	assert_true(a.sent > 11 && b.received == a.sent);
	close(sv[0]); /* the end of the stream */
	assert_int_equal(mig_recv(&b, line, sizeof(line)), -EPIPE);
	assert_int_equal(mig_expect_ok(&b, NULL, 0, &err), -EPIPE);
	assert_non_null(strstr(err.msg, "closed the channel"));
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	unlink(path);
}

static void test_long_line(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct mig_chan b;
	mig_chan_init(&b, sv[1], sv[1]);
	char big[100];
	memset(big, 'x', sizeof(big));
	assert_int_equal(write(sv[0], big, sizeof(big)), (ssize_t)sizeof(big));
	char line[32];
	assert_int_equal(mig_recv(&b, line, sizeof(line)), -EPROTO);
	close(sv[0]);
	close(sv[1]);
}

static void test_migrate_refuses_early(void **state)
{
	(void)state;
	struct berth_context ctx = {.root = "/nonexistent/berth-test"};
	struct berth_error err = {0};
	struct berth_migrate_opts o = {.id = "c1", .destination = "ftp://host"};
	assert_int_equal(berth_container_migrate(&ctx, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not ssh://[user@]host[:port]"));
	o.destination = "ssh://host:99999";
	assert_int_equal(berth_container_migrate(&ctx, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad port"));
	o.destination = "ssh://";
	assert_int_equal(berth_container_migrate(&ctx, &o, &err), -EINVAL);
	o.destination = "ssh://-oProxyCommand=x";
	assert_int_equal(berth_container_migrate(&ctx, &o, &err), -EINVAL);
	o.destination = "ssh://host";
	o.lazy = true;
	o.max_rounds = 2; /* post-copy has no pre-copy rounds */
	assert_int_equal(berth_container_migrate(&ctx, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--lazy"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rel_ok),
	    cmocka_unit_test(test_lines_and_payload),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_migrate_refuses_early),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
