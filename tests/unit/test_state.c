/* oci-specs: state, list and ps JSON, berth's record, `spec` and `features` documents. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <yajl/yajl_tree.h>

#include "berth/error.h"
#include "berth/oci.h"
#include "berth/version.h"

/* ---- state ---- */

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(oci_status_name(OCI_STATUS_CREATING), "creating");
	assert_string_equal(oci_status_name(OCI_STATUS_CREATED), "created");
	assert_string_equal(oci_status_name(OCI_STATUS_RUNNING), "running");
	assert_string_equal(oci_status_name(OCI_STATUS_STOPPED), "stopped");
	assert_string_equal(oci_status_name(OCI_STATUS_PAUSED), "paused");
}

static const struct oci_kv two_annotations[] = {{"io.a", "1"}, {"b", "x\"y"}};

static void test_state_compact(void **state)
{
	struct oci_state st = {
	    .oci_version = "1.0.2",
	    .id = "c1",
	    .status = OCI_STATUS_RUNNING,
	    .pid = 42,
	    .bundle = "/run/bundle",
	    .annotations = two_annotations,
	    .n_annotations = 2,
	};
	char *json = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(oci_state_to_json(&st, false, &json, &len), 0);
	assert_string_equal(json,
			    "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"running\",\"pid\":42,"
			    "\"bundle\":\"/run/bundle\",\"annotations\":{\"io.a\":\"1\",\"b\":\"x\\\"y\"}}");
	assert_int_equal(len, strlen(json));
	free(json);
}

static void test_state_pretty_stopped(void **state)
{
	struct oci_state st = {.id = "c2", .status = OCI_STATUS_STOPPED, .pid = 0, .bundle = "/b"};
	char *json = NULL;
	char expected[256];

	(void)state;
	assert_int_equal(oci_state_to_json(&st, true, &json, NULL), 0);
	/* pid and annotations are left out; the version defaults to berth's. */
	snprintf(expected, sizeof(expected),
		 "{\n  \"ociVersion\": \"%s\",\n  \"id\": \"c2\",\n  \"status\": \"stopped\",\n  \"bundle\": "
		 "\"/b\"\n}",
		 BERTH_OCI_VERSION);
	assert_string_equal(json, expected);
	free(json);
}

static void test_state_pretty_nested(void **state)
{
	struct oci_state st = {.id = "c3",
			       .status = OCI_STATUS_CREATED,
			       .pid = 7,
			       .bundle = "/b",
			       .annotations = two_annotations,
			       .n_annotations = 1};
	char *json = NULL;

	(void)state;
	assert_int_equal(oci_state_to_json(&st, true, &json, NULL), 0);
	assert_non_null(strstr(json, "\n  \"pid\": 7,\n"));
	assert_non_null(strstr(json, "\n  \"annotations\": {\n    \"io.a\": \"1\"\n  }\n}"));
	free(json);
}

static void test_state_escapes_and_bad_utf8(void **state)
{
	struct oci_state st = {
	    .id = "we\"ird\n{[,:]}", .status = OCI_STATUS_RUNNING, .pid = 1, .bundle = "/b"};
	char *json = NULL;
	char errbuf[128];
	yajl_val doc;
	const char *path[] = {"id", NULL};

	(void)state;
	/* The indenter must not be fooled by structural characters inside strings. */
	assert_int_equal(oci_state_to_json(&st, true, &json, NULL), 0);
	doc = yajl_tree_parse(json, errbuf, sizeof(errbuf));
	assert_non_null(doc);
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(doc, path, yajl_t_string)), st.id);
	yajl_tree_free(doc);
	free(json);

	st.bundle = "/bad\xff";
	json = NULL;
	assert_int_equal(oci_state_to_json(&st, false, &json, NULL), -EILSEQ);
	assert_null(json);
}

/* ---- list, ps ---- */

