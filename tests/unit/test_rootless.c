/* Rootless pieces that need no privilege to test: subordinate id lines (common/idmap.c), which
 * cgroup a non-root caller may use on a pure cgroup v2 host (cgroups/delegate.c, against a fake
 * tree whose ownership plays systemd's Delegate=yes), and which config field is a limit. */
#include <errno.h>
#include <fcntl.h>
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

#include "berth/cgroups.h"
#include "berth/error.h"
#include "berth/idmap.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "cli/cli.h"

/* ---- /etc/subuid lines ---- */

static void test_subid_find(void **state)
{
	const char *text = "# comment\n"
			   "alice:100000:65536\n"
			   "bob:bad:10\n"
			   "bob:200000:0\n"
			   "bob:300000:65536\n"
			   "1005:400000:1000\n"
			   "alice:500000:10";
	uint32_t start = 0, count = 0;

	(void)state;
	assert_int_equal(idmap_subid_find(text, "alice", 1001, &start, &count), 1);
	assert_int_equal(start, 100000);
	assert_int_equal(count, 65536);
	/* malformed and empty ranges are skipped, the first good one wins */
	assert_int_equal(idmap_subid_find(text, "bob", 1002, &start, &count), 1);
	assert_int_equal(start, 300000);
	/* by numeric uid when the name has no line */
	assert_int_equal(idmap_subid_find(text, "carol", 1005, &start, &count), 1);
	assert_int_equal(start, 400000);
	assert_int_equal(count, 1000);
	/* a prefix of a name is not the name */
	assert_int_equal(idmap_subid_find(text, "ali", 7, &start, &count), 0);
	assert_int_equal(idmap_subid_find("", "alice", 1, &start, &count), 0);
	assert_int_equal(idmap_subid_find(text, NULL, 1005, &start, &count), 1);
}

static void test_idmap_is_self(void **state)
{
	const struct idmap_range self = {0, 1000, 1}, more[] = {{0, 1000, 1}, {1, 100000, 65536}};
	const struct idmap_range other = {0, 1001, 1}, wide = {0, 1000, 2};

	(void)state;
	assert_true(idmap_is_self(&self, 1, 1000));
	assert_false(idmap_is_self(more, 2, 1000));
	assert_false(idmap_is_self(&other, 1, 1000));
	assert_false(idmap_is_self(&wide, 1, 1000));
}

/* ---- delegated cgroups on a fake cgroup2 tree ---- */

struct tree {
	char dir[64];
	int fd;
	uid_t user;
};

/* mkdir @path (relative) with cgroup.procs holding @procs and cgroup.subtree_control, owned by
 * @owner (the directory and both files, as systemd chowns a delegated cgroup). */
static void cg_dir(struct tree *t, const char *path, uid_t owner, const char *procs)
{
	char file[PATH_MAX];

	assert_int_equal(mkdir_p_at(t->fd, path, 0755), 0);
	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	assert_int_equal(write_file_at(t->fd, file, procs, strlen(procs), true, 0644), 0);
	assert_int_equal(fchownat(t->fd, file, owner, owner, 0), 0);
	snprintf(file, sizeof(file), "%s/cgroup.subtree_control", path);
	assert_int_equal(write_file_at(t->fd, file, "", 0, true, 0644), 0);
	assert_int_equal(fchownat(t->fd, file, owner, owner, 0), 0);
	assert_int_equal(fchownat(t->fd, path, owner, owner, 0), 0);
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/berth-rootless-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* systemd's layout: root's slices, the user's manager and what it makes below */
	t->user = 4242;
	*state = t;
	return t->fd < 0 ? -1 : 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	close(t->fd);
	free(t);
	return 0;
}

#define SERVICE "user.slice/user-4242.slice/user@4242.service"

