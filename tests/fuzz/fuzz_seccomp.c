/* libFuzzer target: linux.seccomp translation. The input is a config.json (or just a seccomp
 * object: it is tried as {"ociVersion":..,"root":..,"linux":{"seccomp": <input>}} when it does not
 * parse as a config); whatever the parser accepts is compiled with seccomp_compile(), which runs
 * the checks beyond the parser and libseccomp's translation to BPF. Nothing is loaded.
 *
 * libseccomp is slow on large profiles (seconds for thousands of rules) and is not what is being
 * fuzzed, so profiles beyond a few dozen rules are only parsed. */
#include <stddef.h>
#include <stdint.h>

#include "berth/oci.h"
#include "fuzz_common.h"
#include "runtime/seccomp.h"

#define MAX_SYSCALL_RULES 48
#define MAX_NAMES 512
#define MAX_ARGS 96
#define MAX_ARCHS 8

static bool small_enough(const struct oci_seccomp *s)
{
	size_t names = 0, args = 0, archs = 0;

	if (s->n_syscalls > MAX_SYSCALL_RULES)
		return false;
	for (size_t i = 0; i < s->n_syscalls; i++) {
		for (char **n = s->syscalls[i].names; n && *n; n++)
			names++;
		args += s->syscalls[i].n_args;
	}
	for (char **a = s->architectures; a && *a; a++)
		archs++;
	return names <= MAX_NAMES && args <= MAX_ARGS && archs <= MAX_ARCHS;
}

static struct oci_config *parse(const uint8_t *data, size_t size)
{
	static const char head[] =
	    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"seccomp\":";
	static const char tail[] = "}}";
	struct berth_error err = {0};
	struct oci_config *config = NULL;
	char *doc;
	int r;

	r = oci_config_parse((const char *)data, size, &config, &err);
	fuzz_check_error(r, &err);
	if (r == 0)
		return config;
	doc = malloc(sizeof(head) - 1 + size + sizeof(tail));
	if (!doc)
		return NULL;
	memcpy(doc, head, sizeof(head) - 1);
	memcpy(doc + sizeof(head) - 1, data, size);
	memcpy(doc + sizeof(head) - 1 + size, tail, sizeof(tail));
	err = (struct berth_error){0};
	r = oci_config_parse(doc, sizeof(head) - 1 + size + sizeof(tail) - 1, &config, &err);
	fuzz_check_error(r, &err);
	free(doc);
	return r == 0 ? config : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_config *config = parse(data, size);
	struct seccomp_filter_prog *prog = NULL;
	struct berth_error err = {0};
	uint8_t key[BERTH_SHA256_SIZE];
	int r;

	if (!config)
		return 0;
	if (config->has_linux && config->linux_.has_seccomp && small_enough(&config->linux_.seccomp)) {
		const struct oci_seccomp *s = &config->linux_.seccomp;

		seccomp_profile_hash(s, key);
		r = seccomp_compile(s, &prog, &err);
		fuzz_check_error(r, &err);
		if (r == 0) {
			FUZZ_CHECK(prog && prog->insns, "a compiled program");
			FUZZ_CHECK(prog->len >= 1 && prog->len <= 4096, "1..BPF_MAXINSNS instructions");
			FUZZ_CHECK(memcmp(prog->key, key, sizeof(key)) == 0,
				   "the program carries the profile hash");
		} else {
			FUZZ_CHECK(prog == NULL, "the output is untouched on failure");
		}
		seccomp_filter_prog_free(prog);
	}
	oci_config_free(config);
	return 0;
}
