/* berth run [OPTIONS] ID: create + start, and in the foreground wait for the container.
 * berth run --image NAME [OPTIONS] [COMMAND...]: the same from an image of the store, whose
 * bundle the images module prepares first (an overlay rootfs and a generated config.json). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/util.h"
#include "cli/cli.h"

static const struct cli_option run_options[] = {
    CLI_CREATE_OPTIONS(struct run_cli, opts.create),
    {.name = "detach",
     .short_name = 'd',
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, opts.detach),
     .help = "return once the container started instead of waiting for it"},
    {.name = "keep",
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, opts.keep),
     .help = "do not delete the container after it exits"},
};

const struct cli_spec cmd_run_spec = {
    .command = "run",
    .synopsis = "[OPTIONS] ID",
    .summary = "Create and start a container, and wait for it to exit.",
    .description = "In the foreground berth forwards signals to the container and exits with its\n"
		   "status (128+N when signal N killed it), then deletes it unless --keep is given.\n"
		   "With --image NAME the container comes from the image store instead of a bundle:\n"
		   "see `berth run --image - --help`.",
    .options = run_options,
    .n_options = ARRAY_SIZE(run_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

static const struct cli_option run_image_options[] = {
    {.name = "image",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, image),
     .metavar = "NAME",
     .help = "the image to run (from --storage)"},
    {.name = "name",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, name),
     .metavar = "ID",
     .help = "the container's id (default: berth-<random>)"},
    {.name = "rm",
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, rm),
     .help = "delete the container and its root filesystem when it exits"},
    {.name = "detach",
     .short_name = 'd',
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, opts.detach),
     .help = "print the id and return once the container started"},
    {.name = "tty",
     .short_name = 't',
     .type = CLI_FLAG,
     .offset = offsetof(struct run_cli, tty),
     .help = "give the process a terminal"},
    {.name = "env",
     .short_name = 'e',
     .type = CLI_LIST,
     .offset = offsetof(struct run_cli, env),
     .metavar = "NAME[=VALUE]",
     .help = "set an environment variable (NAME alone: berth's own value)"},
    {.name = "workdir",
     .short_name = 'w',
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, workdir),
     .metavar = "DIR",
     .help = "the working directory instead of the image's"},
    {.name = "user",
     .short_name = 'u',
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, user),
     .metavar = "USER[:GROUP]",
     .help = "the user instead of the image's (names from the image's /etc/passwd)"},
    {.name = "volume",
     .short_name = 'v',
     .type = CLI_LIST,
     .offset = offsetof(struct run_cli, volumes),
     .metavar = "SRC:DST[:ro]",
     .help = "bind-mount host path SRC at DST"},
    {.name = "net",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, net),
     .metavar = "NETWORK",
     .help = "join a berth network (`berth network create`); default: none"},
    {.name = "memory",
     .short_name = 'm',
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, memory),
     .metavar = "SIZE",
     .help = "memory limit (bytes, or with k, m, g)"},
    {.name = "pids-limit",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, pids_limit),
     .metavar = "N",
     .help = "at most N processes"},
    {.name = "cpus",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, cpus),
     .metavar = "N",
     .help = "CPU quota in CPUs (1.5)"},
    {.name = "cgroups-path",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, cgroups_path),
     .metavar = "PATH",
     .help = "linux.cgroupsPath (default: /berth/<id>)"},
    {.name = "pid-file",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, opts.create.pid_file),
     .metavar = "FILE",
     .help = "write the container's init pid to FILE"},
    {.name = "console-socket",
     .type = CLI_STRING,
     .offset = offsetof(struct run_cli, opts.create.console_socket),
     .metavar = "PATH",
     .help = "AF_UNIX socket that receives the terminal's master fd (with -t)"},
};

const struct cli_spec cmd_run_image_spec = {
    .command = "run",
    .synopsis = "--image NAME [OPTIONS] [COMMAND [ARG...]]",
    .summary = "Run a container from an image of the store.",
    .description = "The container's root filesystem is an overlay of the image's layers and its own\n"
		   "writable layer, in <storage>/containers/<id>. COMMAND replaces the image's Cmd (its\n"
		   "Entrypoint stays). Options end at COMMAND. Without --rm the stopped container\n"
		   "stays until `berth delete`, which also removes its root filesystem.",
    .options = run_image_options,
    .n_options = ARRAY_SIZE(run_image_options),
    .arg_names = (const char *const[]){"COMMAND"},
    .min_args = 0,
    .max_args = 1,
    .stop_after = 1,
};

/* Whether the words before "--" name --image: the two forms parse differently. */
static bool image_mode(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (strcmp(w, "--") == 0)
			break;
		if (w[0] != '-')
			continue;
		w += w[1] == '-' ? 2 : 1;
		if (strcmp(w, "image") == 0 || str_has_prefix(w, "image="))
			return true;
	}
	return false;
}

void run_cli_free(struct run_cli *cli)
{
	cli_list_free(&cli->env);
	cli_list_free(&cli->volumes);
	free(cli->args);
	cli->args = NULL;
}

