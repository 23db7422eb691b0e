/* libFuzzer target: archive_extract_confined() (images/archive.c, the checkpoint archive reader)
 * on arbitrary bytes, read through /proc/self/fd/<memfd> into a fresh temporary root per input.
 * It may refuse the input, but must fill the error consistently and never write outside the root. */
#include <stddef.h>
#include <stdint.h>

#include "berth/archive.h"
#include "berth/error.h"
#include "fuzz_tmproot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmproot t;
	tmproot_make(&t, "archive");
	int in = memfd_of(data, size);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", in);
	struct archive_limits lim = {.max_total = 1 << 20, .max_member = 1 << 18, .max_members = 256};
	struct berth_error err = {0};
	int r = archive_extract_confined(path, t.root_fd, &lim, &err);
	fuzz_check_error(r, &err);
	close(in);
	tmproot_check_and_remove(&t);
	return 0;
}
