/* Private to oci-specs: the JSON plumbing shared by the config, state, spec and features code.
 *
 * Parsing works on a yajl_tree document. Every getter takes a `struct jctx`, which carries the
 * JSON path of the value being looked at ("mounts[2].options") and the error record to fill, so
 * each failure names the field it is about without the callers formatting paths themselves.
 *
 * Getter rules, shared by all of them: a missing key and a JSON null both mean "absent" (the
 * getter returns 0 and leaves the output alone, as Go's encoding/json does); a duplicated key
 * resolves to its last occurrence (also as Go does); a wrong type fails with -EINVAL and
 * "<path>: expected <type>". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "berth/cleanup.h"

struct berth_error;
struct oci_kv;

/* Longest rendered path; longer paths are cut and end in "...". */
#define JSON_PATH_MAX 256
/* Arrays and maps with more entries than this are rejected: no real config needs them and they
 * would only make the runtime do absurd amounts of work. */
#define JSON_ENTRIES_MAX 65536
/* Nesting deeper than this is rejected while the tree is built: its walkers recurse. */
#define JSON_DEPTH_MAX 128

struct jctx {
	struct berth_error *err;
	const char *doc; /* "config.json": names the document when the path is empty */
	size_t len;
	bool truncated;
	size_t cut; /* where "..." starts when truncated */
	char path[JSON_PATH_MAX];
};

/* Free a tree json_parse_doc() built (never yajl_tree_free() on it: its nodes share an arena). */
void json_doc_free(yajl_val root);

static inline void yajl_tree_freep(yajl_val *v)
{
	json_doc_free(*v);
	*v = NULL;
}
#define _cleanup_yajl_ _cleanup_(yajl_tree_freep)

/* ---- documents and paths ---- */

/* Parse @len bytes of strict JSON (no comments, valid UTF-8, no NUL characters, bounded depth).
 * Errors: -EINVAL with "<doc>: invalid JSON: <reason> (line L, column C)"; -ENOMEM. */
int json_parse_doc(const char *doc, const char *json, size_t len, yajl_val *ret_tree,
		   struct berth_error *err);

void jctx_init(struct jctx *c, const char *doc, struct berth_error *err);
/* Append ".key" ("key" at the root, `["k.y"]` when the key is not a plain identifier) or "[i]";
 * both return a mark for jpath_pop() to restore the previous path. */
size_t jpath_key(struct jctx *c, const char *key);
size_t jpath_index(struct jctx *c, size_t index);
void jpath_pop(struct jctx *c, size_t mark);

