/* term_filter (common/termsafe.c): what `berth logs` prints to a terminal of what a container
 * wrote. Text, UTF-8 and colours pass; every other control prints as text; sequences split
 * across reads are handled as whole ones; and for any input, split anywhere, the output holds no
 * byte a terminal acts on except complete SGR sequences (a property checked on random input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "berth/termsafe.h"

/* The filtered text of @in fed in pieces of @piece bytes (0: in one call), then ended. */
static char *filter_pieces(const char *in, size_t n, size_t piece, size_t *ret_len)
{
	struct term_filter f = {0};
	char *out = malloc(TERM_FILTER_OUT_MAX(n) + TERM_FILTER_OUT_MAX(0) + 1);
	assert_non_null(out);
	size_t len = 0, step = piece ? piece : (n ? n : 1);
	for (size_t at = 0; at < n; at += step) {
		size_t k = n - at < step ? n - at : step;
		size_t w = term_filter_feed(&f, in + at, k, out + len);
		assert_true(w <= TERM_FILTER_OUT_MAX(k));
		len += w;
	}
	len += term_filter_end(&f, out + len);
	out[len] = '\0';
	*ret_len = len;
	return out;
}

static void expect_filtered(const char *in, size_t n, const char *want)
{
	/* the same result whatever the reads' sizes */
	static const size_t pieces[] = {0, 1, 2, 3, 7};
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		size_t len;
		char *out = filter_pieces(in, n, pieces[i], &len);
		assert_string_equal(out, want);
		assert_int_equal(len, strlen(want));
		free(out);
	}
}

#define EXPECT(in, want) expect_filtered(in, sizeof(in) - 1, want)

static void test_text_passes(void **state)
{
	(void)state;
	EXPECT("hello world\n\tindented ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./\n",
	       "hello world\n\tindented ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./\n");
	EXPECT("", "");
}

static void test_utf8_passes(void **state)
{
	(void)state;
	/* 2, 3 and 4 byte characters, and the edges of the valid ranges */
	EXPECT(
	    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e \xc2\xa0 \xe0\xa0\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf",
	    "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e \xc2\xa0 \xe0\xa0\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf");
}

static void test_colours_pass(void **state)
{
	(void)state;
	EXPECT("\x1b[1;31mred\x1b[0m \x1b[m\x1b[38;5;208mx\x1b[39m\n",
	       "\x1b[1;31mred\x1b[0m \x1b[m\x1b[38;5;208mx\x1b[39m\n");
}

static void test_controls_print_as_text(void **state)
{
	(void)state;
	/* the window title (OSC 0), the clipboard (OSC 52), a cursor report that answers into the
	 * terminal's input (DSR), clear screen, a charset switch, CR that overwrites a line */
	EXPECT("\x1b]0;pwned\x07", "^[]0;pwned^G");
	EXPECT("\x1b]52;c;cm0gLXJmIH4=\x1b\\", "^[]52;c;cm0gLXJmIH4=^[\\");
	EXPECT("\x1b[6n\x1b[2J\x1b(0", "^[[6n^[[2J^[(0");
	EXPECT("rm -rf /\rls      \n", "rm -rf /^Mls      \n");
	EXPECT("a\bb\x7f\x01\x1f\f\v", "a^Hb^?^A^_^L^K");
	/* SGR with something else than digits and ';' is not SGR */
	EXPECT("\x1b[?1049h\x1b[1:2m", "^[[?1049h^[[1:2m");
	/* ESC ESC: the first is text, the second starts a sequence */
	EXPECT("\x1b\x1b[0m", "^[\x1b[0m");
}

static void test_c1_and_bad_utf8_escaped(void **state)
{
	(void)state;
	/* U+009B (CSI) as UTF-8, and as a bare 8-bit byte */
	EXPECT("\xc2\x9b"
	       "6n",
	       "\\xc2\\x9b6n");
	EXPECT("\x9b"
	       "6n",
	       "\\x9b6n");
	/* overlong '/', a surrogate, past U+10FFFF, bytes that never start a character */
	EXPECT("\xc0\xaf", "\\xc0\\xaf");
	EXPECT("\xed\xa0\x80", "\\xed\\xa0\\x80");
	EXPECT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	EXPECT("\xf5\xff\xfe", "\\xf5\\xff\\xfe");
	/* a character cut by another byte: the cut part escaped, the byte itself read anew */
	EXPECT("\xe2\x82"
	       "A",
	       "\\xe2\\x82A");
	EXPECT("\xe2\x1b[0m", "\\xe2\x1b[0m");
	EXPECT("\xe2\x82\xe2\x82\xac", "\\xe2\\x82\xe2\x82\xac");
}

