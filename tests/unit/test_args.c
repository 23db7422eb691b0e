/* The option parser and every command's parse step, including the exact command lines
 * containerd 1.6's shim sends (ENVIRONMENT.md). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "berth/error.h"
#include "berth/log.h"
#include "berth/runtime.h"
#include "cli/args.h"
#include "cli/cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void assert_msg_contains(const struct berth_error *err, const char *part)
{
	if (!strstr(err->msg, part))
		fail_msg("message \"%s\" lacks \"%s\"", err->msg, part);
}

/* ---- the generic parser, on a table with every option type ---- */

struct demo {
	bool detach;
	bool no_subreaper;
	const char *bundle;
	const char *pid_file;
	int count;
	int format;
	struct cli_list env;
};

static const char *const demo_formats[] = {"table", "json", NULL};

static const struct cli_option demo_options[] = {
    {.name = "detach", .short_name = 'd', .type = CLI_FLAG, .offset = offsetof(struct demo, detach)},
    {.name = "no-subreaper", .type = CLI_FLAG, .offset = offsetof(struct demo, no_subreaper)},
    {.name = "bundle", .short_name = 'b', .type = CLI_STRING, .offset = offsetof(struct demo, bundle)},
    {.name = "pid-file", .short_name = 'p', .type = CLI_STRING, .offset = offsetof(struct demo, pid_file)},
    {.name = "count", .type = CLI_INT, .offset = offsetof(struct demo, count), .min = 0, .max = 10},
    {.name = "format",
     .short_name = 'f',
     .type = CLI_CHOICE,
     .offset = offsetof(struct demo, format),
     .choices = demo_formats},
    {.name = "env", .short_name = 'e', .type = CLI_LIST, .offset = offsetof(struct demo, env)},
};

static const struct cli_spec demo_spec = {
    .command = "demo",
    .options = demo_options,
    .n_options = sizeof(demo_options) / sizeof(demo_options[0]),
    .arg_names = (const char *const[]){"ID", "SIGNAL"},
    .min_args = 1,
    .max_args = 2,
};

static int demo_parse(int argc, char **argv, struct demo *d, struct cli_parsed *p, struct berth_error *err)
{
	memset(d, 0, sizeof(*d));
	memset(p, 0, sizeof(*p));
	return cli_parse(&demo_spec, argc, argv, d, p, err);
}

static void test_long_option_forms(void **state)
{
	/* --name value, --name=value, -name value, -name=value: all the same option. */
	char *forms[][4] = {
	    {"demo", "--bundle", "/b", "id"}, {"demo", "--bundle=/b", "id", NULL},
	    {"demo", "-bundle", "/b", "id"},  {"demo", "-bundle=/b", "id", NULL},
	    {"demo", "-b", "/b", "id"},       {"demo", "-b=/b", "id", NULL},
	    {"demo", "--b", "/b", "id"},
	};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		int argc = forms[i][3] ? 4 : 3;
		assert_int_equal(demo_parse(argc, forms[i], &d, &p, &err), 0);
		assert_string_equal(d.bundle, "/b");
		assert_int_equal(p.n_args, 1);
		assert_string_equal(p.args[0], "id");
	}
}

static void test_flags(void **state)
{
	char *a[] = {"demo", "-d", "-no-subreaper", "id"};
	char *b[] = {"demo", "--detach=false", "--no-subreaper=true", "id"};
	char *c[] = {"demo", "--detach=maybe", "id"};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	assert_int_equal(demo_parse(ARGC(a), a, &d, &p, &err), 0);
	assert_true(d.detach);
	assert_true(d.no_subreaper);
	assert_int_equal(demo_parse(ARGC(b), b, &d, &p, &err), 0);
	assert_false(d.detach);
	assert_true(d.no_subreaper);
	assert_int_equal(demo_parse(ARGC(c), c, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "demo: invalid value \"maybe\" for option \"--detach\": expected true or false");
}

static void test_positional_order(void **state)
{
	/* Options before, between and after the positionals; positional order is kept. */
	char *before[] = {"demo", "-d", "-b", "/b", "id", "9"};
	char *between[] = {"demo", "id", "--bundle", "/b", "9", "-d"};
	char *after[] = {"demo", "id", "9", "-d", "--bundle=/b"};
	char **lines[] = {before, between, after};
	int counts[] = {ARGC(before), ARGC(between), ARGC(after)};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(demo_parse(counts[i], lines[i], &d, &p, &err), 0);
		assert_true(d.detach);
		assert_string_equal(d.bundle, "/b");
		assert_int_equal(p.n_args, 2);
		assert_string_equal(p.args[0], "id");
		assert_string_equal(p.args[1], "9");
		assert_int_equal(p.rest, counts[i]);
	}
}

