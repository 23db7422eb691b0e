/* The image documents in oci-specs (image_parse.c, image_gen.c, image_runtime.c) and the user
 * resolution of images/user.c: parsing real-world shaped index/manifest/config/manifest.json
 * documents and their errors (named by JSON path), writing them back, and the runtime
 * config.json generated from an image config and overrides, read back by the config parser. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../images/internal.h"
#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/util.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

/* ---- parsers ---- */

static void test_parse_index_manifest(void **state)
{
	(void)state;
	const char *index = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_TYPE_INDEX "\",\"manifests\":["
			    "{\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":7,"
			    "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"},"
			    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.0\"}}]}";
	const char *manifest =
	    "{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MEDIA_TYPE_MANIFEST "\","
	    "\"config\":{\"mediaType\":\"" DOCKER_MEDIA_TYPE_CONFIG "\",\"digest\":\"" D1 "\",\"size\":1},"
	    "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
	    "\"digest\":\"" D2 "\",\"size\":2},{\"mediaType\":\"" OCI_MEDIA_TYPE_LAYER_ZSTD "\","
	    "\"digest\":\"" D3 "\",\"size\":3}]}";
	struct oci_image_index *ix = NULL;
	struct oci_image_manifest *m = NULL, *m2 = NULL;
	struct berth_error err = {0};
	enum oci_layer_compression comp;
	char *json = NULL;
	size_t len;

	assert_int_equal(oci_image_index_parse(index, strlen(index), &ix, &err), 0);
	assert_int_equal(ix->n_manifests, 1);
	assert_string_equal(ix->manifests[0].digest, D1);
	assert_int_equal(ix->manifests[0].size, 7);
	assert_true(ix->manifests[0].has_platform);
	assert_string_equal(ix->manifests[0].platform.variant, "v8");
	assert_int_equal(oci_image_manifest_parse(manifest, strlen(manifest), &m, &err), 0);
	assert_int_equal(m->n_layers, 2);
	assert_int_equal(oci_media_type_kind(m->layers[0].media_type, &comp), OCI_MEDIA_LAYER);
	assert_int_equal(comp, OCI_LAYER_GZIP);
	assert_int_equal(oci_media_type_kind(m->layers[1].media_type, &comp), OCI_MEDIA_LAYER);
	assert_int_equal(comp, OCI_LAYER_ZSTD);
	assert_int_equal(
	    oci_media_type_kind("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", &comp),
	    OCI_MEDIA_LAYER);
	assert_int_equal(oci_media_type_kind(m->config.media_type, NULL), OCI_MEDIA_CONFIG);
	/* written back and read again: the same */
	assert_int_equal(oci_image_manifest_to_json(m, &json, &len), 0);
	assert_int_equal(oci_image_manifest_parse(json, len, &m2, &err), 0);
	assert_string_equal(m2->layers[1].digest, D3);
	assert_int_equal(m2->config.size, 1);
	free(json);
	assert_int_equal(oci_image_index_to_json(ix, &json, &len), 0);
	assert_non_null(strstr(json, "\"org.opencontainers.image.ref.name\":\"1.0\""));
	assert_non_null(strstr(json, "\"variant\":\"v8\""));
	free(json);
	oci_image_index_free(ix);
	oci_image_manifest_free(m);
	oci_image_manifest_free(m2);
}

