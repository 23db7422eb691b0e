# Turn the built trampoline (IN) into a C source (OUT) defining its bytes, so berth carries it with
# no file to find at run time: cmake -DIN=... -DOUT=... -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* Generated from runtime/trampoline/trampoline.c by embed.cmake: do not edit. */\n"
  "#include <stddef.h>\n"
  "const unsigned char berth_trampoline_image[${size}] __attribute__((aligned(16))) = {\n${bytes}\n};\n"
  "const size_t berth_trampoline_size = ${size};\n")