static void build_systemd_tree(struct tree *t, const char *app_procs)
{
	cg_dir(t, "user.slice", 0, "");
	cg_dir(t, "user.slice/user-4242.slice", 0, "");
	cg_dir(t, "user.slice/user-4242.slice/session-1.scope", 0, "77\n");
	cg_dir(t, SERVICE, t->user, "");
	cg_dir(t, SERVICE "/init.scope", t->user, "50\n");
	cg_dir(t, SERVICE "/app.slice", t->user, app_procs);
	cg_dir(t, SERVICE "/app.slice/run-r1.scope", t->user, "100\n101\n");
}

static void test_delegated_parent(void **state)
{
	struct tree *t = *state;
	char path[PATH_MAX], why[512];

	if (geteuid() != 0)
		skip(); /* the tree needs files owned by someone else */
	build_systemd_tree(t, "");
	/* berth in a scope of the user's manager: the container goes below the nearest delegated
	 * cgroup without processes (the scope itself holds berth) */
	assert_int_equal(cgroup_delegated_parent(t->fd, "/" SERVICE "/app.slice/run-r1.scope", t->user, path,
						 sizeof(path), why, sizeof(why)),
			 1);
	assert_string_equal(path, "/" SERVICE "/app.slice");
	/* a login session's scope belongs to root: nothing is delegated */
	assert_int_equal(cgroup_delegated_parent(t->fd, "/user.slice/user-4242.slice/session-1.scope",
						 t->user, path, sizeof(path), why, sizeof(why)),
			 0);
	assert_non_null(strstr(why, "session-1.scope is not delegated to uid 4242"));
	/* another user's subtree is not this user's */
	assert_int_equal(cgroup_delegated_parent(t->fd, "/" SERVICE "/app.slice/run-r1.scope", t->user + 1,
						 path, sizeof(path), why, sizeof(why)),
			 0);
}

static void test_delegated_parent_busy(void **state)
{
	struct tree *t = *state;
	char path[PATH_MAX], why[512];

	if (geteuid() != 0)
		skip();
	/* app.slice holds processes too: up to the user's manager, which holds none */
	build_systemd_tree(t, "200\n");
	assert_int_equal(cgroup_delegated_parent(t->fd, SERVICE "/app.slice/run-r1.scope/", t->user, path,
						 sizeof(path), why, sizeof(why)),
			 1);
	assert_string_equal(path, "/" SERVICE);
}

static void test_delegated_parent_all_busy(void **state)
{
	struct tree *t = *state;
	char path[PATH_MAX], why[512];

	if (geteuid() != 0)
		skip();
	/* a delegated cgroup whose delegated ancestors all hold processes: the caller's own, where
	 * placement works and limits cannot be enabled */
	cg_dir(t, "deleg", t->user, "1\n");
	cg_dir(t, "deleg/self", t->user, "2\n");
	assert_int_equal(
	    cgroup_delegated_parent(t->fd, "/deleg/self", t->user, path, sizeof(path), why, sizeof(why)), 1);
	assert_string_equal(path, "/deleg/self");
}

static void test_path_delegated(void **state)
{
	struct tree *t = *state;
	char why[512];

	if (geteuid() != 0)
		skip();
	build_systemd_tree(t, "");
	/* missing levels are made by berth below the nearest existing, delegated one */
	assert_int_equal(cgroup_path_delegated(t->fd, "/" SERVICE "/berth/c1", t->user, why, sizeof(why)), 1);
	assert_int_equal(cgroup_path_delegated(t->fd, "/" SERVICE "/app.slice", t->user, why, sizeof(why)),
			 1);
	assert_int_equal(cgroup_path_delegated(t->fd, "/berth/c1", t->user, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "cgroup / is not delegated"));
	assert_int_equal(
	    cgroup_path_delegated(t->fd, "/user.slice/user-4242.slice/x", t->user, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "user-4242.slice is not delegated"));
}