static void test_list_json(void **state)
{
	struct oci_list_entry e[2] = {
	    {.id = "a",
	     .pid = 10,
	     .status = OCI_STATUS_RUNNING,
	     .bundle = "/ba",
	     .rootfs = "/ba/rootfs",
	     .created = "2024-01-02T03:04:05.000000006Z",
	     .owner = ""},
	    {.id = "b",
	     .pid = 0,
	     .status = OCI_STATUS_STOPPED,
	     .bundle = "/bb",
	     .rootfs = "/bb/rootfs",
	     .created = "2024-01-02T03:04:05Z",
	     .owner = "alice",
	     .annotations = two_annotations,
	     .n_annotations = 1},
	};
	char expected[1024];
	char *json = NULL;
	size_t len;

	(void)state;
	assert_int_equal(oci_list_to_json(e, 2, &json, &len), 0);
	snprintf(expected, sizeof(expected),
		 "[{\"ociVersion\":\"%s\",\"id\":\"a\",\"pid\":10,\"status\":\"running\",\"bundle\":\"/ba\","
		 "\"rootfs\":\"/ba/rootfs\",\"created\":\"2024-01-02T03:04:05.000000006Z\",\"owner\":\"\"},"
		 "{\"ociVersion\":\"%s\",\"id\":\"b\",\"pid\":0,\"status\":\"stopped\",\"bundle\":\"/bb\","
		 "\"rootfs\":\"/bb/rootfs\",\"created\":\"2024-01-02T03:04:05Z\",\"owner\":\"alice\","
		 "\"annotations\":{\"io.a\":\"1\"}}]",
		 BERTH_OCI_VERSION, BERTH_OCI_VERSION);
	assert_string_equal(json, expected);
	assert_int_equal(len, strlen(expected));
	free(json);

	assert_int_equal(oci_list_to_json(NULL, 0, &json, &len), 0);
	assert_string_equal(json, "[]");
	free(json);
}

static void test_pids_json(void **state)
{
	const pid_t pids[] = {1, 23, 4567};
	char *json = NULL;

	(void)state;
	assert_int_equal(oci_pids_to_json(pids, 3, &json, NULL), 0);
	assert_string_equal(json, "[1,23,4567]");
	free(json);
	assert_int_equal(oci_pids_to_json(NULL, 0, &json, NULL), 0);
	assert_string_equal(json, "[]");
	free(json);
	assert_int_equal(oci_pids_to_json(NULL, 2, &json, NULL), -EINVAL);
}

/* ---- berth_record ---- */

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_records_equal(const struct berth_record *a, const struct berth_record *b)
{
	assert_str_or_null(a->id, b->id);
	assert_str_or_null(a->bundle, b->bundle);
	assert_str_or_null(a->rootfs, b->rootfs);
	assert_int_equal(a->pid, b->pid);
	assert_true(a->pid_start_time == b->pid_start_time);
	assert_str_or_null(a->created, b->created);
	assert_str_or_null(a->owner, b->owner);
	assert_str_or_null(a->cgroup_path, b->cgroup_path);
	assert_int_equal(a->cgroup_owned, b->cgroup_owned);
	assert_int_equal(a->systemd_cgroup, b->systemd_cgroup);
	assert_int_equal(a->hook_kinds_known, b->hook_kinds_known);
	assert_int_equal(a->hook_kinds, b->hook_kinds);
	assert_int_equal(a->n_annotations, b->n_annotations);
	for (size_t i = 0; i < a->n_annotations; i++) {
		assert_string_equal(a->annotations[i].key, b->annotations[i].key);
		assert_string_equal(a->annotations[i].value, b->annotations[i].value);
	}
	for (int t = 0; t < OCI_NS_MAX; t++)
		assert_str_or_null(a->ns_paths[t], b->ns_paths[t]);
}

