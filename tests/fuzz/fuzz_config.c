/* libFuzzer target: oci_config_parse() on arbitrary bytes (config.json). */
#include <stddef.h>
#include <stdint.h>

#include "berth/oci.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berth_error err = {0};
	struct oci_config *config = NULL;
	int r;

	r = oci_config_parse((const char *)data, size, &config, &err);
	fuzz_check_error(r, &err);
	if (r == 0) {
		FUZZ_CHECK(config != NULL, "a parsed config");
		FUZZ_CHECK(config->oci_version != NULL, "ociVersion is required");
		/* Exercise the lookups on whatever was parsed. */
		for (int t = 0; t < OCI_NS_MAX; t++)
			(void)oci_config_namespace(config, (enum oci_ns_type)t);
		(void)oci_config_annotation(config, "org.opencontainers.image.os");
	} else {
		FUZZ_CHECK(config == NULL, "the output is untouched on failure");
	}
	oci_config_free(config);
	return 0;
}