static void test_unknown_option(void **state)
{
	char *a[] = {"demo", "--bogus", "id"};
	char *b[] = {"demo", "id", "-x"};
	char *c[] = {"demo", "--bogus=1", "id"};
	char *d3[] = {"demo", "---bundle", "/b", "id"};
	char *e[] = {"demo", "-db", "id"}; /* short flags are not grouped */
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	assert_int_equal(demo_parse(ARGC(a), a, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "demo: unknown option \"--bogus\"");
	assert_int_equal(demo_parse(ARGC(b), b, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "demo: unknown option \"-x\"");
	assert_int_equal(demo_parse(ARGC(c), c, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "demo: unknown option \"--bogus\"");
	assert_int_equal(demo_parse(ARGC(d3), d3, &d, &p, &err), -EINVAL);
	assert_msg_contains(&err, "unknown option \"---bundle\"");
	assert_int_equal(demo_parse(ARGC(e), e, &d, &p, &err), -EINVAL);
	assert_msg_contains(&err, "unknown option \"-db\"");
}

static void test_missing_value(void **state)
{
	char *a[] = {"demo", "id", "--bundle"};
	char *b[] = {"demo", "id", "-p"};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	assert_int_equal(demo_parse(ARGC(a), a, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "demo: option \"--bundle\" requires a value");
	assert_int_equal(demo_parse(ARGC(b), b, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "demo: option \"-p\" requires a value");
}

static void test_value_may_look_like_option(void **state)
{
	/* As in Go: a value option takes the next word whatever it is (`--resources -`). */
	char *a[] = {"demo", "--bundle", "-", "--pid-file", "--detach", "id"};
	char *b[] = {"demo", "--bundle=", "id"};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	assert_int_equal(demo_parse(ARGC(a), a, &d, &p, &err), 0);
	assert_string_equal(d.bundle, "-");
	assert_string_equal(d.pid_file, "--detach");
	assert_false(d.detach);
	assert_int_equal(demo_parse(ARGC(b), b, &d, &p, &err), 0);
	assert_string_equal(d.bundle, "");
}

static void test_double_dash(void **state)
{
	char *a[] = {"demo", "-d", "--", "--bundle", "-x"};
	char *b[] = {"demo", "-", "--"};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	assert_int_equal(demo_parse(ARGC(a), a, &d, &p, &err), 0);
	assert_true(d.detach);
	assert_null(d.bundle);
	assert_int_equal(p.n_args, 2);
	assert_string_equal(p.args[0], "--bundle");
	assert_string_equal(p.args[1], "-x");
	/* A lone "-" is an argument (stdin), and a trailing "--" is fine. */
	assert_int_equal(demo_parse(ARGC(b), b, &d, &p, &err), 0);
	assert_int_equal(p.n_args, 1);
	assert_string_equal(p.args[0], "-");
}

static void test_argument_count(void **state)
{
	char *none[] = {"demo", "-d"};
	char *many[] = {"demo", "a", "b", "c"};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	assert_int_equal(demo_parse(ARGC(none), none, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "demo: missing argument ID");
	assert_int_equal(demo_parse(ARGC(many), many, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "demo: unexpected argument \"c\"");
}

static void test_int_and_choice(void **state)
{
	char *ok[] = {"demo", "--count", "7", "-f", "json", "id"};
	char *big[] = {"demo", "--count=11", "id"};
	char *junk[] = {"demo", "--count", "7x", "id"};
	char *bad[] = {"demo", "--format", "xml", "id"};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	assert_int_equal(demo_parse(ARGC(ok), ok, &d, &p, &err), 0);
	assert_int_equal(d.count, 7);
	assert_int_equal(d.format, 1);
	assert_int_equal(demo_parse(ARGC(big), big, &d, &p, &err), -EINVAL);
	assert_string_equal(
	    err.msg, "demo: invalid value \"11\" for option \"--count\": expected an integer from 0 to 10");
	assert_int_equal(demo_parse(ARGC(junk), junk, &d, &p, &err), -EINVAL);
	assert_int_equal(demo_parse(ARGC(bad), bad, &d, &p, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "demo: invalid value \"xml\" for option \"--format\": expected table|json");
}

static void test_list_option(void **state)
{
	char *a[] = {"demo", "-e", "A=1", "id", "--env=B=2", "-env", "C=3"};
	char *fails[] = {"demo", "-e", "A=1", "-e", "B=2", "--bogus"};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	assert_int_equal(demo_parse(ARGC(a), a, &d, &p, &err), 0);
	assert_int_equal(d.env.n, 3);
	assert_string_equal(d.env.items[0], "A=1");
	assert_string_equal(d.env.items[1], "B=2");
	assert_string_equal(d.env.items[2], "C=3");
	cli_list_free(&d.env);
	assert_null(d.env.items);
	assert_int_equal(d.env.n, 0);
	/* A failed parse frees what it collected (the sanitizer build checks for the leak). */
	assert_int_equal(demo_parse(ARGC(fails), fails, &d, &p, &err), -EINVAL);
	assert_null(d.env.items);
}

static void test_help(void **state)
{
	char *a[] = {"demo", "--help"};
	char *b[] = {"demo", "x", "-h", "--bogus"};
	char *c[] = {"demo", "-help"};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d;

	(void)state;
	/* Help skips the argument checks and whatever follows it. */
	assert_int_equal(demo_parse(ARGC(a), a, &d, &p, &err), 0);
	assert_true(p.help);
	assert_int_equal(demo_parse(ARGC(b), b, &d, &p, &err), 0);
	assert_true(p.help);
	assert_int_equal(demo_parse(ARGC(c), c, &d, &p, &err), 0);
	assert_true(p.help);
}

/* exec and restore are not implemented yet, but the parser must already take what containerd
 * sends them: restore's `-no-subreaper` (one dash), and exec's process args after the id. */
static void test_containerd_restore_and_exec_lines(void **state)
{
	char *restore[] = {
	    "restore",     "--image-path",     "/i", "--work-path",   "/w",       "--detach", "--pid-file",
	    "/b/init.pid", "--console-socket", "/s", "-no-subreaper", "--bundle", "/b",       "c1"};
	static const struct cli_option restore_options[] = {
	    {.name = "image-path", .type = CLI_STRING, .offset = offsetof(struct demo, bundle)},
	    {.name = "work-path", .type = CLI_STRING, .offset = offsetof(struct demo, pid_file)},
	    {.name = "detach", .short_name = 'd', .type = CLI_FLAG, .offset = offsetof(struct demo, detach)},
	    {.name = "pid-file", .type = CLI_STRING, .offset = offsetof(struct demo, pid_file)},
	    {.name = "console-socket", .type = CLI_LIST, .offset = offsetof(struct demo, env)},
	    {.name = "no-subreaper", .type = CLI_FLAG, .offset = offsetof(struct demo, no_subreaper)},
	    {.name = "bundle",
	     .short_name = 'b',
	     .type = CLI_STRING,
	     .offset = offsetof(struct demo, bundle)},
	};
	const struct cli_spec restore_spec = {
	    .command = "restore", .options = restore_options, .n_options = 7, .min_args = 1, .max_args = 1};
	char *exec[] = {"exec", "--detach", "c1", "ls", "-la", "--color"};
	const struct cli_spec exec_spec = {
	    .command = "exec", .options = restore_options, .n_options = 7, .max_args = 1, .stop_after = 1};
	struct berth_error err = {0};
	struct cli_parsed p;
	struct demo d = {0};

	(void)state;
	assert_int_equal(cli_parse(&restore_spec, ARGC(restore), restore, &d, &p, &err), 0);
	assert_true(d.detach);
	assert_true(d.no_subreaper);
	assert_string_equal(d.bundle, "/b");
	assert_string_equal(d.pid_file, "/b/init.pid");
	assert_int_equal(d.env.n, 1);
	assert_string_equal(p.args[0], "c1");
	cli_list_free(&d.env);

	memset(&d, 0, sizeof(d));
	assert_int_equal(cli_parse(&exec_spec, ARGC(exec), exec, &d, &p, &err), 0);
	assert_true(d.detach);
	assert_string_equal(p.args[0], "c1");
	assert_int_equal(p.rest, 3); /* "ls -la --color" is left for the process */
}

/* ---- global options ---- */

static void test_global_containerd_prefix(void **state)
{
	char *argv[] = {"berth", "--root",      "/run/containerd/runc/default",
			"--log", "/b/log.json", "--log-format",
			"json",  "create",      "--bundle",
			"/b",    "c1"};
	struct berth_error err = {0};
	struct cli_global g;

	(void)state;
	assert_int_equal(cli_global_parse(ARGC(argv), argv, &g, &err), 0);
	assert_string_equal(g.root, "/run/containerd/runc/default");
	assert_string_equal(g.log, "/b/log.json");
	assert_int_equal(g.log_format, BERTH_LOG_JSON);
	assert_string_equal(g.command, "create");
	assert_int_equal(g.cmd_argc, 4);
	assert_string_equal(g.cmd_argv[0], "create");
	assert_string_equal(g.cmd_argv[1], "--bundle");
	assert_string_equal(g.cmd_argv[3], "c1");
}

static void test_global_defaults_and_flags(void **state)
{
	char *none[] = {"berth", "list"};
	char *all[] = {"berth", "-debug", "--systemd-cgroup", "-criu=/usr/sbin/criu", "--rootless", "false",
		       "list",  "-q"};
	struct berth_error err = {0};
	struct cli_global g;

	(void)state;
	unsetenv("XDG_RUNTIME_DIR"); /* a non-root caller's default is there (test_rootless.c) */
	assert_int_equal(cli_global_parse(ARGC(none), none, &g, &err), 0);
	assert_string_equal(g.root, "/run/berth");
	assert_string_equal(g.criu, "criu");
	assert_null(g.log);
	assert_int_equal(g.log_format, BERTH_LOG_TEXT);
	assert_int_equal(g.rootless, BERTH_ROOTLESS_AUTO);
	assert_false(g.debug);
	assert_int_equal(cli_global_parse(ARGC(all), all, &g, &err), 0);
	assert_true(g.debug);
	assert_true(g.systemd_cgroup);
	assert_string_equal(g.criu, "/usr/sbin/criu");
	assert_int_equal(g.rootless, BERTH_ROOTLESS_FALSE);
	/* Options after the command are the command's, untouched here. */
	assert_int_equal(g.cmd_argc, 2);
	assert_string_equal(g.cmd_argv[1], "-q");
}

static void test_global_errors(void **state)
{
	char *cmd_opt_first[] = {"berth", "--bundle", "/b", "create", "c1"};
	char *bad_format[] = {"berth", "--log-format", "xml", "list"};
	char *bad_rootless[] = {"berth", "--rootless=maybe", "list"};
	char *missing[] = {"berth", "--root"};
	struct berth_error err = {0};
	struct cli_global g;

	(void)state;
	assert_int_equal(cli_global_parse(ARGC(cmd_opt_first), cmd_opt_first, &g, &err), -EINVAL);
	assert_string_equal(err.msg, "unknown option \"--bundle\"");
	assert_int_equal(cli_global_parse(ARGC(bad_format), bad_format, &g, &err), -EINVAL);
	assert_msg_contains(&err, "expected text|json");
	assert_int_equal(cli_global_parse(ARGC(bad_rootless), bad_rootless, &g, &err), -EINVAL);
	assert_msg_contains(&err, "expected auto|true|false");
	assert_int_equal(cli_global_parse(ARGC(missing), missing, &g, &err), -EINVAL);
	assert_string_equal(err.msg, "option \"--root\" requires a value");
}

static void test_global_help_version_nocommand(void **state)
{
	char *help[] = {"berth", "-h"};
	char *version[] = {"berth", "--version"};
	char *v[] = {"berth", "-v"};
	char *nothing[] = {"berth", "--debug"};
	struct berth_error err = {0};
	struct cli_global g;

	(void)state;
	assert_int_equal(cli_global_parse(ARGC(help), help, &g, &err), 0);
	assert_true(g.help);
	assert_int_equal(cli_global_parse(ARGC(version), version, &g, &err), 0);
	assert_true(g.version);
	assert_int_equal(cli_global_parse(ARGC(v), v, &g, &err), 0);
	assert_true(g.version);
	assert_int_equal(cli_global_parse(ARGC(nothing), nothing, &g, &err), 0);
	assert_null(g.command);
}

/* ---- the commands, with containerd's exact lines ---- */

/* Split a full containerd line into globals and the command's words. */
static void split(int argc, char **argv, struct cli_global *g)
{
	struct berth_error err = {0};

	assert_int_equal(cli_global_parse(argc, argv, g, &err), 0);
	assert_non_null(g->command);
}

static void test_create_containerd(void **state)
{
	char *argv[] = {"berth",
			"--root",
			"/run/containerd/runc/k8s.io",
			"--log",
			"/b/log.json",
			"--log-format",
			"json",
			"create",
			"--bundle",
			"/b",
			"--pid-file",
			"/b/init.pid",
			"--console-socket",
			"/tmp/pty.sock",
			"c1"};
	struct berth_error err = {0};
	struct create_cli c;
	struct cli_global g;

	(void)state;
	split(ARGC(argv), argv, &g);
	assert_string_equal(g.command, "create");
	assert_int_equal(cmd_create_parse(g.cmd_argc, g.cmd_argv, &c, &err), 0);
	assert_false(c.help);
	assert_string_equal(c.opts.id, "c1");
	assert_string_equal(c.opts.bundle, "/b");
	assert_string_equal(c.opts.pid_file, "/b/init.pid");
	assert_string_equal(c.opts.console_socket, "/tmp/pty.sock");
	assert_false(c.opts.no_pivot);
	assert_int_equal(c.opts.preserve_fds, 0);
}

static void test_create_all_flags(void **state)
{
	char *argv[] = {"create", "c1", "-b", "/b", "--no-pivot", "-no-new-keyring", "--preserve-fds=2"};
	char *empty[] = {"create", "--pid-file=", "--bundle", "", "c1"};
	char *no_id[] = {"create", "--bundle", "/b"};
	char *bad_id[] = {"create", "../etc"};
	char *bad_fds[] = {"create", "--preserve-fds", "-1", "c1"};
	char *two[] = {"create", "c1", "c2"};
	struct berth_error err = {0};
	struct create_cli c;

	(void)state;
	assert_int_equal(cmd_create_parse(ARGC(argv), argv, &c, &err), 0);
	assert_string_equal(c.opts.id, "c1");
	assert_string_equal(c.opts.bundle, "/b");
	assert_true(c.opts.no_pivot);
	assert_true(c.opts.no_new_keyring);
	assert_int_equal(c.opts.preserve_fds, 2);
	assert_null(c.opts.pid_file);
	/* runc treats empty strings as not given. */
	assert_int_equal(cmd_create_parse(ARGC(empty), empty, &c, &err), 0);
	assert_null(c.opts.pid_file);
	assert_null(c.opts.bundle);
	assert_int_equal(cmd_create_parse(ARGC(no_id), no_id, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "create: missing argument ID");
	assert_int_equal(cmd_create_parse(ARGC(bad_id), bad_id, &c, &err), -EINVAL);
	assert_msg_contains(&err, "invalid container id \"../etc\"");
	assert_int_equal(cmd_create_parse(ARGC(bad_fds), bad_fds, &c, &err), -EINVAL);
	assert_int_equal(cmd_create_parse(ARGC(two), two, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "create: unexpected argument \"c2\"");
}

static void test_run(void **state)
{
	char *argv[] = {"run", "-d", "--keep", "--bundle", "/b", "--pid-file", "/p", "c1"};
	char *fg[] = {"run", "c1"};
	struct berth_error err = {0};
	struct run_cli r;

	(void)state;
	assert_int_equal(cmd_run_parse(ARGC(argv), argv, &r, &err), 0);
	assert_true(r.opts.detach);
	assert_true(r.opts.keep);
	assert_string_equal(r.opts.create.id, "c1");
	assert_string_equal(r.opts.create.bundle, "/b");
	assert_string_equal(r.opts.create.pid_file, "/p");
	assert_int_equal(cmd_run_parse(ARGC(fg), fg, &r, &err), 0);
	assert_false(r.opts.detach);
	assert_false(r.opts.keep);
	assert_null(r.opts.create.bundle);
}

/* runc 1.1's spellings: exec --cgroup [controller:]path (repeatable), update --cpu-share next to
 * --cpu-shares, kill with signal 0, run --no-subreaper. */
static void test_runc_flags(void **state)
{
	char *exec[] = {"exec", "--cgroup", "cpu,cpuacct:sub", "--cgroup", "inner", "c1", "true", NULL};
	char *share[] = {"update", "--cpu-share", "512", "c1", NULL};
	char *shares[] = {"update", "--cpu-shares", "256", "c1", NULL};
	char *bad_share[] = {"update", "--cpu-share", "x", "c1", NULL};
	char *kill0[] = {"kill", "--all", "c1", "0"};
	char *run[] = {"run", "--no-subreaper", "-d", "c1"};
	struct berth_error err = {0};
	struct exec_cli e;
	struct update_cli u;
	struct kill_cli k;
	struct run_cli r;

	(void)state;
	assert_int_equal(cmd_exec_parse(ARGC(exec) - 1, exec, &e, &err), 0);
	assert_non_null(e.opts.cgroups);
	assert_string_equal(e.opts.cgroups[0], "cpu,cpuacct:sub");
	assert_string_equal(e.opts.cgroups[1], "inner");
	assert_null(e.opts.cgroups[2]);
	assert_string_equal(e.opts.args[0], "true");
	exec_cli_free(&e);
	assert_int_equal(cmd_update_parse(ARGC(share) - 1, share, &u, &err), 0);
	assert_true(u.flags_res.has_cpu && u.flags_res.cpu.has_shares);
	assert_int_equal(u.flags_res.cpu.shares, 512);
	assert_int_equal(cmd_update_parse(ARGC(shares) - 1, shares, &u, &err), 0);
	assert_int_equal(u.flags_res.cpu.shares, 256);
	assert_int_equal(cmd_update_parse(ARGC(bad_share) - 1, bad_share, &u, &err), -EINVAL);
	assert_int_equal(cmd_kill_parse(ARGC(kill0), kill0, &k, &err), 0);
	assert_int_equal(k.signal, 0);
	assert_true(k.all);
	assert_int_equal(cmd_run_parse(ARGC(run), run, &r, &err), 0);
	assert_true(r.opts.detach);
	assert_string_equal(r.opts.create.id, "c1");
}

static void test_start_state(void **state)
{
	char *start[] = {"berth",        "--root", "/r",    "--log", "/b/log.json",
			 "--log-format", "json",   "start", "c1"};
	char *st[] = {"state", "c1"};
	char *none[] = {"state"};
	struct berth_error err = {0};
	struct cli_global g;
	struct id_cli c;

	(void)state;
	split(ARGC(start), start, &g);
	assert_int_equal(cmd_start_parse(g.cmd_argc, g.cmd_argv, &c, &err), 0);
	assert_string_equal(c.id, "c1");
	assert_int_equal(cmd_state_parse(ARGC(st), st, &c, &err), 0);
	assert_string_equal(c.id, "c1");
	assert_int_equal(cmd_state_parse(ARGC(none), none, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "state: missing argument ID");
}

static void test_kill_containerd(void **state)
{
	char *plain[] = {"berth",        "--root", "/r",   "--log", "/b/log.json",
			 "--log-format", "json",   "kill", "c1",    "9"};
	char *all[] = {"berth", "--root", "/r", "--log", "/b/log.json", "--log-format", "json",
		       "kill",  "--all",  "c1", "9"};
	struct berth_error err = {0};
	struct cli_global g;
	struct kill_cli k;

	(void)state;
	split(ARGC(plain), plain, &g);
	assert_int_equal(cmd_kill_parse(g.cmd_argc, g.cmd_argv, &k, &err), 0);
	assert_string_equal(k.id, "c1");
	assert_int_equal(k.signal, SIGKILL);
	assert_false(k.all);
	split(ARGC(all), all, &g);
	assert_int_equal(cmd_kill_parse(g.cmd_argc, g.cmd_argv, &k, &err), 0);
	assert_string_equal(k.id, "c1");
	assert_int_equal(k.signal, SIGKILL);
	assert_true(k.all);
}

static void test_kill_forms(void **state)
{
	char *dflt[] = {"kill", "c1"};
	char *name[] = {"kill", "c1", "SIGHUP"};
	char *after[] = {"kill", "c1", "KILL", "-a"};
	char *bad[] = {"kill", "c1", "NOPE"};
	char *zero[] = {"kill", "c1", "0"};
	char *three[] = {"kill", "c1", "9", "x"};
	struct berth_error err = {0};
	struct kill_cli k;

	(void)state;
	assert_int_equal(cmd_kill_parse(ARGC(dflt), dflt, &k, &err), 0);
	assert_int_equal(k.signal, SIGTERM);
	assert_int_equal(cmd_kill_parse(ARGC(name), name, &k, &err), 0);
	assert_int_equal(k.signal, SIGHUP);
	assert_int_equal(cmd_kill_parse(ARGC(after), after, &k, &err), 0);
	assert_int_equal(k.signal, SIGKILL);
	assert_true(k.all);
	assert_int_equal(cmd_kill_parse(ARGC(bad), bad, &k, &err), -EINVAL);
	assert_string_equal(err.msg, "kill: invalid signal \"NOPE\"");
	assert_int_equal(cmd_kill_parse(ARGC(zero), zero, &k, &err), 0); /* runc's liveness probe */
	assert_int_equal(k.signal, 0);
	assert_int_equal(cmd_kill_parse(ARGC(three), three, &k, &err), -EINVAL);
	assert_string_equal(err.msg, "kill: unexpected argument \"x\"");
}

static void test_delete_containerd(void **state)
{
	char *plain[] = {"berth",        "--root", "/r",     "--log", "/b/log.json",
			 "--log-format", "json",   "delete", "c1"};
	char *force[] = {"berth",        "--root", "/r",     "--log",   "/b/log.json",
			 "--log-format", "json",   "delete", "--force", "c1"};
	char *short_after[] = {"delete", "c1", "-f"};
	struct berth_error err = {0};
	struct cli_global g;
	struct delete_cli dl;

	(void)state;
	split(ARGC(plain), plain, &g);
	assert_int_equal(cmd_delete_parse(g.cmd_argc, g.cmd_argv, &dl, &err), 0);
	assert_string_equal(dl.id, "c1");
	assert_false(dl.force);
	split(ARGC(force), force, &g);
	assert_int_equal(cmd_delete_parse(g.cmd_argc, g.cmd_argv, &dl, &err), 0);
	assert_true(dl.force);
	assert_int_equal(cmd_delete_parse(ARGC(short_after), short_after, &dl, &err), 0);
	assert_true(dl.force);
	assert_string_equal(dl.id, "c1");
}

static void test_list(void **state)
{
	char *dflt[] = {"list"};
	char *json[] = {"list", "--format", "json"};
	char *quiet[] = {"list", "-q", "-f=json"};
	char *bad[] = {"list", "--format", "yaml"};
	char *arg[] = {"list", "c1"};
	struct berth_error err = {0};
	struct list_cli l;

	(void)state;
	assert_int_equal(cmd_list_parse(ARGC(dflt), dflt, &l, &err), 0);
	assert_int_equal(l.format, LIST_FORMAT_TABLE);
	assert_false(l.quiet);
	assert_int_equal(cmd_list_parse(ARGC(json), json, &l, &err), 0);
	assert_int_equal(l.format, LIST_FORMAT_JSON);
	assert_int_equal(cmd_list_parse(ARGC(quiet), quiet, &l, &err), 0);
	assert_true(l.quiet);
	assert_int_equal(l.format, LIST_FORMAT_JSON);
	assert_int_equal(cmd_list_parse(ARGC(bad), bad, &l, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "list: invalid value \"yaml\" for option \"--format\": expected table|json");
	assert_int_equal(cmd_list_parse(ARGC(arg), arg, &l, &err), -EINVAL);
}

static void test_spec_features(void **state)
{
	char *dflt[] = {"spec"};
	char *all[] = {"spec", "--rootless", "-bundle", "/b"};
	char *feat[] = {"features"};
	char *feat_arg[] = {"features", "x"};
	struct berth_error err = {0};
	struct features_cli f;
	struct spec_cli s;

	(void)state;
	assert_int_equal(cmd_spec_parse(ARGC(dflt), dflt, &s, &err), 0);
	assert_string_equal(s.bundle, ".");
	assert_false(s.rootless);
	assert_int_equal(cmd_spec_parse(ARGC(all), all, &s, &err), 0);
	assert_string_equal(s.bundle, "/b");
	assert_true(s.rootless);
	assert_int_equal(cmd_features_parse(ARGC(feat), feat, &f, &err), 0);
	assert_int_equal(cmd_features_parse(ARGC(feat_arg), feat_arg, &f, &err), -EINVAL);
}

static void test_every_command_has_help(void **state)
{
	struct berth_error err = {0};
	size_t i;

	(void)state;
	for (i = 0; i < cli_n_commands; i++) {
		char *argv[] = {(char *)cli_commands[i].name, "--help"};
		struct cli_parsed p;
		char big[512] = {0};

		if (!cli_commands[i].spec)
			continue;
		assert_int_equal(cli_parse(cli_commands[i].spec, 2, argv, big, &p, &err), 0);
		assert_true(p.help);
	}
}

/* exec: options before the id, the command after it passed through untouched (even "-c"). */
static void test_exec_parse(void **state)
{
	char *shim[] = {"exec", "--process", "/tmp/p.json", "--detach", "--pid-file", "/b/e.pid", "c1", NULL};
	char *cmd[] = {"exec",     "-t", "-e", "A=1", "-e", "B=2", "-u",      "1000:1000", "--cap",
		       "CAP_KILL", "-g", "10", "c1",  "sh", "-c",  "echo -x", NULL};
	char *dashdash[] = {"exec", "c1", "--", "ls", "-l", NULL};
	char *none[] = {"exec", "c1", NULL};
	char *badgid[] = {"exec", "-g", "x", "c1", "true", NULL};
	struct exec_cli cli;
	struct berth_error err = {0};

	(void)state;
	assert_int_equal(cmd_exec_parse(ARGC(shim) - 1, shim, &cli, &err), 0);
	assert_string_equal(cli.opts.process_file, "/tmp/p.json");
	assert_true(cli.opts.detach);
	assert_string_equal(cli.opts.pid_file, "/b/e.pid");
	assert_string_equal(cli.opts.id, "c1");
	assert_null(cli.opts.args);
	exec_cli_free(&cli);

	assert_int_equal(cmd_exec_parse(ARGC(cmd) - 1, cmd, &cli, &err), 0);
	assert_true(cli.opts.tty);
	assert_string_equal(cli.opts.env[0], "A=1");
	assert_string_equal(cli.opts.env[1], "B=2");
	assert_null(cli.opts.env[2]);
	assert_string_equal(cli.opts.user, "1000:1000");
	assert_string_equal(cli.opts.caps[0], "CAP_KILL");
	assert_int_equal(cli.opts.n_additional_gids, 1);
	assert_int_equal(cli.opts.additional_gids[0], 10);
	assert_string_equal(cli.opts.args[0], "sh");
	assert_string_equal(cli.opts.args[1], "-c");
	assert_string_equal(cli.opts.args[2], "echo -x");
	assert_null(cli.opts.args[3]);
	exec_cli_free(&cli);

	assert_int_equal(cmd_exec_parse(ARGC(dashdash) - 1, dashdash, &cli, &err), 0);
	assert_string_equal(cli.opts.args[0], "ls");
	exec_cli_free(&cli);

	assert_int_equal(cmd_exec_parse(ARGC(none) - 1, none, &cli, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "COMMAND"));
	assert_int_equal(cmd_exec_parse(ARGC(badgid) - 1, badgid, &cli, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--additional-gids"));
}

/* update: byte sizes and flags -> linux.resources; events: durations. */
static void test_update_parse(void **state)
{
	int64_t v = 0;
	uint64_t ms = 0;
	(void)state;
	assert_int_equal(cli_parse_bytes("64m", &v), 0);
	assert_int_equal(v, 67108864);
	assert_int_equal(cli_parse_bytes("1G", &v), 0);
	assert_int_equal(v, 1073741824);
	assert_int_equal(cli_parse_bytes("512kb", &v), 0);
	assert_int_equal(v, 524288);
	assert_int_equal(cli_parse_bytes("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(cli_parse_bytes("-1", &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(cli_parse_bytes("-2", &v), -EINVAL);
	assert_int_equal(cli_parse_bytes("-1m", &v), -EINVAL);
	assert_int_equal(cli_parse_bytes("10x", &v), -EINVAL);
	assert_int_equal(cli_parse_bytes("", &v), -EINVAL);
	assert_int_equal(cli_parse_bytes("9999999t", &v), -EINVAL);
	assert_int_equal(cli_parse_duration_ms("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(cli_parse_duration_ms("5s", &ms), 0);
	assert_int_equal(ms, 5000);
	assert_int_equal(cli_parse_duration_ms("1m", &ms), 0);
	assert_int_equal(ms, 60000);
	assert_int_equal(cli_parse_duration_ms("0s", &ms), -EINVAL);
	assert_int_equal(cli_parse_duration_ms("5", &ms), -EINVAL);
	assert_int_equal(cli_parse_duration_ms("-5s", &ms), -EINVAL);

	char *flags[] = {"update", "--memory",      "64m",   "--memory-swap",  "-1",     "--pids-limit",
			 "100",    "--cpu-quota",   "50000", "--cpu-period",   "100000", "--cpu-shares",
			 "512",    "--cpuset-cpus", "0-1",   "--blkio-weight", "500",    "c1",
			 NULL};
	struct update_cli u;
	struct berth_error err = {0};
	assert_int_equal(cmd_update_parse(ARGC(flags) - 1, flags, &u, &err), 0);
	assert_string_equal(u.id, "c1");
	assert_true(u.flags_res.has_memory && u.flags_res.memory.has_limit && u.flags_res.memory.has_swap);
	assert_int_equal(u.flags_res.memory.limit, 67108864);
	assert_int_equal(u.flags_res.memory.swap, -1);
	assert_false(u.flags_res.memory.has_reservation);
	assert_true(u.flags_res.has_pids);
	assert_int_equal(u.flags_res.pids_limit, 100);
	assert_true(u.flags_res.has_cpu && u.flags_res.cpu.has_quota && u.flags_res.cpu.has_period);
	assert_int_equal(u.flags_res.cpu.quota, 50000);
	assert_int_equal(u.flags_res.cpu.period, 100000);
	assert_int_equal(u.flags_res.cpu.shares, 512);
	assert_string_equal(u.flags_res.cpu.cpus, "0-1");
	assert_true(u.flags_res.has_block_io);
	assert_int_equal(u.flags_res.block_io.weight, 500);

	char *none[] = {"update", "c1", NULL};
	assert_int_equal(cmd_update_parse(ARGC(none) - 1, none, &u, &err), 0);
	assert_false(u.flags_res.has_memory || u.flags_res.has_cpu || u.flags_res.has_pids ||
		     u.flags_res.has_block_io);

	char *bad_mem[] = {"update", "--memory", "lots", "c1", NULL};
	assert_int_equal(cmd_update_parse(ARGC(bad_mem) - 1, bad_mem, &u, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--memory"));
	char *bad_weight[] = {"update", "--blkio-weight", "5", "c1", NULL};
	assert_int_equal(cmd_update_parse(ARGC(bad_weight) - 1, bad_weight, &u, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--blkio-weight"));
	char *neg_period[] = {"update", "--cpu-period", "-5", "c1", NULL};
	assert_int_equal(cmd_update_parse(ARGC(neg_period) - 1, neg_period, &u, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--cpu-period"));
}

static void test_command_table(void **state)
{
	(void)state;
	assert_non_null(cli_command_find("create"));
	assert_non_null(cli_command_find("create")->run);
	assert_non_null(cli_command_find("exec"));
	assert_non_null(cli_command_find("exec")->run);
	assert_non_null(cli_command_find("update")->run);
	assert_null(cli_command_find("bogus"));
	assert_null(cli_command_find("Create"));
}

/* ---- cli_main exit statuses for the paths that do not reach the runtime ---- */

/* Run cli_main with stdout and stderr sent to a file; returns the status and leaves what was
 * written in @out (at most @size - 1 bytes). */
static int run_main(int argc, char **argv, char *out, size_t size)
{
	char path[] = "/tmp/berth-test-args-XXXXXX";
	int fd = mkstemp(path), saved_out, saved_err, status;
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	status = cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return status;
}

static void test_main_statuses(void **state)
{
	char *unknown[] = {"berth", "frobnicate"};
	char *missing[] = {"berth", "--root", "/nonexistent-berth-root", "state", "c1"};
	char *help[] = {"berth", "create", "--help"};
	char *help_cmd[] = {"berth", "help", "kill"};
	char *version[] = {"berth", "--version"};
	char *usage[] = {"berth", "create"};
	char *bad_global[] = {"berth", "--frob", "list"};
	char *nothing[] = {"berth"};
	char out[8192];

	(void)state;
	assert_int_equal(run_main(ARGC(unknown), unknown, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "berth: unknown command \"frobnicate\""));
	assert_int_equal(run_main(ARGC(missing), missing, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "berth: container \"c1\" does not exist\n"));
	assert_int_equal(run_main(ARGC(help), help, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "Usage: berth create [OPTIONS] ID"));
	assert_non_null(strstr(out, "--console-socket PATH"));
	assert_int_equal(run_main(ARGC(help_cmd), help_cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "Usage: berth kill [OPTIONS] ID [SIGNAL]"));
	assert_int_equal(run_main(ARGC(version), version, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "berth version "));
	assert_non_null(strstr(out, "\nspec: 1.2.0\n"));
	assert_int_equal(run_main(ARGC(usage), usage, out, sizeof(out)), 2);
	assert_non_null(
	    strstr(out, "berth: create: missing argument ID\nRun 'berth create --help' for usage.\n"));
	assert_int_equal(run_main(ARGC(bad_global), bad_global, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "berth: unknown option \"--frob\""));
	assert_int_equal(run_main(ARGC(nothing), nothing, out, sizeof(out)), 2);
}

/* With --log, errors also go to the log file, as JSON records with --log-format json. */
static void test_main_logs_errors(void **state)
{
	char path[] = "/tmp/berth-test-log-XXXXXX";
	char *argv[] = {"berth", "--root", "/nonexistent-berth-root", "--log", path, "--log-format", "json",
			"state", "c1"};
	char out[4096], log[4096];
	int fd = mkstemp(path);
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(run_main(ARGC(argv), argv, out, sizeof(out)), 1);
	n = pread(fd, log, sizeof(log) - 1, 0);
	assert_true(n > 0);
	log[n] = '\0';
	assert_non_null(strstr(log, "\"level\":\"error\""));
	assert_non_null(strstr(log, "container \\\"c1\\\" does not exist"));
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_long_option_forms),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_positional_order),
	    cmocka_unit_test(test_unknown_option),
	    cmocka_unit_test(test_missing_value),
	    cmocka_unit_test(test_value_may_look_like_option),
	    cmocka_unit_test(test_double_dash),
	    cmocka_unit_test(test_argument_count),
	    cmocka_unit_test(test_int_and_choice),
	    cmocka_unit_test(test_list_option),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_exec_parse),
	    cmocka_unit_test(test_update_parse),
	    cmocka_unit_test(test_containerd_restore_and_exec_lines),
	    cmocka_unit_test(test_global_containerd_prefix),
	    cmocka_unit_test(test_global_defaults_and_flags),
	    cmocka_unit_test(test_global_errors),
	    cmocka_unit_test(test_global_help_version_nocommand),
	    cmocka_unit_test(test_create_containerd),
	    cmocka_unit_test(test_create_all_flags),
	    cmocka_unit_test(test_run),
	    cmocka_unit_test(test_start_state),
	    cmocka_unit_test(test_kill_containerd),
	    cmocka_unit_test(test_kill_forms),
	    cmocka_unit_test(test_delete_containerd),
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_spec_features),
	    cmocka_unit_test(test_every_command_has_help),
	    cmocka_unit_test(test_runc_flags),
	    cmocka_unit_test(test_command_table),
	    cmocka_unit_test(test_main_statuses),
	    cmocka_unit_test(test_main_logs_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
