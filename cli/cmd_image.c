/* berth image import|ls|inspect|tag|rm|export|unpack: the image store (--storage). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/oci.h"
#include "cli/cli.h"
#include "cli/output.h"

static const char *const image_formats[] = {"table", "json", NULL}; /* enum image_format */

const struct cli_spec cmd_image_spec = {
    .command = "image",
    .synopsis = "COMMAND [OPTIONS] [ARGS...]",
    .summary = "Manage the image store (import, ls, inspect, tag, rm, export, unpack).",
    .description = "Commands:\n"
		   "  import FILE [--name NAME[:TAG]]   an OCI image-layout tarball, a `docker save`\n"
		   "                                    archive, or a plain rootfs tarball\n"
		   "  ls [--format table|json] [-q]\n"
		   "  inspect IMAGE\n"
		   "  tag IMAGE NAME[:TAG]\n"
		   "  rm IMAGE...                       refused while a container uses the image\n"
		   "  export IMAGE FILE                 an OCI image-layout tarball\n"
		   "  unpack IMAGE DIR                  an OCI bundle: DIR/rootfs and DIR/config.json\n"
		   "IMAGE is a name (\"alpine\" means alpine:latest), a manifest digest, or at least\n"
		   "12 hex digits of an image id. The store is --storage (default " CLI_DEFAULT_STORAGE ").",
    .arg_names = (const char *const[]){"COMMAND"},
    .min_args = 1,
    .max_args = 1,
    .stop_after = 1,
};

static const struct cli_option import_options[] = {
    {.name = "name",
     .type = CLI_STRING,
     .offset = offsetof(struct image_cli, name),
     .metavar = "NAME[:TAG]",
     .help = "name the imported image (default: the archive's names, or the file's name)"},
    {.name = "quiet",
     .short_name = 'q',
     .type = CLI_FLAG,
     .offset = offsetof(struct image_cli, no_progress),
     .help = "no progress line on a terminal"},
};

static const struct cli_option ls_options[] = {
    {.name = "format",
     .short_name = 'f',
     .type = CLI_CHOICE,
     .offset = offsetof(struct image_cli, format),
     .choices = image_formats,
     .help = "output format (default: table)"},
    {.name = "quiet",
     .short_name = 'q',
     .type = CLI_FLAG,
     .offset = offsetof(struct image_cli, quiet),
     .help = "print only the image ids"},
};

static const struct cli_option unpack_options[] = {
    {.name = "user",
     .short_name = 'u',
     .type = CLI_STRING,
     .offset = offsetof(struct image_cli, user),
     .metavar = "USER[:GROUP]",
     .help = "the process's user instead of the image's"},
    {.name = "cgroups-path",
     .type = CLI_STRING,
     .offset = offsetof(struct image_cli, cgroups_path),
     .metavar = "PATH",
     .help = "linux.cgroupsPath of the generated config.json"},
};

