/* libFuzzer target: berth_record_parse() (<root>/<id>/state.json) on arbitrary bytes, and for
 * every record it accepts the round trip: parse -> berth_record_to_json -> parse must succeed and
 * give the same record, and writing that again must give the same bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "berth/oci.h"
#include "fuzz_common.h"

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool record_eq(const struct berth_record *a, const struct berth_record *b)
{
	if (!str_eq(a->id, b->id) || !str_eq(a->bundle, b->bundle) || !str_eq(a->rootfs, b->rootfs) ||
	    a->pid != b->pid || a->pid_start_time != b->pid_start_time || !str_eq(a->created, b->created) ||
	    !str_eq(a->owner, b->owner) || !str_eq(a->cgroup_path, b->cgroup_path) ||
	    a->cgroup_owned != b->cgroup_owned || a->systemd_cgroup != b->systemd_cgroup ||
	    a->n_annotations != b->n_annotations)
		return false;
	for (size_t i = 0; i < a->n_annotations; i++) {
		if (!str_eq(a->annotations[i].key, b->annotations[i].key) ||
		    !str_eq(a->annotations[i].value, b->annotations[i].value))
			return false;
	}
	for (int t = 0; t < OCI_NS_MAX; t++) {
		if (!str_eq(a->ns_paths[t], b->ns_paths[t]))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berth_error err = {0};
	struct berth_record *rec = NULL, *again = NULL;
	char *json = NULL, *json2 = NULL;
	size_t len = 0, len2 = 0;
	int r;

	r = berth_record_parse((const char *)data, size, &rec, &err);
	fuzz_check_error(r, &err);
	if (r < 0) {
		FUZZ_CHECK(rec == NULL, "the output is untouched on failure");
		return 0;
	}
	FUZZ_CHECK(rec && rec->id && rec->id[0], "a parsed record has an id");

	r = berth_record_to_json(rec, &json, &len);
	FUZZ_CHECK(r == 0 && json, "a parsed record can be written");
	FUZZ_CHECK(strlen(json) == len, "the written length matches the NUL-terminated text");

	err = (struct berth_error){0};
	r = berth_record_parse(json, len, &again, &err);
	if (r < 0)
		fprintf(stderr, "re-parse failed: %s\n%s\n", err.msg, json);
	FUZZ_CHECK(r == 0, "a written record parses again");
	FUZZ_CHECK(record_eq(rec, again), "the round trip keeps every field");

	r = berth_record_to_json(again, &json2, &len2);
	FUZZ_CHECK(r == 0 && json2, "the re-parsed record can be written");
	FUZZ_CHECK(len == len2 && memcmp(json, json2, len) == 0, "writing is stable");

	free(json);
	free(json2);
	berth_record_free(rec);
	berth_record_free(again);
	return 0;
}
