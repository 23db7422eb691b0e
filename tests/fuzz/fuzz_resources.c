/* libFuzzer target: oci_resources_parse() on arbitrary bytes (`update --resources`). */
#include <stddef.h>
#include <stdint.h>

#include "berth/oci.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berth_error err = {0};
	struct oci_resources *res = NULL;
	int r;

	r = oci_resources_parse((const char *)data, size, &res, &err);
	fuzz_check_error(r, &err);
	if (r == 0)
		FUZZ_CHECK(res != NULL, "parsed resources");
	else
		FUZZ_CHECK(res == NULL, "the output is untouched on failure");
	oci_resources_free(res);
	return 0;
}