static int parse_image_mode(int argc, char **argv, struct run_cli *cli, struct berth_error *err)
{
	struct cli_parsed parsed;
	int r, n;

	r = cli_parse(&cmd_run_image_spec, argc, argv, cli, &parsed, err);
	if (r < 0)
		return r;
	cli->help = parsed.help;
	if (cli->help)
		return 0;
	if (!cli->image || !cli->image[0])
		return berth_error_set(err, -EINVAL, "run: --image needs an image name");
	if (cli->name && cli_check_id(cli->name, err) < 0)
		return -EINVAL;
	if (cli->rm && cli->opts.detach)
		return berth_error_set(
		    err, -EINVAL, "run: --rm cannot be combined with -d (berth keeps no monitor process)");
	if (parsed.n_args == 0)
		return 0;
	/* The command: the first positional and every word after it, options or not. */
	n = 1 + argc - parsed.rest;
	cli->args = calloc((size_t)n + 1, sizeof(char *));
	if (!cli->args)
		return berth_error_set(err, -ENOMEM, "out of memory");
	cli->args[0] = parsed.args[0];
	for (int i = 1; i < n; i++)
		cli->args[i] = argv[parsed.rest + i - 1];
	return 0;
}

int cmd_run_parse(int argc, char **argv, struct run_cli *out, struct berth_error *err)
{
	struct run_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	if (image_mode(argc, argv)) {
		r = parse_image_mode(argc, argv, &cli, err);
		if (r < 0) {
			run_cli_free(&cli);
			return r;
		}
		cli_create_normalize(&cli.opts.create);
		*out = cli;
		return 0;
	}
	r = cli_parse(&cmd_run_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.help) {
		cli.opts.create.id = parsed.args[0];
		r = cli_check_id(cli.opts.create.id, err);
		if (r < 0)
			return r;
		cli_create_normalize(&cli.opts.create);
	}
	*out = cli;
	return 0;
}

/* ---- --image: from options to the bundle's settings ---- */

/* "512m" -> 536870912 (k, m, g, t: powers of 1024, as docker reads them). */
static int parse_size(const char *s, int64_t *ret)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end | 0x20) {
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	default:
		if (*end && (*end | 0x20) != 'b')
			return -EINVAL;
	}
	if (*end && end[1] && !((end[1] | 0x20) == 'b' && !end[2]))
		return -EINVAL;
	if (v == 0 || v > (unsigned long long)INT64_MAX >> shift)
		return -ERANGE;
	*ret = (int64_t)(v << shift);
	return 0;
}

static int parse_resources(const struct run_cli *cli, struct oci_image_run_opts *ro, struct berth_error *err)
{
	if (cli->memory) {
		if (parse_size(cli->memory, &ro->memory_limit) < 0)
			return berth_error_set(err, -EINVAL, "run: invalid --memory \"%s\"", cli->memory);
		ro->has_memory = true;
	}
	if (cli->pids_limit) {
		if (parse_int64(cli->pids_limit, 1, INT32_MAX, &ro->pids_limit) < 0)
			return berth_error_set(err, -EINVAL, "run: invalid --pids-limit \"%s\"",
					       cli->pids_limit);
		ro->has_pids = true;
	}
	if (cli->cpus) {
		char *end;
		double cpus = strtod(cli->cpus, &end);
		if (*end || !(cpus > 0) || cpus > 1024)
			return berth_error_set(err, -EINVAL, "run: invalid --cpus \"%s\"", cli->cpus);
		ro->cpu_period = 100000;
		ro->cpu_quota = (int64_t)(cpus * 100000 + 0.5);
		ro->has_cpu = true;
	}
	return 0;
}

/* The strings behind the bundle options, owned here. */
struct image_args {
	char **env;
	struct oci_image_bind *binds;
	char **owned; /* bind sources and destinations */
	size_t n_owned;
	struct oci_kv net;
};

static void image_args_free(struct image_args *a)
{
	free(a->env);
	for (size_t i = 0; i < a->n_owned; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->binds);
}

/* -e NAME takes berth's own value, and is left out when berth has none (as docker does). */
static int build_env(const struct run_cli *cli, struct image_args *a, struct berth_error *err)
{
	size_t n = 0;

	a->env = calloc(cli->env.n + 1, sizeof(char *));
	if (!a->env)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cli->env.n; i++) {
		const char *e = cli->env.items[i], *v;

		if (!e[0] || e[0] == '=')
			return berth_error_set(err, -EINVAL, "run: invalid -e \"%s\"", e);
		if (strchr(e, '=')) {
			a->env[n++] = (char *)e;
			continue;
		}
		/* getenv's value sits right after "NAME=" in the environment block. */
		v = getenv(e);
		if (v)
			a->env[n++] = (char *)(v - strlen(e) - 1);
	}
	return 0;
}

static int own(struct image_args *a, char *s)
{
	if (!s)
		return -ENOMEM;
	a->owned[a->n_owned++] = s;
	return 0;
}