static void expect_error(int (*parse)(const char *, size_t, void **, struct berth_error *), const char *json,
			 const char *needle)
{
	struct berth_error err = {0};
	void *out = NULL;

	if (parse(json, strlen(json), &out, &err) == 0)
		fail_msg("accepted: %s", json);
	if (!strstr(err.msg, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static int parse_index(const char *j, size_t l, void **r, struct berth_error *e)
{
	return oci_image_index_parse(j, l, (struct oci_image_index **)r, e);
}
static int parse_manifest(const char *j, size_t l, void **r, struct berth_error *e)
{
	return oci_image_manifest_parse(j, l, (struct oci_image_manifest **)r, e);
}
static int parse_config(const char *j, size_t l, void **r, struct berth_error *e)
{
	return oci_image_config_parse(j, l, (struct oci_image_config **)r, e);
}
static int parse_docker(const char *j, size_t l, void **r, struct berth_error *e)
{
	size_t n;
	return oci_docker_manifest_parse(j, l, (struct oci_docker_manifest **)r, &n, e);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_error(parse_index, "{\"schemaVersion\":1,\"manifests\":[]}", "schemaVersion: must be 2");
	expect_error(parse_index, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"size\":1}]}",
		     "manifests[0].digest: is required");
	expect_error(
	    parse_index,
	    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha512:00\",\"size\":1}]}",
	    "unsupported digest algorithm \"sha512\"");
	expect_error(parse_index,
		     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:ABC\","
		     "\"size\":1}]}",
		     "manifests[0].digest: expected");
	expect_error(parse_index,
		     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" D1
		     "\",\"size\":-1}]}",
		     "manifests[0].size");
	expect_error(parse_index, "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_TYPE_MANIFEST "\"}",
		     "is not an image index");
	expect_error(parse_index, "[1,2", "invalid JSON");
	expect_error(parse_manifest, "{\"schemaVersion\":2,\"layers\":[]}", "config: is required");
	expect_error(parse_manifest,
		     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},"
		     "\"layers\":[{\"digest\":\"" D1 "\",\"size\":1}]}",
		     "layers[0].mediaType: is required");
	expect_error(parse_config, "{\"architecture\":\"amd64\"}", "rootfs: is required");
	expect_error(parse_config, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"nope\"]}}",
		     "rootfs.diff_ids[1]");
	expect_error(parse_config, "{\"rootfs\":{\"type\":\"squash\",\"diff_ids\":[]}}", "rootfs.type");
	expect_error(parse_config,
		     "{\"config\":{\"Env\":\"PATH=/bin\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
		     "config.Env: expected an array of strings");
	expect_error(parse_docker, "[]", "lists no image");
	expect_error(parse_docker, "[{\"Config\":\"c.json\"}]", "[0].Layers: is required");
	expect_error(parse_docker, "{}", "expected an array");
}

static void test_parse_config(void **state)
{
	(void)state;
	/* Docker's shape: nulls where nothing is set, ExposedPorts and Volumes as sets. */
	const char *json =
	    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
	    "\"author\":\"me\",\"config\":{\"User\":\"app:staff\",\"Env\":[\"A=1\",\"PATH=/x\"],"
	    "\"Entrypoint\":null,\"Cmd\":[\"run\"],\"WorkingDir\":\"\",\"Labels\":null,"
	    "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Volumes\":{\"/data\":{}},"
	    "\"StopSignal\":\"SIGQUIT\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2
	    "\"]},\"history\":[{},{},{}]}";
	struct oci_image_config *c = NULL, *c2 = NULL;
	struct berth_error err = {0};
	char *out = NULL;
	size_t len;

	assert_int_equal(oci_image_config_parse(json, strlen(json), &c, &err), 0);
	assert_string_equal(c->user, "app:staff");
	assert_string_equal(c->env[1], "PATH=/x");
	assert_null(c->entrypoint);
	assert_string_equal(c->cmd[0], "run");
	assert_string_equal(c->exposed_ports[0], "80/tcp");
	assert_string_equal(c->volumes[0], "/data");
	assert_int_equal(c->n_diff_ids, 2);
	assert_int_equal(c->n_history, 3);
	assert_int_equal(oci_image_config_to_json(c, &out, &len), 0);
	assert_int_equal(oci_image_config_parse(out, len, &c2, &err), 0);
	assert_string_equal(c2->stop_signal, "SIGQUIT");
	assert_string_equal(c2->diff_ids[1], D2);
	assert_string_equal(c2->exposed_ports[1], "53/udp");
	free(out);
	oci_image_config_free(c);
	oci_image_config_free(c2);
}

/* ---- image config -> config.json ---- */

static struct oci_config *generate(const char *image_json, const struct oci_image_run_opts *o)
{
	struct oci_image_config *img = NULL;
	struct oci_config *c = NULL;
	struct berth_error err = {0};
	char *json = NULL;
	size_t len;

	assert_int_equal(oci_image_config_parse(image_json, strlen(image_json), &img, &err), 0);
	if (oci_image_runtime_config(img, o, &json, &len, &err) < 0)
		fail_msg("generate: %s", err.msg);
	if (oci_config_parse(json, len, &c, &err) < 0)
		fail_msg("the generated config.json does not parse: %s\n%s", err.msg, json);
	free(json);
	oci_image_config_free(img);
	return c;
}

#define IMAGE_JSON(cfg)                                                                                      \
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":" cfg                                       \
	",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"

static void test_runtime_config(void **state)
{
	(void)state;
	const char *img = IMAGE_JSON(
	    "{\"Entrypoint\":[\"/entry\",\"-x\"],\"Cmd\":[\"default\"],\"Env\":[\"A=1\",\"B=2\"],"
	    "\"WorkingDir\":\"/srv\",\"Labels\":{\"com.example\":\"yes\",\"berth.image.rootfs\":\"/\"},"
	    "\"StopSignal\":\"SIGINT\",\"ExposedPorts\":{\"80/tcp\":{}}}");
	struct oci_config *c;
	struct oci_image_run_opts o = {0};

	c = generate(img, &o);
	assert_string_equal(c->process.args[0], "/entry");
	assert_string_equal(c->process.args[1], "-x");
	assert_string_equal(c->process.args[2], "default");
	assert_null(c->process.args[3]);
	assert_string_equal(c->process.env[0], "A=1");
	assert_string_equal(c->process.env[1], "B=2");
	assert_true(str_has_prefix(c->process.env[2], "PATH="));
	assert_null(c->process.env[3]);
	assert_string_equal(c->process.cwd, "/srv");
	assert_false(c->process.terminal);
	assert_int_equal(c->process.user.uid, 0);
	assert_string_equal(c->root_path, "rootfs");
	assert_false(c->root_readonly);
	assert_null(c->linux_.cgroups_path);
	assert_string_equal(oci_config_annotation(c, "com.example"), "yes");
	assert_string_equal(oci_config_annotation(c, "org.opencontainers.image.stopSignal"), "SIGINT");
	assert_string_equal(oci_config_annotation(c, "org.opencontainers.image.exposedPorts"), "80/tcp");
	assert_string_equal(oci_config_annotation(c, "org.opencontainers.image.architecture"), "amd64");
	/* an image cannot set berth's own annotations */
	assert_null(oci_config_annotation(c, "berth.image.rootfs"));
	assert_true(c->process.has_capabilities);
	oci_config_free(c);

	/* overrides */
	uint32_t gids[] = {10, 20};
	struct oci_image_bind binds[] = {{"/host/a", "/a", true}, {"/host/b", "/b", false}};
	struct oci_kv ann[] = {{(char *)"berth.image.rootfs", (char *)"/store/containers/x/rootfs"}};
	o = (struct oci_image_run_opts){
	    .terminal = true,
	    .hostname = "box",
	    .args = (char *[]){"sh", "-c", "true", NULL},
	    .env = (char *[]){"B=override", "C=3", NULL},
	    .cwd = "/tmp",
	    .uid = 1000,
	    .gid = 1001,
	    .additional_gids = gids,
	    .n_additional_gids = 2,
	    .cgroups_path = "/berth-test/x",
	    .has_memory = true,
	    .memory_limit = 64 << 20,
	    .has_pids = true,
	    .pids_limit = 100,
	    .has_cpu = true,
	    .cpu_quota = 150000,
	    .cpu_period = 100000,
	    .binds = binds,
	    .n_binds = 2,
	    .annotations = ann,
	    .n_annotations = 1,
	};
	c = generate(img, &o);
	assert_string_equal(c->process.args[0], "/entry");
	assert_string_equal(c->process.args[2], "sh");
	assert_string_equal(c->process.args[4], "true");
	assert_string_equal(c->process.env[1], "B=override");
	assert_string_equal(c->process.env[3], "TERM=xterm");
	assert_string_equal(c->process.env[4], "C=3");
	assert_string_equal(c->process.cwd, "/tmp");
	assert_true(c->process.terminal);
	assert_int_equal(c->process.user.uid, 1000);
	assert_int_equal(c->process.user.gid, 1001);
	assert_int_equal(c->process.user.n_additional_gids, 2);
	assert_string_equal(c->hostname, "box");
	assert_string_equal(c->linux_.cgroups_path, "/berth-test/x");
	assert_true(c->linux_.resources.memory.has_limit);
	assert_int_equal(c->linux_.resources.memory.limit, 64 << 20);
	assert_int_equal(c->linux_.resources.pids_limit, 100);
	assert_int_equal(c->linux_.resources.cpu.quota, 150000);
	assert_string_equal(oci_config_annotation(c, "berth.image.rootfs"), "/store/containers/x/rootfs");
	size_t found = 0;
	for (size_t i = 0; i < c->n_mounts; i++) {
		if (strcmp(c->mounts[i].destination, "/a") == 0) {
			found++;
			assert_string_equal(c->mounts[i].source, "/host/a");
			assert_string_equal(c->mounts[i].options[2], "ro");
		}
		if (strcmp(c->mounts[i].destination, "/b") == 0) {
			found++;
			assert_null(c->mounts[i].options[2]);
		}
	}
	assert_int_equal(found, 2);
	oci_config_free(c);
}

static void test_runtime_config_errors(void **state)
{
	(void)state;
	const char *no_cmd = IMAGE_JSON("{\"Env\":[\"A=1\"]}");
	struct oci_image_config *img = NULL;
	struct oci_image_run_opts o = {0};
	struct berth_error err = {0};
	char *json = NULL;
	size_t len;
	struct oci_config *c;

	assert_int_equal(oci_image_config_parse(no_cmd, strlen(no_cmd), &img, &err), 0);
	assert_int_equal(oci_image_runtime_config(img, &o, &json, &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no Entrypoint or Cmd"));
	o.args = (char *[]){"ls", NULL};
	o.cwd = "relative";
	assert_int_equal(oci_image_runtime_config(img, &o, &json, &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not absolute"));
	oci_image_config_free(img);
	/* a command given, no image Cmd: runs; WorkingDir absent: "/" */
	o.cwd = NULL;
	c = generate(no_cmd, &o);
	assert_string_equal(c->process.args[0], "ls");
	assert_string_equal(c->process.cwd, "/");
	oci_config_free(c);
}

/* ---- users ---- */

static char rootdir[64];

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void put(const char *rel, const char *content)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", rootdir, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void test_user_resolve(void **state)
{
	(void)state;
	static const struct {
		const char *user;
		uint32_t uid, gid;
		size_t n_gids;
	} cases[] = {
	    {"", 0, 0, 1},
	    {"root", 0, 0, 1},
	    {"app", 1000, 1000, 2},
	    {"1000", 1000, 1000, 2},
	    {"4242", 4242, 0, 0},
	    {"app:50", 1000, 50, 0},
	    {"app:staff", 1000, 50, 0},
	    {"0:0", 0, 0, 0},
	};
	struct berth_error err = {0};
	uint32_t uid, gid, *gids;
	size_t n;
	char path[128];
	int fd;

	snprintf(rootdir, sizeof(rootdir), "/tmp/berth-user-XXXXXX");
	assert_non_null(mkdtemp(rootdir));
	snprintf(path, sizeof(path), "%s/etc", rootdir);
	assert_int_equal(mkdir(path, 0755), 0);
	/* A user named "4242" and a group named "50", both with id 0: a numeric user or group is
	 * always the id, never a name looked up (runc's CVE-2016-3697 gave such a user root). */
	put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n# a comment\napp:x:1000:1000::/home/app:/bin/sh\n"
			  "4242:x:0:0:evil:/root:/bin/sh\n");
	put("etc/group",
	    "root:x:0:\nwheel:x:10:root\nstaff:x:50:app\nusers:x:100:other,app\napp:x:1000:app\n50:x:0:\n");
	fd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (image_user_resolve(fd, cases[i].user, &uid, &gid, &gids, &n, &err) < 0)
			fail_msg("%s: %s", cases[i].user, err.msg);
		assert_int_equal(uid, cases[i].uid);
		assert_int_equal(gid, cases[i].gid);
		if (n != cases[i].n_gids)
			fail_msg("%s: %zu supplementary groups", cases[i].user, n);
		free(gids);
	}
	assert_int_equal(image_user_resolve(fd, "nobody", &uid, &gid, &gids, &n, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "\"nobody\" is not in the image's /etc/passwd"));
	assert_int_equal(image_user_resolve(fd, "app:nogroup", &uid, &gid, &gids, &n, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "group \"nogroup\""));
	/* /etc/passwd as a symlink to the host's: read inside the root, so absent */
	snprintf(path, sizeof(path), "%s/etc/passwd", rootdir);
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(image_user_resolve(fd, "root", &uid, &gid, &gids, &n, &err), -ENOENT);
	/* ... or a fifo: never opened (that would block) */
	unlink(path);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(image_user_resolve(fd, "app", &uid, &gid, &gids, &n, &err), -ENOENT);
	assert_int_equal(image_user_resolve(fd, "7", &uid, &gid, &gids, &n, &err), 0);
	assert_int_equal(uid, 7);
	free(gids);
	close(fd);
	nftw(rootdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_index_manifest),  cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_config),          cmocka_unit_test(test_runtime_config),
	    cmocka_unit_test(test_runtime_config_errors), cmocka_unit_test(test_user_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
