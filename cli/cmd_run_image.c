/* berth run --image: the container's bundle is prepared by the images module (an overlay rootfs
 * and a config.json generated from the image), then it runs like any bundle. Part of berth-ext:
 * the images module brings libarchive and its libraries, which `berth` itself does not load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/util.h"
#include "cli/cli.h"

static int parse_resources(const struct run_cli *cli, struct oci_image_run_opts *ro, struct berth_error *err)
{
	if (cli->memory) {
		/* The same sizes as `update --memory` (k, m, g, t; -1: unlimited). */
		if (cli_parse_bytes(cli->memory, &ro->memory_limit) < 0 || ro->memory_limit == 0)
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
	struct oci_kv net[2];
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
	/* Up to three strings per volume: the source, its absolute form, the destination. */
	a->owned = calloc(3 * cli->volumes.n + 1, sizeof(char *));
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
	if (cli->ip && !cli->net)
		return berth_error_set(err, -EINVAL, "run: --ip needs --net");
	if (cli->net) {
		/* The network module attaches a container carrying these annotations. */
		a->net[0] = (struct oci_kv){(char *)"berth.network", (char *)cli->net};
		a->net[1] = (struct oci_kv){(char *)"berth.network.ip", (char *)cli->ip};
		o->run.annotations = a->net;
		o->run.n_annotations = cli->ip ? 2 : 1;
	}
	return 0;
}

static void random_id(char *buf, size_t size)
{
	uint64_t rnd = 0;

	/* Without entropy, fall back to time and pid rather than one fixed id for everyone. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		rnd = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
	}
	snprintf(buf, size, "berth-%012llx", (unsigned long long)(rnd & 0xffffffffffffull));
}

int cmd_run_image(const struct cli_env *env, struct run_cli *cli, int *ret_status, struct berth_error *err)
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
		r = run_image_seccomp(cli, &bo.run, err);
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