static const struct cli_spec image_import_spec = {
    .command = "image import",
    .synopsis = "FILE [OPTIONS]",
    .summary = "Import an OCI image-layout tarball, a `docker save` archive or a plain rootfs tarball.",
    .description = "Every blob's digest and size is verified and each layer is unpacked into the\n"
		   "store's layer cache; the image is listed only once all of it is in place.",
    .options = import_options,
    .n_options = ARRAY_SIZE(import_options),
    .arg_names = (const char *const[]){"FILE"},
    .min_args = 1,
    .max_args = 1,
};
static const struct cli_spec image_ls_spec = {
    .command = "image ls",
    .synopsis = "[OPTIONS]",
    .summary = "List the images in the store.",
    .options = ls_options,
    .n_options = ARRAY_SIZE(ls_options),
};
static const struct cli_spec image_inspect_spec = {
    .command = "image inspect",
    .synopsis = "IMAGE",
    .summary = "Print an image's names, digests, layers and config as JSON.",
    .arg_names = (const char *const[]){"IMAGE"},
    .min_args = 1,
    .max_args = 1,
};
static const struct cli_spec image_tag_spec = {
    .command = "image tag",
    .synopsis = "IMAGE NAME[:TAG]",
    .summary = "Give an image another name.",
    .arg_names = (const char *const[]){"IMAGE", "NAME"},
    .min_args = 2,
    .max_args = 2,
};
static const struct cli_spec image_rm_spec = {
    .command = "image rm",
    .synopsis = "IMAGE...",
    .summary = "Remove names; an image without names is deleted with what only it used.",
    .arg_names = (const char *const[]){"IMAGE"},
    .min_args = 1,
    .max_args = CLI_MAX_ARGS,
};
static const struct cli_spec image_export_spec = {
    .command = "image export",
    .synopsis = "IMAGE FILE",
    .summary = "Write an image as an OCI image-layout tarball.",
    .arg_names = (const char *const[]){"IMAGE", "FILE"},
    .min_args = 2,
    .max_args = 2,
};
static const struct cli_spec image_unpack_spec = {
    .command = "image unpack",
    .synopsis = "IMAGE DIR [OPTIONS]",
    .summary = "Write an OCI bundle: DIR/rootfs with every layer applied and DIR/config.json.",
    .options = unpack_options,
    .n_options = ARRAY_SIZE(unpack_options),
    .arg_names = (const char *const[]){"IMAGE", "DIR"},
    .min_args = 2,
    .max_args = 2,
};

static const struct {
	const char *name, *alias;
	enum image_action action;
	const struct cli_spec *spec;
} image_actions[] = {
    {"import", "load", IMAGE_IMPORT, &image_import_spec},
    {"ls", "list", IMAGE_LS, &image_ls_spec},
    {"inspect", NULL, IMAGE_INSPECT, &image_inspect_spec},
    {"tag", NULL, IMAGE_TAG, &image_tag_spec},
    {"rm", "remove", IMAGE_RM, &image_rm_spec},
    {"export", "save", IMAGE_EXPORT, &image_export_spec},
    {"unpack", NULL, IMAGE_UNPACK, &image_unpack_spec},
};

int cmd_image_parse(int argc, char **argv, struct image_cli *out, struct berth_error *err)
{
	struct image_cli cli = {.format = IMAGE_FORMAT_TABLE};
	struct cli_parsed parsed;
	const char *sub;
	size_t i;
	int r;

	r = cli_parse(&cmd_image_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	if (parsed.help) {
		cli.help = true;
		cli.spec = &cmd_image_spec;
		*out = cli;
		return 0;
	}
	sub = parsed.args[0];
	for (i = 0; i < ARRAY_SIZE(image_actions); i++) {
		if (strcmp(sub, image_actions[i].name) == 0 ||
		    (image_actions[i].alias && strcmp(sub, image_actions[i].alias) == 0))
			break;
	}
	if (i == ARRAY_SIZE(image_actions))
		return berth_error_set(
		    err, -EINVAL,
		    "image: unknown command \"%s\" (import, ls, inspect, tag, rm, export, unpack)", sub);
	cli.action = image_actions[i].action;
	cli.spec = image_actions[i].spec;
	/* The subcommand's words, its name first as a command's argv[0]. */
	r = cli_parse(cli.spec, argc - parsed.rest + 1, argv + parsed.rest - 1, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	cli.n_args = parsed.n_args;
	memcpy(cli.args, parsed.args, sizeof(cli.args));
	*out = cli;
	return 0;
}

/* ---- output ---- */

/* "3 days ago", as docker prints CREATED. */
static void age(const char *created, char *buf, size_t size)
{
	struct tm tm = {0};
	time_t then, now = time(NULL);
	long d;

	if (!created || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, size, "unknown");
		return;
	}
	then = timegm(&tm);
	d = (long)difftime(now, then);
	if (d < 60)
		snprintf(buf, size, "%s", d < 2 ? "now" : "seconds ago");
	else if (d < 3600)
		snprintf(buf, size, "%ld minutes ago", d / 60);
	else if (d < 86400 * 2)
		snprintf(buf, size, "%ld hours ago", d / 3600);
	else if (d < 86400 * 60)
		snprintf(buf, size, "%ld days ago", d / 86400);
	else if (d < 86400 * 730)
		snprintf(buf, size, "%ld months ago", d / (86400 * 30));
	else
		snprintf(buf, size, "%ld years ago", d / (86400 * 365));
}

static void human_size(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, u ? "%.3g %s" : "%.0f %s", v, units[u]);
}