static void round_trip(const struct berth_record *rec)
{
	struct berth_record *back = NULL;
	struct berth_error err = {0};
	char *json = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	int r;

	assert_int_equal(berth_record_to_json(rec, &json, &len), 0);
	r = berth_record_parse(json, len, &back, &err);
	if (r != 0)
		fail_msg("%s: %s", json, err.msg);
	assert_records_equal(rec, back);
	assert_int_equal(berth_record_to_json(back, &again, &len2), 0);
	assert_string_equal(json, again);
	assert_int_equal(len, len2);
	berth_record_free(back);
	free(json);
	free(again);
}

static void test_record_round_trip_full(void **state)
{
	struct oci_kv ann[] = {{"io.kubernetes.pod", "p"}, {"empty", ""}};
	struct berth_record rec = {
	    .id = "ctr-1",
	    .bundle = "/var/lib/b/ctr-1",
	    .rootfs = "/var/lib/b/ctr-1/rootfs",
	    .pid = 2147483647,
	    .pid_start_time = UINT64_MAX,
	    .created = "2024-05-06T07:08:09.123456789Z",
	    .owner = "",
	    .cgroup_path = "/berth-test/ctr-1",
	    .cgroup_owned = true,
	    .systemd_cgroup = true,
	    .hook_kinds = (1u << OCI_HOOK_POSTSTART) | (1u << OCI_HOOK_POSTSTOP),
	    .hook_kinds_known = true,
	    .annotations = ann,
	    .n_annotations = 2,
	};

	(void)state;
	rec.ns_paths[OCI_NS_NETWORK] = "/var/run/netns/x";
	rec.ns_paths[OCI_NS_PID] = "/proc/2147483647/ns/pid";
	rec.ns_paths[OCI_NS_TIME] = "/proc/1/ns/time";
	round_trip(&rec);
}

static void test_record_round_trip_sparse(void **state)
{
	struct berth_record rec = {.id = "x", .pid = 0, .owner = "root"};

	(void)state;
	round_trip(&rec);
}

static void test_record_parse_errors(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
	    {"{\"bundle\":\"/b\"}", "id: required"},
	    {"{\"id\":\"x\",\"pid\":-1}", "pid: expected a process id"},
	    {"{\"id\":\"x\",\"pid\":2147483648}", "pid: expected a process id"},
	    {"{\"id\":\"x\",\"pidStartTime\":\"9\"}", "pidStartTime: expected an unsigned 64-bit integer"},
	    {"{\"id\":\"x\",\"cgroupOwned\":1}", "cgroupOwned: expected true or false"},
	    {"{\"id\":\"x\",\"hookKinds\":-1}", "hookKinds: expected an unsigned 32-bit integer"},
	    {"{\"id\":\"x\",\"namespaces\":{\"net\":\"/a\",\"network\":5}}",
	     "namespaces.network: expected a string"},
	    {"[]", "state.json: expected a JSON object"},
	    {"{\"id\":", "state.json: invalid JSON: "},
	};
	struct berth_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct berth_record *rec = NULL;

		memset(&err, 0, sizeof(err));
		assert_int_equal(berth_record_parse(cases[i].json, strlen(cases[i].json), &rec, &err),
				 -EINVAL);
		assert_null(rec);
		if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].json, err.msg, cases[i].msg);
	}
}

static void test_record_unknown_fields(void **state)
{
	const char *json =
	    "{\"id\":\"x\",\"future\":{\"a\":[1]},\"namespaces\":{\"futurens\":\"/x\",\"uts\":\"/u\"}}";
	struct berth_record *rec = NULL;
	struct berth_error err = {0};

	(void)state;
	assert_int_equal(berth_record_parse(json, strlen(json), &rec, &err), 0);
	assert_string_equal(rec->ns_paths[OCI_NS_UTS], "/u");
	assert_null(rec->owner);
	/* A record from before hookKinds: the hooks are unknown, so start and delete read config.json. */
	assert_false(rec->hook_kinds_known);
	berth_record_free(rec);
}

/* ---- spec ---- */

static struct oci_config *spec_parse(bool rootless, uid_t uid, gid_t gid)
{
	struct oci_config *cfg = NULL;
	struct berth_error err = {0};
	char *json = NULL;
	size_t len = 0;
	int r;

