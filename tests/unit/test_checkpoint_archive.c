/* The checkpoint archive and the pure parts of the checkpoint module: archive round trip,
 * confined extraction of hostile archives, manifest.json, CRIU option translation, CRIU log
 * error extraction, CPU flag comparison. No CRIU needed. */
#include <errno.h>
#include <fcntl.h>
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

#include "berth/archive.h"
#include "berth/checkpoint.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "berth/util.h"

#include "tar_fixture.h"

static int setup(void **state)
{
	return fixture_setup(state, "/tmp/berth-ckarch.XXXXXX");
}

static int extract(struct fixture *fx, const struct tar_entry *e, size_t n, struct berth_error *err)
{
	char tar[160];
	fixture_tar(fx, tar, sizeof(tar), e, n);
	return archive_extract_confined(tar, fx->rootfd, &lim, err);
}

/* ---- archive ---- */

static void test_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	char src[160], sub[200], f[220], arch[160], *buf = NULL;
	size_t len;

	snprintf(src, sizeof(src), "%s/src", fx->dir);
	snprintf(sub, sizeof(sub), "%s/sub", src);
	assert_int_equal(mkdir_p_at(AT_FDCWD, sub, 0755), 0);
	snprintf(f, sizeof(f), "%s/file", sub);
	assert_int_equal(write_file_at(AT_FDCWD, f, "hello", 5, true, 0640), 0);
	snprintf(f, sizeof(f), "%s/link", src);
	assert_int_equal(symlink("/etc/passwd", f), 0);
	snprintf(arch, sizeof(arch), "%s/a.tar.gz", fx->dir);
	struct archive_dir_member m[] = {{src, "top"}};
	assert_int_equal(archive_write_dirs(arch, m, 1, &err), 0);
	assert_int_equal(archive_extract_confined(arch, fx->rootfd, &lim, &err), 0);
	assert_int_equal(read_file_at(fx->rootfd, "top/sub/file", 100, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	free(buf);
	char target[64] = {0};
	assert_true(readlinkat(fx->rootfd, "top/link", target, sizeof(target) - 1) > 0);
	assert_string_equal(target, "/etc/passwd");
	struct stat st;
	assert_int_equal(fstatat(fx->rootfd, "top/sub/file", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(archive_member_name_check("a/b"), 0);
	assert_int_equal(archive_member_name_check("./a"), 0);
	assert_int_equal(archive_member_name_check("a..b/c"), 0);
	assert_int_equal(archive_member_name_check("../a"), -EINVAL);
	assert_int_equal(archive_member_name_check("a/../../b"), -EINVAL);
	assert_int_equal(archive_member_name_check("a/.."), -EINVAL);
	assert_int_equal(archive_member_name_check("/etc/passwd"), -EINVAL);
	assert_int_equal(archive_member_name_check(""), -EINVAL);
}

static void test_dotdot_refused(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	const struct tar_entry e[] = {{"../outside/evil", '0', NULL, "x", 0, 0, 0}};
	assert_int_equal(extract(fx, e, 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "../outside/evil"));
	assert_true(dir_empty(fx->out));
}

static void test_absolute_refused(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	char name[200];
	snprintf(name, sizeof(name), "%s/evil", fx->out);
	const struct tar_entry e[] = {{name, '0', NULL, "x", 0, 0, 0}};
	assert_int_equal(extract(fx, e, 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "relative"));
	assert_true(dir_empty(fx->out));
}

static void test_symlink_escape_confined(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	/* An absolute link to the outside directory: the later member resolves inside the root, where
	 * that path does not exist: refused, nothing outside. */
	const struct tar_entry abs[] = {
	    {"abs", '2', fx->out, NULL, 0, 0, 0},
	    {"abs/evil1", '0', NULL, "x", 0, 0, 0},
	};
	assert_true(extract(fx, abs, 2, &err) < 0);
	assert_non_null(strstr(err.msg, "abs/evil1"));
	assert_true(dir_empty(fx->out));
	/* A relative link climbing out is clamped at the root: the member lands inside. */
	const struct tar_entry up[] = {
	    {"up", '2', "../../../../../..", NULL, 0, 0, 0},
	    {"up/evil2", '0', NULL, "y", 0, 0, 0},
	};
	assert_int_equal(extract(fx, up, 2, &err), 0);
	assert_true(dir_empty(fx->out));
	assert_int_equal(faccessat(fx->rootfd, "evil2", F_OK, 0), 0);
	char above[200];
	snprintf(above, sizeof(above), "%s/evil2", fx->dir);
	assert_int_equal(access(above, F_OK), -1);
}

static void test_oversize_refused(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	const struct tar_entry e[] = {{"big", '0', NULL, NULL, 0, 0, 1ull << 20}};
	assert_int_equal(extract(fx, e, 1, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "big"));
}

static void test_device_refused(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	const struct tar_entry e[] = {{"null", '3', NULL, NULL, 0, 0, 0}};
	assert_int_equal(extract(fx, e, 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "device"));
}

static void test_too_many_members(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	struct tar_entry e[101];
	char names[101][8];
	for (int i = 0; i < 101; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		e[i] = (struct tar_entry){names[i], '5', NULL, NULL, 0, 0, 0};
	}
	assert_int_equal(extract(fx, e, 101, &err), -EFBIG);
}

/* ---- manifest ---- */

static const char good_manifest[] = "{\"formatVersion\":1,\"containerId\":\"c1\",\"kernel\":\"6.1.0\","
				    "\"arch\":\"x86_64\",\"cpuFlags\":[\"fpu\",\"sse2\"],\"hasRootfs\":true}";

static void test_manifest_round_trip(void **state)
{
	(void)state;
	struct berth_error err = {0};
	char *flags[] = {"fpu", "avx2", NULL};
	struct oci_ckpt_manifest m = {.format_version = OCI_CKPT_FORMAT_VERSION,
				      .berth_version = "0.1",
				      .container_id = "web",
				      .kernel = "6.1.0-56-amd64",
				      .arch = "x86_64",
				      .cpu_flags = flags,
				      .image = "alpine:3.20",
				      .has_rootfs = true};
	char *json = NULL;
	size_t len;
	struct oci_ckpt_manifest *back = NULL;
	assert_int_equal(oci_ckpt_manifest_to_json(&m, &json, &len), 0);
	assert_int_equal(oci_ckpt_manifest_parse(json, len, &back, &err), 0);
	assert_string_equal(back->container_id, "web");
	assert_string_equal(back->kernel, "6.1.0-56-amd64");
	assert_string_equal(back->image, "alpine:3.20");
	assert_string_equal(back->cpu_flags[1], "avx2");
	assert_null(back->cpu_flags[2]);
	assert_true(back->has_rootfs);
	oci_ckpt_manifest_free(back);
	free(json);
}

static void test_manifest_bad(void **state)
{
	(void)state;
	struct berth_error err = {0};
	struct oci_ckpt_manifest *m = NULL;
	assert_int_equal(oci_ckpt_manifest_parse(good_manifest, strlen(good_manifest), &m, &err), 0);
	oci_ckpt_manifest_free(m);
	m = NULL;
	const char *v2 = "{\"formatVersion\":2,\"containerId\":\"c\",\"kernel\":\"k\",\"arch\":\"x86_64\"}";
	assert_int_equal(oci_ckpt_manifest_parse(v2, strlen(v2), &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "formatVersion"));
	assert_non_null(strstr(err.msg, "version 2"));
	const char *nov = "{\"containerId\":\"c\",\"kernel\":\"k\",\"arch\":\"x86_64\"}";
	assert_int_equal(oci_ckpt_manifest_parse(nov, strlen(nov), &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "formatVersion"));
	const char *noid = "{\"formatVersion\":1,\"kernel\":\"k\",\"arch\":\"x86_64\"}";
	assert_int_equal(oci_ckpt_manifest_parse(noid, strlen(noid), &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "containerId"));
	assert_int_equal(oci_ckpt_manifest_parse("[1]", 3, &m, &err), -EINVAL);
	assert_null(m);
}

/* An archive whose manifest has the wrong format version: refused, the target removed. */
static void test_import_wrong_version_leaves_nothing(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	char tar[160], dest[160];
	struct oci_ckpt_manifest *m = NULL;
	const struct tar_entry e[] = {
	    {"manifest.json", '0', NULL,
	     "{\"formatVersion\":7,\"containerId\":\"c\",\"kernel\":\"k\",\"arch\":\"x86_64\"}", 0, 0, 0},
	    {"config.json", '0', NULL, "{}", 0, 0, 0},
	    {"checkpoint/inventory.img", '0', NULL, "x", 0, 0, 0},
	};
	snprintf(tar, sizeof(tar), "%s/v7.tar", fx->dir);
	tar_write(tar, e, 3);
	snprintf(dest, sizeof(dest), "%s/bundle", fx->dir);
	assert_int_equal(checkpoint_import(tar, dest, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "format version 7"));
	assert_int_equal(access(dest, F_OK), -1);

	const struct tar_entry evil[] = {{"../escape", '0', NULL, "x", 0, 0, 0}};
	tar_write(tar, evil, 1);
	assert_int_equal(checkpoint_import(tar, dest, &m, &err), -EINVAL);
	assert_int_equal(access(dest, F_OK), -1);
	assert_null(m);
}

static void test_export_import(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	char images[160], out[160], dest[160], inv[200];
	struct oci_ckpt_manifest *m = NULL;
	snprintf(images, sizeof(images), "%s/images", fx->dir);
	mkdir(images, 0700);
	snprintf(inv, sizeof(inv), "%s/inventory.img", images);
	assert_int_equal(write_file_at(AT_FDCWD, inv, "inv", 3, true, 0600), 0);
	snprintf(out, sizeof(out), "%s/c.tar.zst", fx->dir);
	struct ckpt_export x = {.out_path = out,
				.images_dir = images,
				.config_json = "{}",
				.config_len = 2,
				.rootfs = fx->out,
				.container_id = "c1",
				.image_ref = "busybox"};
	assert_int_equal(checkpoint_export(&x, &err), 0);
	snprintf(dest, sizeof(dest), "%s/imported", fx->dir);
	assert_int_equal(checkpoint_import(out, dest, &m, &err), 0);
	assert_string_equal(m->container_id, "c1");
	assert_string_equal(m->image, "busybox");
	assert_true(m->has_rootfs);
	snprintf(inv, sizeof(inv), "%s/checkpoint/inventory.img", dest);
	assert_int_equal(access(inv, F_OK), 0);
	oci_ckpt_manifest_free(m);
}

/* Symlink members cannot make the import read a host file: manifest.json is read with no symlink
 * in its path, and checkpoint/ must be a real directory (CRIU would restore from its target). */
static void test_import_symlinked_members(void **state)
{
	struct fixture *fx = *state;
	struct berth_error err = {0};
	char tar[160], dest[160], host_manifest[200], host_images[200], inv[220];
	struct oci_ckpt_manifest *m = NULL;

	snprintf(host_manifest, sizeof(host_manifest), "%s/host-manifest.json", fx->dir);
	assert_int_equal(
	    write_file_at(AT_FDCWD, host_manifest, good_manifest, strlen(good_manifest), true, 0600), 0);
	snprintf(host_images, sizeof(host_images), "%s/host-images", fx->dir);
	assert_int_equal(mkdir(host_images, 0700), 0);
	snprintf(inv, sizeof(inv), "%s/inventory.img", host_images);
	assert_int_equal(write_file_at(AT_FDCWD, inv, "inv", 3, true, 0600), 0);
	snprintf(tar, sizeof(tar), "%s/sym.tar", fx->dir);
	snprintf(dest, sizeof(dest), "%s/bundle", fx->dir);

	const struct tar_entry manifest_link[] = {
	    {"manifest.json", '2', host_manifest, NULL, 0, 0, 0},
	    {"config.json", '0', NULL, "{}", 0, 0, 0},
	    {"checkpoint/inventory.img", '0', NULL, "x", 0, 0, 0},
	};
	tar_write(tar, manifest_link, 3);
	assert_int_equal(checkpoint_import(tar, dest, &m, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "no readable manifest.json"));
	assert_int_equal(access(dest, F_OK), -1);
	assert_null(m);

	const struct tar_entry images_link[] = {
	    {"manifest.json", '0', NULL, good_manifest, 0, 0, 0},
	    {"config.json", '0', NULL, "{}", 0, 0, 0},
	    {"checkpoint", '2', host_images, NULL, 0, 0, 0},
	};
	tar_write(tar, images_link, 3);
	assert_int_equal(checkpoint_import(tar, dest, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "checkpoint/ is not a directory"));
	assert_int_equal(access(dest, F_OK), -1);
	assert_null(m);
}

/* ---- CRIU options, logs, CPU ---- */

static void test_settings(void **state)
{
	(void)state;
	struct berth_error err = {0};
	struct ckpt_settings s;
	struct ckpt_opts o = {
	    .action = CKPT_PRE_DUMP, .pid = 42, .images_dir = "/i", .tcp_established = true};
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_true(s.leave_running); /* a pre-dump never stops the container */
	assert_true(s.tcp_established);
	assert_string_equal(s.log_file, "pre-dump.log");
	assert_true(s.manage_cgroups);

	o = (struct ckpt_opts){.action = CKPT_DUMP,
			       .pid = 42,
			       .images_dir = "/i",
			       .parent_path = "../pre",
			       .cg_mode = CKPT_CG_STRICT,
			       .file_locks = true};
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_false(s.leave_running);
	assert_string_equal(s.parent_images, "../pre");
	assert_int_equal(s.cg_mode, CKPT_CG_STRICT);
	assert_true(s.file_locks);
	assert_string_equal(s.log_file, "dump.log");

	o.parent_path = "/abs";
	assert_int_equal(checkpoint_settings(&o, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--parent-path"));
	o = (struct ckpt_opts){.action = CKPT_DUMP, .images_dir = "/i"};
	assert_int_equal(checkpoint_settings(&o, &s, &err), -EINVAL);
	o = (struct ckpt_opts){.action = CKPT_RESTORE, .images_dir = "/i", .root = "/r", .shell_job = true};
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_string_equal(s.root, "/r");
	assert_string_equal(s.log_file, "restore.log");
	assert_true(s.shell_job);
	o.leave_running = true;
	assert_int_equal(checkpoint_settings(&o, &s, &err), -EINVAL);
	o = (struct ckpt_opts){.action = CKPT_DUMP, .pid = 1};
	assert_int_equal(checkpoint_settings(&o, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--image-path"));

	enum ckpt_cg_mode mode;
	assert_int_equal(checkpoint_cg_mode_parse("full", &mode), 0);
	assert_int_equal(mode, CKPT_CG_FULL);
	assert_int_equal(checkpoint_cg_mode_parse("ignore", &mode), 0);
	assert_int_equal(mode, CKPT_CG_IGNORE);
	assert_int_equal(checkpoint_cg_mode_parse("bogus", &mode), -EINVAL);
}

/* Memory tracking: a pre-dump, and a dump on top of one (else CRIU dumps every page again);
 * a terminal on restore: the orphan pty master comes back through an RPC notification. */
static void test_settings_track_mem_and_terminal(void **state)
{
	(void)state;
	struct berth_error err = {0};
	struct ckpt_settings s;
	struct ckpt_opts o = {.action = CKPT_PRE_DUMP, .pid = 42, .images_dir = "/i"};
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_true(s.track_mem);
	o = (struct ckpt_opts){.action = CKPT_DUMP, .pid = 42, .images_dir = "/i", .parent_path = "../P1"};
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_true(s.track_mem);
	assert_string_equal(s.parent_images, "../P1");
	o.parent_path = NULL;
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_false(s.track_mem);
	/* A terminal: CRIU dumps the slave without its master (outside the container) only when
	 * told; nothing comes back by notification on dump. */
	o.orphan_pts_master = true;
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_true(s.orphan_pts_master);
	assert_false(s.notify_scripts);

	o = (struct ckpt_opts){.action = CKPT_RESTORE, .images_dir = "/i", .root = "/r"};
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_false(s.track_mem);
	assert_false(s.orphan_pts_master);
	assert_false(s.notify_scripts);
	o.orphan_pts_master = true;
	o.has_console = true;
	o.console_fd = 7;
	assert_int_equal(checkpoint_settings(&o, &s, &err), 0);
	assert_true(s.orphan_pts_master);
	assert_true(s.notify_scripts);
	o.orphan_pts_master = false;
	assert_int_equal(checkpoint_settings(&o, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--console-socket"));
}

static void test_log_errors(void **state)
{
	(void)state;
	char buf[512];
	const char *log =
	    "(00.001) Version: 3.17.1\n"
	    "(00.002) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\n"
	    "(00.003) Warn  something\n"
	    "(00.004) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable\n"
	    "(00.005) Error (criu/kerndat.c:1615): kerndat failed\n"
	    "(00.006) Error (criu/crtools.c:260): Could not initialize kernel features detection.\n"
	    "(00.007) Unlock network\n";
	checkpoint_log_errors(log, strlen(log), buf, sizeof(buf));
	assert_null(strstr(buf, "Unexpected rt vDSO")); /* only the last three errors */
	assert_non_null(strstr(buf, "Failed to fill self vdso symtable | "));
	assert_non_null(strstr(buf, "Could not initialize kernel features detection."));
	const char *noerr = "(00.1) a\n(00.2) last line\n\n";
	checkpoint_log_errors(noerr, strlen(noerr), buf, sizeof(buf));
	assert_string_equal(buf, "(00.2) last line");
	char small[16];
	checkpoint_log_errors(log, strlen(log), small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	checkpoint_log_errors("", 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_cpu_flags(void **state)
{
	(void)state;
	char buf[64];
	char *need[] = {"fpu", "avx512f", "sse2", "amx_tile", NULL};
	char *have[] = {"fpu", "sse2", "avx2", NULL};
	assert_int_equal(checkpoint_cpu_missing(need, have, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "avx512f amx_tile");
	assert_int_equal(checkpoint_cpu_missing(have, have, buf, sizeof(buf)), 0);
	char **mine = NULL;
	if (checkpoint_cpu_flags(&mine) == 0) {
		assert_non_null(mine[0]);
		assert_int_equal(checkpoint_cpu_missing(mine, mine, buf, sizeof(buf)), 0);
		checkpoint_strv_free(mine);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test_setup_teardown(test_dotdot_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_absolute_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlink_escape_confined, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_members, setup, teardown),
	    cmocka_unit_test(test_manifest_round_trip),
	    cmocka_unit_test(test_manifest_bad),
	    cmocka_unit_test_setup_teardown(test_import_wrong_version_leaves_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_export_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_symlinked_members, setup, teardown),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_settings_track_mem_and_terminal),
	    cmocka_unit_test(test_log_errors),
	    cmocka_unit_test(test_cpu_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