/* One row per name: REPOSITORY TAG IMAGE ID CREATED SIZE. */
static int print_table(FILE *out, const struct image_info *infos, size_t n)
{
	enum { COLS = 5, TLEN = 64 };
	static const char *const header[COLS] = {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"};
	size_t rows = 1, row = 1;
	int r;

	for (size_t i = 0; i < n; i++)
		for (char **p = infos[i].names; p && *p; p++)
			rows++;
	_cleanup_free_ const char **cells = calloc(rows * COLS, sizeof(*cells));
	_cleanup_free_ char(*text)[COLS][TLEN] = calloc(rows, sizeof(*text));
	if (!cells || !text)
		return -ENOMEM;
	memcpy(cells, header, sizeof(header));
	for (size_t i = 0; i < n; i++) {
		for (char **p = infos[i].names; p && *p; p++, row++) {
			const char *slash = strrchr(*p, '/'), *colon = strrchr(slash ? slash : *p, ':');
			int nlen = colon ? (int)(colon - *p) : (int)strlen(*p);

			snprintf(text[row][0], TLEN, "%.*s", nlen, *p);
			snprintf(text[row][1], TLEN, "%s", colon ? colon + 1 : "");
			snprintf(text[row][2], TLEN, "%.12s", infos[i].manifest->config.digest + 7);
			age(infos[i].config->created, text[row][3], TLEN);
			human_size(infos[i].size, text[row][4], TLEN);
			for (int c = 0; c < COLS; c++)
				cells[row * COLS + c] = text[row][c];
		}
	}
	r = output_table(out, cells, rows, COLS);
	return r;
}

static int print_list(const struct image_cli *cli, FILE *out, const struct image_info *infos, size_t n)
{
	_cleanup_free_ struct oci_image_summary *sums = NULL;
	_cleanup_free_ char *json = NULL;
	size_t len;
	int r;

	if (cli->quiet) {
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%.12s\n", infos[i].manifest->config.digest + 7);
		return ferror(out) ? -EIO : 0;
	}
	if (cli->format == IMAGE_FORMAT_TABLE)
		return print_table(out, infos, n);
	sums = calloc(n + 1, sizeof(*sums));
	if (!sums)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		sums[i] = (struct oci_image_summary){.digest = infos[i].digest,
						     .names = infos[i].names,
						     .size = infos[i].size,
						     .manifest = infos[i].manifest,
						     .config = infos[i].config};
	r = oci_image_list_to_json(sums, n, &json, &len);
	return r < 0 ? r : output_text(out, json);
}

static int print_inspect(FILE *out, const struct image_info *info)
{
	const struct oci_image_summary sum = {.digest = info->digest,
					      .names = info->names,
					      .size = info->size,
					      .manifest = info->manifest,
					      .config = info->config};
	_cleanup_free_ char *json = NULL;
	size_t len;
	int r = oci_image_inspect_to_json(&sum, &json, &len);

	return r < 0 ? r : output_text(out, json);
}

/* ---- import progress ---- */

struct progress {
	struct timespec start, last;
	bool shown;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* "importing: 12.3 MB / 40.1 MB (25.0 MB/s)" on stderr, rewritten in place a few times a second. */
static void show_progress(void *data, uint64_t bytes, uint64_t total)
{
	struct progress *p = data;
	struct timespec now;
	char done[32], all[32], rate[32];
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->shown && since(&p->last, &now) < 0.2 && bytes < total)
		return;
	p->last = now;
	p->shown = true;
	secs = since(&p->start, &now);
	human_size(bytes, done, sizeof(done));
	human_size(total, all, sizeof(all));
	human_size(secs > 0.001 ? (uint64_t)((double)bytes / secs) : 0, rate, sizeof(rate));
	fprintf(stderr, "\rimporting: %s / %s (%s/s)\033[K", done, all, rate);
	fflush(stderr);
}

/* ---- run ---- */

int cli_open_store(const struct cli_env *env, bool create, struct image_store **ret, struct berth_error *err)
{
	_cleanup_free_ char *abs = NULL;
	const char *path = env->storage ? env->storage : CLI_DEFAULT_STORAGE;

	if (!path[0])
		return berth_error_set(err, -EINVAL, "--storage is empty");
	if (cli_absolute_path(path, &abs, err) < 0)
		return err->code;
	return image_store_open(abs ? abs : path, create, ret, err);
}

static int do_import(const struct cli_env *env, struct image_store *s, const struct image_cli *cli,
		     struct berth_error *err)
{
	struct progress prog = {0};
	struct image_import_opts o = {.name = cli->name};
	struct image_import_result res = {0};
	int r;

	if (!cli->no_progress && isatty(STDERR_FILENO)) {
		clock_gettime(CLOCK_MONOTONIC, &prog.start);
		o.progress = show_progress;
		o.progress_data = &prog;
	}
	r = image_import(s, cli->args[0], &o, &res, err);
	if (prog.shown)
		fputc('\n', stderr);
	for (size_t i = 0; r == 0 && res.names && res.names[i]; i++)
		fprintf(env->out, "%s %s\n", res.names[i], res.digests[i]);
	image_import_result_free(&res);
	return r;
}

static int do_unpack(struct image_store *s, const struct image_cli *cli, struct berth_error *err)
{
	/* A bundle needs a process even from an image without a command: `runc spec`'s "sh". */
	struct image_bundle_opts o = {
	    .user = cli->user,
	    .run = {.cgroups_path = cli->cgroups_path, .fallback_args = (char *[]){"sh", NULL}}};

	return image_bundle_create(s, cli->args[0], cli->args[1], &o, err);
}

static int run_action(const struct cli_env *env, struct image_store *s, const struct image_cli *cli,
		      struct berth_error *err)
{
	struct image_info *infos = NULL, info = {0};
	size_t n = 0;
	int r;

	switch (cli->action) {
	case IMAGE_IMPORT:
		return do_import(env, s, cli, err);
	case IMAGE_LS:
		r = image_list(s, &infos, &n, err);
		if (r == 0)
			r = print_list(cli, env->out, infos, n);
		image_info_free(infos, n);
		return r;
	case IMAGE_INSPECT:
		r = image_get(s, cli->args[0], &info, err);
		if (r == 0)
			r = print_inspect(env->out, &info);
		image_info_clear(&info);
		return r;
	case IMAGE_TAG:
		return image_tag(s, cli->args[0], cli->args[1], err);
	case IMAGE_RM:
		for (size_t i = 0; i < cli->n_args; i++) {
			r = image_remove(s, cli->args[i], err);
			if (r < 0)
				return r;
			fprintf(env->out, "%s\n", cli->args[i]);
		}
		return 0;
	case IMAGE_EXPORT:
		return image_export(s, cli->args[0], cli->args[1], err);
	case IMAGE_UNPACK:
		return do_unpack(s, cli, err);
	}
	return -EINVAL;
}

int cmd_image(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct image_store *s = NULL;
	struct image_cli cli;
	bool writes;
	int r;

	if (cmd_image_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(cli.spec, env->out);
		return CLI_EXIT_OK;
	}
	/* Reading an empty store is not an error: only commands that add create it. */
	writes = cli.action == IMAGE_IMPORT;
	r = cli_open_store(env, writes, &s, err);
	if (r == -ENOENT && (cli.action == IMAGE_LS)) {
		berth_error_clear(err);
		if (cli.format == IMAGE_FORMAT_JSON && !cli.quiet)
			fprintf(env->out, "[]\n");
		else if (!cli.quiet)
			print_table(env->out, NULL, 0);
		return CLI_EXIT_OK;
	}
	if (r == 0)
		r = run_action(env, s, &cli, err);
	image_store_close(s);
	return r < 0 ? cli_fail(r, err) : CLI_EXIT_OK;
}