	assert_int_equal(oci_spec_default(rootless, uid, gid, &json, &len), 0);
	assert_int_equal(len, strlen(json));
	/* Laid out like `runc spec`: tab-indented. */
	assert_true(strncmp(json, "{\n\t\"ociVersion\": ", 17) == 0);
	r = oci_config_parse(json, len, &cfg, &err);
	if (r != 0)
		fail_msg("%s\n%s", err.msg, json);
	free(json);
	return cfg;
}

static const struct oci_mount *find_mount(const struct oci_config *cfg, const char *dest)
{
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		if (strcmp(cfg->mounts[i].destination, dest) == 0)
			return &cfg->mounts[i];
	}
	return NULL;
}

static bool strv_contains(char **strv, const char *s)
{
	for (; strv && *strv; strv++) {
		if (strcmp(*strv, s) == 0)
			return true;
	}
	return false;
}

static void test_spec_default(void **state)
{
	struct oci_config *cfg = spec_parse(false, 0, 0);
	const struct oci_process *p = &cfg->process;

	(void)state;
	assert_string_equal(cfg->oci_version, BERTH_OCI_VERSION);
	assert_string_equal(cfg->root_path, "rootfs");
	assert_true(cfg->root_readonly);
	assert_true(p->terminal);
	assert_string_equal(p->args[0], "sh");
	assert_null(p->args[1]);
	assert_string_equal(p->cwd, "/");
	assert_true(strv_contains(p->capabilities.bounding, "CAP_AUDIT_WRITE"));
	assert_true(strv_contains(p->capabilities.effective, "CAP_KILL"));
	assert_true(strv_contains(p->capabilities.permitted, "CAP_NET_BIND_SERVICE"));
	assert_int_equal(p->n_rlimits, 1);
	assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
	assert_int_equal(p->rlimits[0].hard, 1024);
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_true(p->no_new_privileges);
	assert_int_equal(cfg->n_mounts, 7);
	assert_string_equal(find_mount(cfg, "/proc")->type, "proc");
	assert_string_equal(find_mount(cfg, "/dev")->type, "tmpfs");
	assert_true(strv_contains(find_mount(cfg, "/dev/pts")->options, "gid=5"));
	assert_string_equal(find_mount(cfg, "/dev/shm")->source, "shm");
	assert_string_equal(find_mount(cfg, "/dev/mqueue")->type, "mqueue");
	assert_string_equal(find_mount(cfg, "/sys")->type, "sysfs");
	assert_true(strv_contains(find_mount(cfg, "/sys")->options, "ro"));
	assert_string_equal(find_mount(cfg, "/sys/fs/cgroup")->type, "cgroup");
	assert_int_equal(cfg->linux_.n_namespaces, 6);
	assert_non_null(oci_config_namespace(cfg, OCI_NS_NETWORK));
	assert_non_null(oci_config_namespace(cfg, OCI_NS_CGROUP));
	assert_null(oci_config_namespace(cfg, OCI_NS_USER));
	assert_true(strv_contains(cfg->linux_.masked_paths, "/proc/kcore"));
	assert_true(strv_contains(cfg->linux_.readonly_paths, "/proc/sysrq-trigger"));
	assert_int_equal(cfg->linux_.resources.n_devices, 1);
	assert_false(cfg->linux_.resources.devices[0].allow);
	oci_config_free(cfg);
}