/* A file that is not the user's (cgroup.subtree_control left to root) is no delegation. */
static void test_partly_owned(void **state)
{
	struct tree *t = *state;
	char path[PATH_MAX], why[512];

	if (geteuid() != 0)
		skip();
	cg_dir(t, "half", t->user, "");
	assert_int_equal(fchownat(t->fd, "half/cgroup.subtree_control", 0, 0, 0), 0);
	assert_int_equal(
	    cgroup_delegated_parent(t->fd, "/half", t->user, path, sizeof(path), why, sizeof(why)), 0);
}

/* ---- which field is a limit ---- */

static void test_limit_field(void **state)
{
	struct oci_resources r;
	struct oci_device_cgroup dev = {.allow = false};

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_null(cgroup_resources_limit_field(NULL));
	assert_null(cgroup_resources_limit_field(&r));
	/* device rules are not a limit: rootless devices are bind mounts */
	r.devices = &dev;
	r.n_devices = 1;
	assert_null(cgroup_resources_limit_field(&r));
	r.has_pids = true;
	r.pids_limit = 10;
	assert_string_equal(cgroup_resources_limit_field(&r), "linux.resources.pids");
	r.has_memory = true;
	r.memory.has_limit = true;
	r.memory.limit = 1 << 20;
	assert_string_equal(cgroup_resources_limit_field(&r), "linux.resources.memory.limit");
	memset(&r, 0, sizeof(r));
	struct oci_kv kv = {(char *)"memory.high", (char *)"1M"};
	r.unified = &kv;
	r.n_unified = 1;
	assert_string_equal(cgroup_resources_limit_field(&r), "linux.resources.unified");
}

/* ---- default state root and image store (cli/defaults.c) ---- */

static bool initial_userns(void)
{
	char map[64] = "";
	FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned a = 1, b = 1, c = 0;

	if (f) {
		if (!fgets(map, sizeof(map), f))
			map[0] = '\0';
		fclose(f);
	}
	return sscanf(map, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u;
}

static void test_default_dirs(void **state)
{
	char *none[] = {"berth", "list"}, *given[] = {"berth", "--root", "/r", "--storage", "/s", "list"};
	struct berth_error err = {0};
	struct cli_global g;
	bool real_root = geteuid() == 0 && initial_userns();

	(void)state;
	setenv("XDG_RUNTIME_DIR", "/xdg-run", 1);
	setenv("XDG_DATA_HOME", "/xdg-data", 1);
	assert_int_equal(cli_global_parse(2, none, &g, &err), 0);
	if (real_root) {
		/* the real root keeps /run/berth whatever XDG_RUNTIME_DIR says, as runc */
		assert_string_equal(g.root, "/run/berth");
		assert_string_equal(g.storage, "/var/lib/berth");
	} else if (geteuid() != 0) {
		assert_string_equal(g.root, "/xdg-run/berth");
		assert_true(g.root_from_xdg);
		assert_string_equal(g.storage, "/xdg-data/berth");
	}
	/* --root and --storage win */
	assert_int_equal(cli_global_parse(6, given, &g, &err), 0);
	assert_string_equal(g.root, "/r");
	assert_string_equal(g.storage, "/s");
	assert_false(g.root_from_xdg);
	/* no XDG_RUNTIME_DIR: runc's fallback, /run/berth (create then says it cannot write it) */
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_DATA_HOME");
	setenv("HOME", "/home/u", 1);
	assert_int_equal(cli_global_parse(2, none, &g, &err), 0);
	assert_string_equal(g.root, "/run/berth");
	assert_string_equal(g.storage, geteuid() ? "/home/u/.local/share/berth" : "/var/lib/berth");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subid_find),
	    cmocka_unit_test(test_idmap_is_self),
	    cmocka_unit_test_setup_teardown(test_delegated_parent, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_delegated_parent_busy, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_delegated_parent_all_busy, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_path_delegated, tree_setup, tree_teardown),
	    cmocka_unit_test_setup_teardown(test_partly_owned, tree_setup, tree_teardown),
	    cmocka_unit_test(test_limit_field),
	    cmocka_unit_test(test_default_dirs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