static int build_binds(const struct run_cli *cli, struct image_args *a, struct berth_error *err)
{
	a->binds = calloc(cli->volumes.n + 1, sizeof(*a->binds));
	a->owned = calloc(2 * cli->volumes.n + 1, sizeof(char *));
	if (!a->binds || !a->owned)
		return berth_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cli->volumes.n; i++) {
		const char *v = cli->volumes.items[i];
		const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		char *src, *abs = NULL;

		if (!c1 || c1 == v || c1[1] != '/' ||
		    (c2 && strcmp(c2 + 1, "ro") != 0 && strcmp(c2 + 1, "rw") != 0))
			return berth_error_set(
			    err, -EINVAL, "run: invalid -v \"%s\": expected SRC:DST[:ro] with DST absolute",
			    v);
		src = strndup(v, (size_t)(c1 - v));
		if (own(a, src) < 0 || cli_absolute_path(src, &abs, err) < 0 || (abs && own(a, abs) < 0))
			return err->code ? err->code : berth_error_set(err, -ENOMEM, "out of memory");
		if (own(a, c2 ? strndup(c1 + 1, (size_t)(c2 - c1 - 1)) : strdup(c1 + 1)) < 0)
			return berth_error_set(err, -ENOMEM, "out of memory");
		a->binds[i].source = abs ? abs : src;
		a->binds[i].destination = a->owned[a->n_owned - 1];
		a->binds[i].readonly = c2 && strcmp(c2 + 1, "ro") == 0;
	}
	return 0;
}

static int bundle_opts(const struct run_cli *cli, struct image_args *a, struct image_bundle_opts *o,
		       struct berth_error *err)
{
	int r;

	memset(o, 0, sizeof(*o));
	o->user = cli->user;
	o->run.args = cli->args;
	o->run.cwd = cli->workdir;
	o->run.terminal = cli->tty;
	o->run.cgroups_path = cli->cgroups_path;
	r = parse_resources(cli, &o->run, err);
	if (r == 0)
		r = build_env(cli, a, err);
	if (r == 0)
		r = build_binds(cli, a, err);
	if (r < 0)
		return r;
	o->run.env = a->env;
	o->run.binds = a->binds;
	o->run.n_binds = cli->volumes.n;
	if (cli->net) {
		/* The network module attaches a container carrying this annotation. */
		a->net = (struct oci_kv){(char *)"berth.network", (char *)cli->net};
		o->run.annotations = &a->net;
		o->run.n_annotations = 1;
	}
	return 0;
}

static void random_id(char *buf, size_t size)
{
	uint64_t rnd = 0;

	(void)getrandom(&rnd, sizeof(rnd), 0);
	snprintf(buf, size, "berth-%012llx", (unsigned long long)(rnd & 0xffffffffffffull));
}

static int run_image(const struct cli_env *env, struct run_cli *cli, int *ret_status, struct berth_error *err)
{
	struct image_args a = {0};
	struct image_bundle_opts bo;
	struct image_store *s = NULL;
	_cleanup_free_ char *bundle = NULL;
	char id[64];
	int r;

	if (cli->name)
		snprintf(id, sizeof(id), "%s", cli->name);
	else
		random_id(id, sizeof(id));
	if (strlen(cli->name ? cli->name : id) >= sizeof(id))
		return berth_error_set(err, -EINVAL, "run: --name is longer than %zu bytes", sizeof(id) - 1);
	r = bundle_opts(cli, &a, &bo, err);
	if (r == 0)
		r = cli_open_store(env, true, &s, err);
	if (r == 0)
		r = image_container_prepare(s, cli->image, id, &bo, &bundle, err);
	if (r == 0) {
		cli->opts.create.id = id;
		cli->opts.create.bundle = bundle;
		cli->opts.keep = !cli->rm;
		fflush(env->out);
		r = berth_container_run(&env->ctx, &cli->opts, ret_status, err);
		/* A create that failed left no container to delete: its rootfs is still ours. */
		if (r < 0)
			(void)image_container_remove(s, id, NULL);
	}
	if (r == 0 && cli->opts.detach)
		fprintf(env->out, "%s\n", id);
	image_store_close(s);
	image_args_free(&a);
	return r;
}

int cmd_run(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *pid_file = NULL;
	struct run_cli cli;
	int r, status = 0;

	if (cmd_run_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(cli.image ? &cmd_run_image_spec : &cmd_run_spec, env->out);
		run_cli_free(&cli);
		return CLI_EXIT_OK;
	}
	r = cli_absolute_path(cli.opts.create.pid_file, &pid_file, err);
	if (r == 0 && pid_file)
		cli.opts.create.pid_file = pid_file;
	if (r == 0 && cli.image) {
		r = run_image(env, &cli, &status, err);
	} else if (r == 0) {
		/* Output written so far must not be duplicated into the container's inherited stdout. */
		fflush(env->out);
		r = berth_container_run(&env->ctx, &cli.opts, &status, err);
	}
	run_cli_free(&cli);
	if (r < 0)
		return cli_fail(r, err);
	return cli.opts.detach ? CLI_EXIT_OK : status;
}
