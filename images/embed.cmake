# cmake -DIN=FILE -DOUT=FILE.c -DNAME=symbol -P embed.cmake: FILE's bytes as a NUL-terminated C string
# returned by `const char *NAME(size_t *ret_len)`, so that data kept as its own file in the
# repository (images/seccomp-default.json) is part of the binary.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp" "/* Generated from ${IN} by images/embed.cmake: do not edit. */
#include <stddef.h>

const char *${NAME}(size_t *ret_len);

static const char data[] = {
${bytes}0};

const char *${NAME}(size_t *ret_len)
{
	if (ret_len)
		*ret_len = sizeof(data) - 1;
	return data;
}
")
file(RENAME "${OUT}.tmp" "${OUT}")
