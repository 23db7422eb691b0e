/* libFuzzer target: oci_process_parse() on arbitrary bytes (`exec --process` process.json). */
#include <stddef.h>
#include <stdint.h>

#include "berth/oci.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berth_error err = {0};
	struct oci_process *process = NULL;
	int r;

	r = oci_process_parse((const char *)data, size, &process, &err);
	fuzz_check_error(r, &err);
	if (r == 0) {
		FUZZ_CHECK(process != NULL, "a parsed process");
		FUZZ_CHECK(process->args && process->args[0], "args is required and non-empty");
	} else {
		FUZZ_CHECK(process == NULL, "the output is untouched on failure");
	}
	oci_process_free(process);
	return 0;
}
