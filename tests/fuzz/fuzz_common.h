/* Shared by the libFuzzer targets in tests/fuzz: checks that hold for every parser's result. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/error.h"

/* Abort (libFuzzer reports a crash) with a message: the invariant @what did not hold. */
#define FUZZ_CHECK(cond, what)                                                                               \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", what, __FILE__, __LINE__);    \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* A parser that returned @r must have filled @err consistently: on failure a negative errno,
 * the same code in the record and a non-empty, NUL-terminated sentence; on success nothing. */
static inline void fuzz_check_error(int r, const struct berth_error *err)
{
	if (r < 0) {
		FUZZ_CHECK(err->code == r, "the error record holds the returned code");
		FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL, "the message is NUL-terminated");
		FUZZ_CHECK(err->msg[0] != '\0', "a failure comes with a message");
	} else {
		FUZZ_CHECK(r == 0, "success is 0");
		FUZZ_CHECK(err->code == 0, "no error recorded on success");
	}
}