static void test_spec_rootless(void **state)
{
	struct oci_config *cfg = spec_parse(true, 1000, 1001);
	const struct oci_linux *l = &cfg->linux_;
	const struct oci_mount *sys;

	(void)state;
	assert_non_null(oci_config_namespace(cfg, OCI_NS_USER));
	assert_null(oci_config_namespace(cfg, OCI_NS_NETWORK));
	assert_non_null(oci_config_namespace(cfg, OCI_NS_PID));
	assert_int_equal(l->n_uid_mappings, 1);
	assert_int_equal(l->uid_mappings[0].host_id, 1000);
	assert_int_equal(l->uid_mappings[0].container_id, 0);
	assert_int_equal(l->uid_mappings[0].size, 1);
	assert_int_equal(l->n_gid_mappings, 1);
	assert_int_equal(l->gid_mappings[0].host_id, 1001);
	/* kept, as runc's rootless spec keeps it: cgroup2 mounts in the container's own namespaces */
	assert_non_null(find_mount(cfg, "/sys/fs/cgroup"));
	sys = find_mount(cfg, "/sys");
	assert_non_null(sys);
	assert_string_equal(sys->source, "/sys");
	assert_true(strv_contains(sys->options, "rbind"));
	assert_false(strv_contains(find_mount(cfg, "/dev/pts")->options, "gid=5"));
	assert_false(l->has_resources);
	oci_config_free(cfg);
}

/* ---- features ---- */

static yajl_val get(yajl_val doc, const char *a, const char *b, const char *c, yajl_type type)
{
	const char *path[] = {a, b, c, NULL};

	return yajl_tree_get(doc, path, type);
}

static bool array_has(yajl_val arr, const char *s)
{
	for (size_t i = 0; arr && i < arr->u.array.len; i++) {
		const char *e = YAJL_GET_STRING(arr->u.array.values[i]);

		if (e && strcmp(e, s) == 0)
			return true;
	}
	return false;
}

