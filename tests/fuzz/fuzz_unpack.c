/* libFuzzer target: image_layer_unpack() (images/unpack.c) on arbitrary bytes as a layer blob
 * (a tar, possibly compressed), read from a memfd into a fresh temporary root per input. The
 * unpacker may refuse the input, but must fill the error consistently and never write outside
 * the root. */
#include <stddef.h>
#include <stdint.h>

#include "berth/error.h"
#include "berth/images.h"
#include "fuzz_tmproot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmproot t;
	tmproot_make(&t, "unpack");
	int blob = memfd_of(data, size);
	/* Small bounds keep each input fast; no_chown: no device nodes on the host's /tmp. */
	struct image_unpack_opts o = {
	    .mode = IMAGE_UNPACK_APPLY,
	    .no_chown = true,
	    .max_entries = 256,
	    .max_bytes = 1 << 20,
	    .max_name = 1024,
	    .expect_size = -1,
	};
	struct berth_error err = {0};
	struct image_unpack_result res;
	int r = image_layer_unpack(t.root_fd, blob, &o, &res, &err);
	fuzz_check_error(r, &err);
	if (r == 0)
		FUZZ_CHECK(res.entries <= o.max_entries, "the entry bound holds");
	close(blob);
	tmproot_check_and_remove(&t);
	return 0;
}
