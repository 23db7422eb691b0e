/* runtime/lsm.c against fake /sys and /proc trees in a temporary directory: the parsing of
 * /sys/kernel/security/lsm, what counts as an enabled AppArmor or SELinux, which attribute file
 * a label goes to on new and old kernels, the refusals naming the config field, and the
 * linux.mountLabel mount option. The real kernel side is tests/vm/test_vm_apparmor.sh. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

#include "berth/error.h"
#include "berth/oci.h"
#include "berth/runtime.h"
#include "../../runtime/lsm.h"

struct fake {
	char root[PATH_MAX];
};

static void put(const struct fake *f, const char *rel, const char *content)
{
	char path[PATH_MAX * 2], cmd[PATH_MAX * 3];
	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
}

static char *get(const struct fake *f, const char *rel)
{
	static char buf[256];
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/berth-test-lsm.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A host as Debian's 6.1 kernel with apparmor=1 security=apparmor shows it. */
static void apparmor_host(const struct fake *f, bool new_attr_dirs)
{
	put(f, "sys/kernel/security/lsm", "lockdown,capability,landlock,yama,apparmor\n");
	put(f, "sys/module/apparmor/parameters/enabled", "Y\n");
	put(f, new_attr_dirs ? "proc/thread-self/attr/apparmor/exec" : "proc/thread-self/attr/exec", "");
	put(f, new_attr_dirs ? "proc/thread-self/attr/apparmor/current" : "proc/thread-self/attr/current",
	    "unconfined\n");
}

