/* common/sha256.c against the FIPS 180-4 example vectors and padding edge lengths, whole and in
 * pieces of every size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "berth/sha256.h"

static void hex_of(const void *data, size_t len, char out[BERTH_SHA256_HEX_SIZE])
{
	uint8_t d[BERTH_SHA256_SIZE];
	berth_sha256(data, len, d);
	berth_sha256_hex(d, out);
}

static void expect(const char *msg, size_t len, const char *want)
{
	char got[BERTH_SHA256_HEX_SIZE];
	hex_of(msg, len, got);
	assert_string_equal(got, want);
}

static void test_fips_vectors(void **state)
{
	(void)state;
	expect("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	expect(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqk"
			   "lmnopqrlmnopqrsmn"
			   "opqrstnopqrstu";
	expect(m896, strlen(m896), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
	(void)state;
	/* Fed in 1000-byte slices: exercises the buffered path across block boundaries. */
	char chunk[1000];
	memset(chunk, 'a', sizeof(chunk));
	struct berth_sha256 c;
	uint8_t d[BERTH_SHA256_SIZE];
	char hex[BERTH_SHA256_HEX_SIZE];
	berth_sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		berth_sha256_update(&c, chunk, sizeof(chunk));
	berth_sha256_final(&c, d);
	berth_sha256_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* The lengths around the 55/56/64-byte padding boundaries. */
static void test_padding_edges(void **state)
{
	(void)state;
	static const struct {
		size_t n;
		const char *hex;
	} v[] = {
	    {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
	    {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
	    {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
	    {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
	    {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
	    {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
	    {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
	};
	char buf[128];
	memset(buf, 'x', sizeof(buf));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect(buf, v[i].n, v[i].hex);
}

/* Any split of the input gives the one-shot digest. */
static void test_incremental_splits(void **state)
{
	(void)state;
	uint8_t data[768];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	char want[BERTH_SHA256_HEX_SIZE];
	hex_of(data, sizeof(data), want);
	assert_string_equal(want, "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363");
	for (size_t step = 1; step <= 130; step++) {
		struct berth_sha256 c;
		uint8_t d[BERTH_SHA256_SIZE];
		char got[BERTH_SHA256_HEX_SIZE];
		berth_sha256_init(&c);
		for (size_t off = 0; off < sizeof(data); off += step)
			berth_sha256_update(&c, data + off,
					    off + step > sizeof(data) ? sizeof(data) - off : step);
		berth_sha256_final(&c, d);
		berth_sha256_hex(d, got);
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fips_vectors),
	    cmocka_unit_test(test_million_a),
	    cmocka_unit_test(test_padding_edges),
	    cmocka_unit_test(test_incremental_splits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
