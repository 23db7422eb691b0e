/* container_id_validate(): the id becomes a directory name under the state root. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "berth/error.h"
#include "berth/util.h"

static void accepted(const char *id)
{
	struct berth_error err = {0};

	assert_int_equal(container_id_validate(id, &err), 0);
	assert_int_equal(err.code, 0);
}

/* Rejected with -EINVAL, and the message contains @reason. */
static void rejected(const char *id, const char *reason)
{
	struct berth_error err = {0};

	assert_int_equal(container_id_validate(id, &err), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	if (!strstr(err.msg, reason))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, reason);
}

static void test_accepts(void **state)
{
	(void)state;
	accepted("a");
	accepted("c1");
	accepted("My_Container-1.2+3");
	accepted("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	accepted("a.");
	accepted("-x");
	accepted("a..b");
}

static void test_charset(void **state)
{
	(void)state;
	rejected("a/b", "only [A-Za-z0-9_.+-] allowed");
	rejected("../x", "must not start with '.'");
	rejected("a b", "only [A-Za-z0-9_.+-] allowed");
	rejected("a:b", "only [A-Za-z0-9_.+-] allowed");
	rejected("caf\xc3\xa9", "only [A-Za-z0-9_.+-] allowed");
	rejected("x\n", "only [A-Za-z0-9_.+-] allowed");
}

static void test_message_names_id(void **state)
{
	struct berth_error err = {0};

	(void)state;
	container_id_validate("a/b", &err);
	assert_string_equal(err.msg, "invalid container id \"a/b\": only [A-Za-z0-9_.+-] allowed");
	/* Control characters do not reach the terminal or the log. */
	container_id_validate("a\x1b[2Jb", &err);
	assert_string_equal(err.msg, "invalid container id \"a?[2Jb\": only [A-Za-z0-9_.+-] allowed");
}

static void test_dots(void **state)
{
	(void)state;
	rejected(".", "must not start with '.'");
	rejected("..", "must not start with '.'");
	rejected(".hidden", "must not start with '.'");
}

static void test_length(void **state)
{
	char id[1026];
	struct berth_error err = {0};

	(void)state;
	rejected("", "must be 1-1024 characters");
	rejected(NULL, "must be 1-1024 characters");
	memset(id, 'a', 1024);
	id[1024] = '\0';
	accepted(id);
	id[1024] = 'a';
	id[1025] = '\0';
	rejected(id, "must be 1-1024 characters");
	/* A long id is cut in the message so the reason still fits. */
	container_id_validate(id, &err);
	assert_true(strlen(err.msg) < 200);
	assert_non_null(strstr(err.msg, "...\": must be"));
}

static void test_null_err(void **state)
{
	(void)state;
	assert_int_equal(container_id_validate("a/b", NULL), -EINVAL);
	assert_int_equal(container_id_validate("ok", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),          cmocka_unit_test(test_charset),
	    cmocka_unit_test(test_message_names_id), cmocka_unit_test(test_dots),
	    cmocka_unit_test(test_length),           cmocka_unit_test(test_null_err),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