static void assert_msg_has(const struct berth_error *err, const char *needle)
{
	if (!strstr(err->msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err->msg, needle);
}

static void test_list_has(void **state)
{
	(void)state;
	assert_true(lsm_list_has("lockdown,capability,landlock,yama,apparmor\n", "apparmor"));
	assert_true(lsm_list_has("apparmor", "apparmor"));
	assert_true(lsm_list_has("capability,selinux,bpf", "selinux"));
	assert_false(lsm_list_has("capability,selinux,bpf", "apparmor"));
	assert_false(lsm_list_has("capability,apparmorx", "apparmor"));
	assert_false(lsm_list_has("capability,xapparmor\n", "apparmor"));
	assert_false(lsm_list_has("", "apparmor"));
	assert_false(lsm_list_has(NULL, "apparmor"));
	assert_false(lsm_list_has(",,\n", "apparmor"));
}

static void test_probe(void **state)
{
	struct fake *f = *state;
	struct berth_lsm h;
	char why[128];

	/* nothing at all: this 6.18 host (no securityfs, no AppArmor module) */
	lsm_probe_at(f->root, &h, why, sizeof(why));
	assert_false(h.apparmor);
	assert_false(h.selinux);
	assert_non_null(strstr(why, "no /sys/module/apparmor"));

	put(f, "sys/module/apparmor/parameters/enabled", "N\n");
	lsm_probe_at(f->root, &h, why, sizeof(why));
	assert_false(h.apparmor);
	assert_non_null(strstr(why, "enabled is not Y"));

	/* enabled, securityfs not mounted: the parameter decides */
	put(f, "sys/module/apparmor/parameters/enabled", "Y\n");
	lsm_probe_at(f->root, &h, why, sizeof(why));
	assert_true(h.apparmor);
	assert_string_equal(why, "");

	/* built in and enabled but another LSM was chosen (security=selinux) */
	put(f, "sys/kernel/security/lsm", "capability,yama,selinux\n");
	lsm_probe_at(f->root, &h, why, sizeof(why));
	assert_false(h.apparmor);
	assert_non_null(strstr(why, "/sys/kernel/security/lsm does not list apparmor"));
	assert_false(h.selinux); /* no selinuxfs: no policy */
	put(f, "sys/fs/selinux/enforce", "1");
	lsm_probe_at(f->root, &h, NULL, 0);
	assert_true(h.selinux);

	put(f, "sys/kernel/security/lsm", "lockdown,capability,apparmor");
	lsm_probe_at(f->root, &h, why, sizeof(why));
	assert_true(h.apparmor);
	assert_false(h.selinux); /* selinuxfs, but the LSM list says it is not active */
}

static void test_attr_path(void **state)
{
	struct fake *f = *state;
	char path[PATH_MAX], want[PATH_MAX * 2];

	/* older kernels (before 5.8): the shared attribute files */
	assert_int_equal(lsm_attr_path(f->root, LSM_APPARMOR, "exec", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/proc/thread-self/attr/exec", f->root);
	assert_string_equal(path, want);

	put(f, "proc/thread-self/attr/apparmor/exec", "");
	assert_int_equal(lsm_attr_path(f->root, LSM_APPARMOR, "exec", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/proc/thread-self/attr/apparmor/exec", f->root);
	assert_string_equal(path, want);
	/* SELinux has no directory of its own */
	assert_int_equal(lsm_attr_path(f->root, LSM_SELINUX, "exec", path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/proc/thread-self/attr/exec", f->root);
	assert_string_equal(path, want);

	assert_int_equal(lsm_attr_path("/", LSM_SELINUX, "keycreate", path, sizeof(path)), 0);
	assert_string_equal(path, "/proc/thread-self/attr/keycreate");
	assert_int_equal(lsm_attr_path(f->root, LSM_APPARMOR, "exec", path, 8), -ENAMETOOLONG);
}

/* prepare + apply on an AppArmor host: the profile is checked with "permprofile" on the current
 * attribute, and "exec <profile>" is what reaches the exec attribute. */
static void check_apparmor_apply(const struct fake *f, const char *dir)
{
	struct oci_process p = {.apparmor_profile = "berth-test"};
	struct berth_error err = {0};
	char rel[128];
	int fd = -EBADF;
	char *value = NULL;

	assert_int_equal(lsm_prepare_exec_label_at(f->root, &p, &fd, &value, &err), 0);
	assert_true(fd >= 0);
	assert_string_equal(value, "exec berth-test");
	snprintf(rel, sizeof(rel), "proc/thread-self/attr/%scurrent", dir);
	assert_string_equal(get(f, rel), "permprofile berth-test");
	snprintf(rel, sizeof(rel), "proc/thread-self/attr/%sexec", dir);
	assert_string_equal(get(f, rel), ""); /* nothing is applied before the apply */
	assert_int_equal(lsm_apply_exec_label(fd, value, &err), 0);
	assert_string_equal(get(f, rel), "exec berth-test");
	close(fd);
	free(value);
}

static void test_apparmor_new_kernel(void **state)
{
	struct fake *f = *state;
	apparmor_host(f, true);
	check_apparmor_apply(f, "apparmor/");
}

static void test_apparmor_old_kernel(void **state)
{
	struct fake *f = *state;
	apparmor_host(f, false);
	check_apparmor_apply(f, "");
}

static void test_refused_without_lsm(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	struct oci_process aa = {.apparmor_profile = "berth-test"};
	struct oci_process se = {.selinux_label = "system_u:system_r:container_t:s0"};
	int fd = -EBADF;
	char *value = NULL;

	assert_int_equal(lsm_prepare_exec_label_at(f->root, &aa, &fd, &value, &err), -EOPNOTSUPP);
	assert_msg_has(&err, "process.apparmorProfile: profile \"berth-test\" is set but AppArmor is not "
			     "enabled on this host");
	assert_int_equal(fd, -EBADF);
	assert_null(value);

	/* AppArmor on: a SELinux label is still refused, as runc refuses it */
	apparmor_host(f, true);
	berth_error_clear(&err);
	assert_int_equal(lsm_prepare_exec_label_at(f->root, &se, &fd, &value, &err), -EOPNOTSUPP);
	assert_msg_has(&err, "process.selinuxLabel: \"system_u:system_r:container_t:s0\" is set but SELinux "
			     "is not enabled");
	assert_int_equal(fd, -EBADF);
	assert_null(value);
}

static void test_selinux_label(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	struct oci_process se = {.selinux_label = "system_u:system_r:container_t:s0:c1,c2"};
	int fd = -EBADF;
	char *value = NULL;

	put(f, "sys/kernel/security/lsm", "capability,selinux\n");
	put(f, "sys/fs/selinux/enforce", "1");
	put(f, "proc/thread-self/attr/exec", "");
	assert_int_equal(lsm_prepare_exec_label_at(f->root, &se, &fd, &value, &err), 0);
	assert_string_equal(value, "system_u:system_r:container_t:s0:c1,c2");
	assert_int_equal(lsm_apply_exec_label(fd, value, &err), 0);
	assert_string_equal(get(f, "proc/thread-self/attr/exec"), "system_u:system_r:container_t:s0:c1,c2");
	close(fd);
	free(value);
}

static void test_no_label(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	struct oci_process none = {.apparmor_profile = "", .selinux_label = NULL};
	int fd = 42;
	char *value = (char *)"untouched";

	/* "" is no profile, as with runc: nothing to check, even without AppArmor */
	assert_int_equal(lsm_prepare_exec_label_at(f->root, &none, &fd, &value, &err), 0);
	assert_int_equal(fd, -EBADF);
	assert_null(value);
	assert_int_equal(lsm_apply_exec_label(-EBADF, NULL, &err), 0);
	assert_int_equal(err.code, 0);
}

static void test_bad_names(void **state)
{
	struct fake *f = *state;
	struct berth_error err = {0};
	struct oci_process p = {.apparmor_profile = "two\nlines"};
	int fd = -EBADF;
	char *value = NULL;

	apparmor_host(f, true);
	assert_int_equal(lsm_prepare_exec_label_at(f->root, &p, &fd, &value, &err), -EINVAL);
	assert_msg_has(&err, "process.apparmorProfile: \"two\nlines\" contains a control character");
	assert_string_equal(get(f, "proc/thread-self/attr/apparmor/current"), "unconfined\n");

	char *big = malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	p.apparmor_profile = big;
	berth_error_clear(&err);
	assert_int_equal(lsm_prepare_exec_label_at(f->root, &p, &fd, &value, &err), -EINVAL);
	assert_msg_has(&err, "process.apparmorProfile: longer than");
	free(big);
	assert_int_equal(fd, -EBADF);
}

static void test_mount_data(void **state)
{
	(void)state;
	struct berth_error err = {0};
	char data[128] = "mode=755,size=65536k";

	assert_int_equal(
	    lsm_mount_data("tmpfs", "system_u:object_r:container_file_t:s0", data, sizeof(data), &err), 0);
	assert_string_equal(data, "mode=755,size=65536k,context=\"system_u:object_r:container_file_t:s0\"");

	strcpy(data, "");
	assert_int_equal(lsm_mount_data("devpts", "l:c1,c2", data, sizeof(data), &err), 0);
	assert_string_equal(data, "context=\"l:c1,c2\"");

	/* not for proc, sysfs, cgroup or mqueue; nothing without a label */
	static const char *const skipped[] = {"proc", "sysfs", "cgroup", "cgroup2", "mqueue"};
	for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
		strcpy(data, "x=1");
		assert_int_equal(lsm_mount_data(skipped[i], "l", data, sizeof(data), &err), 0);
		assert_string_equal(data, "x=1");
	}
	assert_int_equal(lsm_mount_data("tmpfs", NULL, data, sizeof(data), &err), 0);
	assert_int_equal(lsm_mount_data("tmpfs", "", data, sizeof(data), &err), 0);
	assert_string_equal(data, "x=1");

	/* too long: refused, the data left as it was */
	char small[16] = "mode=755";
	assert_int_equal(lsm_mount_data("tmpfs", "a-label-that-does-not-fit", small, sizeof(small), &err),
			 -E2BIG);
	assert_string_equal(small, "mode=755");
	assert_msg_has(&err, "linux.mountLabel");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_has),
	    cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attr_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apparmor_new_kernel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apparmor_old_kernel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_without_lsm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_selinux_label, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_label, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
	    cmocka_unit_test(test_mount_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