/* Fail with -EINVAL and "<path>: <message>". jfail_at() names the child @key of the current path. */
int jfail(struct jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int jfail_at(struct jctx *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same with a dotted @subpath ("linux.uidMappings") taken as is. */
int jfail_in(struct jctx *c, const char *subpath, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Quote @s for an error message: at most ~64 characters, non-printable bytes shown as '?'. */
const char *jquote(char *buf, size_t size, const char *s);
#define JQUOTE_MAX 80

/* ---- typed getters ---- */

/* The value of @key in @obj (last occurrence); NULL when @obj is not an object, the key is
 * missing or its value is null. */
yajl_val jfield(yajl_val obj, const char *key);

int jval_string(struct jctx *c, yajl_val v, char **ret);
int jval_u64(struct jctx *c, yajl_val v, uint64_t max, const char *what, uint64_t *ret);
int jval_i64(struct jctx *c, yajl_val v, int64_t min, int64_t max, const char *what, int64_t *ret);

/* On success *ret is replaced (the old string is freed); absent keys leave it alone. */
int jget_string(struct jctx *c, yajl_val obj, const char *key, char **ret);
int jget_bool(struct jctx *c, yajl_val obj, const char *key, bool *ret, bool *ret_has);
int jget_u64(struct jctx *c, yajl_val obj, const char *key, uint64_t *ret, bool *ret_has);
int jget_i64(struct jctx *c, yajl_val obj, const char *key, int64_t *ret, bool *ret_has);
int jget_u32(struct jctx *c, yajl_val obj, const char *key, uint32_t *ret, bool *ret_has);
int jget_i32(struct jctx *c, yajl_val obj, const char *key, int32_t *ret, bool *ret_has);
int jget_u16(struct jctx *c, yajl_val obj, const char *key, uint16_t *ret, bool *ret_has);
/* An integer in [@min, @max]; "<path>: expected <what>" otherwise. */
int jget_int_range(struct jctx *c, yajl_val obj, const char *key, int64_t min, int64_t max, const char *what,
		   int64_t *ret, bool *ret_has);
/* A NULL-terminated list; "expected an array of strings" otherwise. */
int jget_strv(struct jctx *c, yajl_val obj, const char *key, char ***ret);
/* Type-checked sub-values; *ret is NULL when absent. */
int jget_object(struct jctx *c, yajl_val obj, const char *key, yajl_val *ret);
int jget_array(struct jctx *c, yajl_val obj, const char *key, yajl_val *ret);

/* Parses one object into @out; the path already names the object. */
typedef int (*jparse_fn)(struct jctx *c, yajl_val v, void *out);
/* Same for the value of map entry @key. */
typedef int (*jmap_fn)(struct jctx *c, const char *key, yajl_val v, void *out);

/* If @key is present it must be an object: parse it with @fn and set *ret_has (may be NULL). */
int jget_with(struct jctx *c, yajl_val obj, const char *key, jparse_fn fn, void *out, bool *ret_has);

/* An array of objects parsed by @fn into a calloc'd array of @elem_size elements. The array and
 * its count are stored before the elements are parsed, so after a failure the owner's free
 * function releases the partly filled elements too. */
int jget_array_of(struct jctx *c, yajl_val obj, const char *key, size_t elem_size, jparse_fn fn, void **ret,
		  size_t *ret_n);
/* An object used as a map: each entry parsed by @fn, same storage rules. */
int jget_map_of(struct jctx *c, yajl_val obj, const char *key, size_t elem_size, jmap_fn fn, void **ret,
		size_t *ret_n);
/* A string -> string map. */
int jget_kv_map(struct jctx *c, yajl_val obj, const char *key, struct oci_kv **ret, size_t *ret_n);

#define JGET_ARRAY_OF(c, obj, key, fn, arr, n)                                                               \
	jget_array_of(c, obj, key, sizeof(**(arr)), fn, (void **)(arr), n)
#define JGET_MAP_OF(c, obj, key, fn, arr, n) jget_map_of(c, obj, key, sizeof(**(arr)), fn, (void **)(arr), n)

/* ---- generation ---- */

/* A yajl generator with a sticky error: calls after a failure do nothing, and jgen_finish()
 * reports it, so writers need not check every call. Output is compact; jgen_finish() re-indents
 * it when asked (yajl's own beautifier prints empty arrays as "[\n\n]"). */
struct jgen {
	yajl_gen g;
	int r;
};

int jgen_init(struct jgen *j);
void jgen_done(struct jgen *j);
void jg_open(struct jgen *j);  /* { */
void jg_close(struct jgen *j); /* } */
void jg_aopen(struct jgen *j); /* [ */
void jg_aclose(struct jgen *j);
void jg_key(struct jgen *j, const char *key);
void jg_str(struct jgen *j, const char *s); /* NULL is written as "" */
void jg_int(struct jgen *j, long long v);
void jg_uint(struct jgen *j, uint64_t v);
void jg_bool(struct jgen *j, bool v);
void jg_kstr(struct jgen *j, const char *key, const char *s);
void jg_kint(struct jgen *j, const char *key, long long v);
void jg_kuint(struct jgen *j, const char *key, uint64_t v);
void jg_kbool(struct jgen *j, const char *key, bool v);
/* "key": [strings...] from a NULL-terminated list or a table of @n entries. */
void jg_kstrv(struct jgen *j, const char *key, char *const *strv);
void jg_kstrs(struct jgen *j, const char *key, const char *const *strs, size_t n);
/* The members a generated process gets the same in `berth spec` and in an image's config:
 * capabilities (@caps as bounding, effective and permitted), RLIMIT_NOFILE 1024, noNewPrivileges. */
void jg_process_limits(struct jgen *j, const char *const *caps, size_t n);
/* "key": {"k": "v", ...} */
void jg_kkv(struct jgen *j, const char *key, const struct oci_kv *kv, size_t n);

/* Hand out the document: compact when @indent is NULL, else one value per line indented by
 * @indent per level, like Go's json.MarshalIndent. No trailing newline. Frees the generator. */
int jgen_finish(struct jgen *j, const char *indent, char **ret_json, size_t *ret_len);

/* ---- config parsing, split across files ---- */

struct oci_config;
struct oci_process;
struct oci_linux;
struct oci_resources;
struct oci_id_mapping;

int parse_process(struct jctx *c, yajl_val v, void *out);   /* struct oci_process */
int parse_linux(struct jctx *c, yajl_val v, void *out);     /* struct oci_linux */
int parse_resources(struct jctx *c, yajl_val v, void *out); /* struct oci_resources */
int parse_id_mapping(struct jctx *c, yajl_val v, void *out);
/* Parse @key as an id mapping list (at most the kernel's 340 lines). */
int parse_id_mappings(struct jctx *c, yajl_val obj, const char *key, struct oci_id_mapping **ret,
		      size_t *ret_n);
/* A cpu list such as "0-3,7": "<path>: invalid CPU list" otherwise. */
int check_cpu_list(struct jctx *c, const char *key, const char *list);

/* The seccomp names the parser accepts (also listed by the features document). */
extern const char *const oci_seccomp_actions[], *const oci_seccomp_ops[], *const oci_seccomp_archs[],
									      *const oci_seccomp_flags[];
extern const size_t oci_seccomp_n_actions, oci_seccomp_n_ops, oci_seccomp_n_archs, oci_seccomp_n_flags;

void oci_process_clear(struct oci_process *p);
void oci_linux_clear(struct oci_linux *l);
void oci_resources_clear(struct oci_resources *r);

/* spec.c: runc's default mounts, masked and read-only paths, shared by `berth spec` and the
 * configs generated from images. */
struct spec_mount {
	const char *destination, *type, *source;
	const char *options[8]; /* NULL-terminated */
};
extern const struct spec_mount default_mounts[];
extern const char *const masked_paths[];
extern const char *const readonly_paths[];
extern const size_t n_default_mounts, n_masked_paths, n_readonly_paths;
void oci_kv_free_array(struct oci_kv *kv, size_t n);
void strv_free(char **strv);