static void test_unfinished_at_the_end(void **state)
{
	(void)state;
	EXPECT("x\x1b", "x^[");
	EXPECT("x\x1b[12;3", "x^[[12;3");
	EXPECT("x\xf0\x9d\x84", "x\\xf0\\x9d\\x84");
}

static void test_long_sgr_is_text(void **state)
{
	(void)state;
	char in[64], want[80];
	strcpy(in, "\x1b[");
	memset(in + 2, '1', 40);
	strcpy(in + 42, "m");
	strcpy(want, "^[[");
	memset(want + 3, '1', 40);
	strcpy(want + 43, "m");
	expect_filtered(in, strlen(in), want);
}

/* What a terminal may act on in @out: nothing but complete SGR sequences, valid UTF-8 without
 * C1 controls, text, \n and \t. */
static void assert_terminal_safe(const unsigned char *o, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char b = o[i];
		if (b == 0x1b) {
			size_t j = i + 1;
			assert_true(j < len && o[j] == '[');
			for (j++; j < len && ((o[j] >= '0' && o[j] <= '9') || o[j] == ';'); j++)
				;
			assert_true(j < len && o[j] == 'm');
			i = j + 1;
		} else if (b == '\n' || b == '\t' || (b >= 0x20 && b < 0x7f)) {
			i++;
		} else {
			assert_true(b >= 0xc2 && b <= 0xf4);
			size_t need = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
			assert_true(i + need < len);
			uint32_t cp = b & (0x3f >> need);
			for (size_t k = 1; k <= need; k++) {
				assert_true((o[i + k] & 0xc0) == 0x80);
				cp = cp << 6 | (o[i + k] & 0x3f);
			}
			static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
			assert_true(cp >= min[need] && cp <= 0x10ffff);
			assert_false(cp >= 0xd800 && cp <= 0xdfff);
			assert_false(cp >= 0x80 && cp <= 0x9f);
			i += need + 1;
		}
	}
}

static void test_random_input_is_terminal_safe(void **state)
{
	(void)state;
	/* bytes drawn mostly from the interesting ones, so that sequences and characters form */
	static const unsigned char pool[] = {0x1b, '[',  ']',  'm',  ';',  '0',  '9',  'a',  '\n',
					     '\r', 0x07, 0x7f, 0x80, 0x9b, 0xbf, 0xc2, 0xc3, 0xe2,
					     0xed, 0xf0, 0xf4, 0xff, 0x00, 0xa0, 0x8f};
	unsigned seed = 20261207;
	for (int round = 0; round < 3000; round++) {
		unsigned char in[96];
		size_t n = (size_t)(rand_r(&seed) % sizeof(in));
		for (size_t i = 0; i < n; i++)
			in[i] = rand_r(&seed) % 4 ? pool[rand_r(&seed) % sizeof(pool)]
						  : (unsigned char)rand_r(&seed);
		size_t len, len1;
		char *whole = filter_pieces((const char *)in, n, 0, &len);
		char *split = filter_pieces((const char *)in, n, 1 + rand_r(&seed) % 5, &len1);
		assert_terminal_safe((const unsigned char *)whole, len);
		assert_int_equal(len, len1);
		assert_memory_equal(whole, split, len);
		free(whole);
		free(split);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_passes),
	    cmocka_unit_test(test_utf8_passes),
	    cmocka_unit_test(test_colours_pass),
	    cmocka_unit_test(test_controls_print_as_text),
	    cmocka_unit_test(test_c1_and_bad_utf8_escaped),
	    cmocka_unit_test(test_unfinished_at_the_end),
	    cmocka_unit_test(test_long_sgr_is_text),
	    cmocka_unit_test(test_random_input_is_terminal_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