static void test_features(void **state)
{
	char errbuf[256];
	char *json = NULL;
	size_t len = 0;
	yajl_val doc, v;

	(void)state;
	assert_int_equal(oci_features_json(&json, &len), 0);
	assert_int_equal(len, strlen(json));
	assert_non_null(strstr(json, "\"namespaces\""));
	doc = yajl_tree_parse(json, errbuf, sizeof(errbuf));
	if (!doc)
		fail_msg("features JSON does not parse: %s", errbuf);
	assert_string_equal(YAJL_GET_STRING(get(doc, "ociVersionMin", NULL, NULL, yajl_t_string)), "1.0.0");
	assert_string_equal(YAJL_GET_STRING(get(doc, "ociVersionMax", NULL, NULL, yajl_t_string)), "1.2.0");
	v = get(doc, "hooks", NULL, NULL, yajl_t_array);
	assert_int_equal(v->u.array.len, 6);
	assert_true(array_has(v, "createRuntime"));
	v = get(doc, "mountOptions", NULL, NULL, yajl_t_array);
	assert_true(array_has(v, "rbind") && array_has(v, "nostrictatime") && array_has(v, "ridmap"));
	assert_false(array_has(v, "bogus"));
	v = get(doc, "linux", "namespaces", NULL, yajl_t_array);
	assert_int_equal(v->u.array.len, 8);
	assert_true(array_has(v, "time") && array_has(v, "user"));
	v = get(doc, "linux", "capabilities", NULL, yajl_t_array);
	assert_int_equal(v->u.array.len, 41);
	assert_true(array_has(v, "CAP_CHOWN") && array_has(v, "CAP_CHECKPOINT_RESTORE"));
	assert_true(YAJL_IS_TRUE(get(doc, "linux", "cgroup", "v2", yajl_t_any)));
	assert_true(YAJL_IS_TRUE(get(doc, "linux", "cgroup", "systemd", yajl_t_any)));
	assert_true(YAJL_IS_FALSE(get(doc, "linux", "cgroup", "systemdUser", yajl_t_any)));
	assert_true(YAJL_IS_TRUE(get(doc, "linux", "cgroup", "rdma", yajl_t_any)));
	/* seccomp: every action and operator; archs of this libseccomp; flags of this kernel */
	assert_true(YAJL_IS_TRUE(get(doc, "linux", "seccomp", "enabled", yajl_t_any)));
	v = get(doc, "linux", "seccomp", "actions", yajl_t_array);
	assert_int_equal(v->u.array.len, 9);
	assert_true(array_has(v, "SCMP_ACT_NOTIFY") && array_has(v, "SCMP_ACT_KILL_PROCESS"));
	v = get(doc, "linux", "seccomp", "operators", yajl_t_array);
	assert_int_equal(v->u.array.len, 7);
	assert_true(array_has(v, "SCMP_CMP_MASKED_EQ"));
	v = get(doc, "linux", "seccomp", "archs", yajl_t_array);
	assert_true(array_has(v, "SCMP_ARCH_X86_64") && array_has(v, "SCMP_ARCH_AARCH64"));
	v = get(doc, "linux", "seccomp", "knownFlags", yajl_t_array);
	assert_int_equal(v->u.array.len, 4);
	assert_true(array_has(v, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
	v = get(doc, "linux", "seccomp", "supportedFlags", yajl_t_array);
	assert_non_null(v);
	assert_true(v->u.array.len <= 4);
	/* berth applies AppArmor and SELinux labels: "enabled" is the runtime's support (runtime-spec
	 * features-linux.md), the host's LSMs are annotations (test_features_host) */
	assert_true(YAJL_IS_TRUE(get(doc, "linux", "apparmor", "enabled", yajl_t_any)));
	assert_true(YAJL_IS_TRUE(get(doc, "linux", "selinux", "enabled", yajl_t_any)));
	assert_null(get(doc, "annotations", "io.github.berth.host.apparmor", NULL, yajl_t_any));
	assert_true(YAJL_IS_FALSE(get(doc, "linux", "intelRdt", "enabled", yajl_t_any)));
	assert_true(YAJL_IS_TRUE(get(doc, "linux", "netDevices", "enabled", yajl_t_any)));
	{
		const char *idmap[] = {"linux", "mountExtensions", "idmap", "enabled", NULL};

		assert_true(YAJL_IS_TRUE(yajl_tree_get(doc, idmap, yajl_t_any)));
	}
	assert_string_equal(
	    YAJL_GET_STRING(get(doc, "annotations", "io.github.berth.version", NULL, yajl_t_string)),
	    BERTH_VERSION);
	yajl_tree_free(doc);
	free(json);
}

/* `berth features` names the host's LSMs (berth_lsm_probe) in annotations. */
static void test_features_host(void **state)
{
	static const struct oci_features_host hosts[] = {{.apparmor = true}, {.selinux = true}};
	char errbuf[256];
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char *json = NULL;
		size_t len = 0;
		assert_int_equal(oci_features_json_host(&hosts[i], &json, &len), 0);
		yajl_val doc = yajl_tree_parse(json, errbuf, sizeof(errbuf));
		assert_non_null(doc);
		assert_string_equal(YAJL_GET_STRING(get(doc, "annotations", "io.github.berth.host.apparmor",
							NULL, yajl_t_string)),
				    i == 0 ? "true" : "false");
		assert_string_equal(YAJL_GET_STRING(get(doc, "annotations", "io.github.berth.host.selinux",
							NULL, yajl_t_string)),
				    i == 1 ? "true" : "false");
		assert_true(YAJL_IS_TRUE(get(doc, "linux", "apparmor", "enabled", yajl_t_any)));
		yajl_tree_free(doc);
		free(json);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_names),
	    cmocka_unit_test(test_state_compact),
	    cmocka_unit_test(test_state_pretty_stopped),
	    cmocka_unit_test(test_state_pretty_nested),
	    cmocka_unit_test(test_state_escapes_and_bad_utf8),
	    cmocka_unit_test(test_list_json),
	    cmocka_unit_test(test_pids_json),
	    cmocka_unit_test(test_record_round_trip_full),
	    cmocka_unit_test(test_record_round_trip_sparse),
	    cmocka_unit_test(test_record_parse_errors),
	    cmocka_unit_test(test_record_unknown_fields),
	    cmocka_unit_test(test_spec_default),
	    cmocka_unit_test(test_spec_rootless),
	    cmocka_unit_test(test_features),
	    cmocka_unit_test(test_features_host),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
