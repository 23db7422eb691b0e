/* signal_parse() and signal_name(): the forms `berth kill` accepts and what it rejects. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "berth/util.h"

static int parsed(const char *s)
{
	int sig = -1;

	assert_int_equal(signal_parse(s, &sig), 0);
	return sig;
}

static void rejected(const char *s)
{
	int sig = 12345;

	assert_int_equal(signal_parse(s, &sig), -EINVAL);
	assert_int_equal(sig, 12345); /* untouched on failure */
}

static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(parsed("9"), SIGKILL);
	assert_int_equal(parsed("1"), 1);
	assert_int_equal(parsed("15"), SIGTERM);
	assert_int_equal(parsed("64"), 64);
	assert_int_equal(parsed("09"), 9);
}

static void test_names_any_case(void **state)
{
	(void)state;
	assert_int_equal(parsed("KILL"), SIGKILL);
	assert_int_equal(parsed("SIGKILL"), SIGKILL);
	assert_int_equal(parsed("sigkill"), SIGKILL);
	assert_int_equal(parsed("kill"), SIGKILL);
	assert_int_equal(parsed("SigTerm"), SIGTERM);
	assert_int_equal(parsed("HUP"), SIGHUP);
	assert_int_equal(parsed("USR1"), SIGUSR1);
	assert_int_equal(parsed("SIGWINCH"), SIGWINCH);
	assert_int_equal(parsed("IOT"), SIGABRT);
	assert_int_equal(parsed("CLD"), SIGCHLD);
}

static void test_realtime(void **state)
{
	(void)state;
	assert_int_equal(parsed("RTMIN"), SIGRTMIN);
	assert_int_equal(parsed("SIGRTMIN"), SIGRTMIN);
	assert_int_equal(parsed("RTMIN+3"), SIGRTMIN + 3);
	assert_int_equal(parsed("sigrtmin+0"), SIGRTMIN);
	assert_int_equal(parsed("RTMAX"), SIGRTMAX);
	assert_int_equal(parsed("SIGRTMAX-2"), SIGRTMAX - 2);
	assert_int_equal(parsed("rtmax-30"), SIGRTMAX - 30);
}

static void test_rejects(void **state)
{
	(void)state;
	rejected("0");
	rejected("65");
	rejected("-9");
	rejected("+9");
	rejected(" 9");
	rejected("9 ");
	rejected("9x");
	rejected("");
	rejected("SIG");
	rejected("sig");
	rejected("SIG9");
	rejected("KILLL");
	rejected("SIGSIGKILL");
	rejected("99999999999999999999999");
	rejected("4294967305"); /* 2^32 + 9: must not wrap to 9 */
	rejected("RTMIN+");
	rejected("RTMIN-1");
	rejected("RTMAX+1");
	rejected("RTMIN+99");
	rejected("RTMAX-99");
	rejected("RTMIN+3x");
	rejected("RTMIN+99999999999999999999");
	assert_int_equal(signal_parse(NULL, &(int){0}), -EINVAL);
}

static void test_names_back(void **state)
{
	(void)state;
	assert_string_equal(signal_name(SIGKILL), "SIGKILL");
	assert_string_equal(signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(signal_name(SIGABRT), "SIGABRT"); /* canonical, not the IOT alias */
	assert_string_equal(signal_name(SIGCHLD), "SIGCHLD");
	assert_string_equal(signal_name(SIGRTMIN), "SIGRTMIN");
	assert_string_equal(signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
	assert_string_equal(signal_name(SIGRTMAX), "SIGRTMAX");
	assert_string_equal(signal_name(SIGRTMAX - 2), "SIGRTMAX-2");
	assert_null(signal_name(0));
	assert_null(signal_name(65));
	assert_null(signal_name(-1));
}

/* Every name signal_name() produces parses back to its number. */
static void test_round_trip(void **state)
{
	int sig;

	(void)state;
	for (sig = 1; sig <= 64; sig++) {
		const char *name = signal_name(sig);
		if (!name)
			continue;
		assert_int_equal(parsed(name), sig);
		assert_int_equal(parsed(name + 3), sig);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers),    cmocka_unit_test(test_names_any_case),
	    cmocka_unit_test(test_realtime),   cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_names_back), cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
