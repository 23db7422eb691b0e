/* berth list [--format table|json] [--quiet] */
#include <errno.h>
#include <stdlib.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"
#include "cli/output.h"

static const char *const list_formats[] = {"table", "json", NULL}; /* enum list_format */

static const struct cli_option list_options[] = {
    {.name = "format",
     .short_name = 'f',
     .type = CLI_CHOICE,
     .offset = offsetof(struct list_cli, format),
     .choices = list_formats,
     .help = "output format (default: table)"},
    {.name = "quiet",
     .short_name = 'q',
     .type = CLI_FLAG,
     .offset = offsetof(struct list_cli, quiet),
     .help = "print only the container ids"},
};

const struct cli_spec cmd_list_spec = {
    .command = "list",
    .synopsis = "[OPTIONS]",
    .summary = "List the containers under the state root.",
    .options = list_options,
    .n_options = ARRAY_SIZE(list_options),
};

int cmd_list_parse(int argc, char **argv, struct list_cli *out, struct berth_error *err)
{
	struct list_cli cli = {.format = LIST_FORMAT_TABLE};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_list_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	*out = cli;
	return 0;
}

/* The runtime's records as the borrowed views the formatters take. */
static struct oci_list_entry *to_entries(const struct berth_container_info *infos, size_t n)
{
	struct oci_list_entry *entries = calloc(n ? n : 1, sizeof(*entries));
	size_t i;

	for (i = 0; entries && i < n; i++) {
		entries[i] = (struct oci_list_entry){
		    .id = infos[i].id,
		    .pid = infos[i].pid,
		    .status = infos[i].status,
		    .bundle = infos[i].bundle,
		    .rootfs = infos[i].rootfs,
		    .created = infos[i].created,
		    .owner = infos[i].owner,
		    .annotations = infos[i].annotations,
		    .n_annotations = infos[i].n_annotations,
		};
	}
	return entries;
}

static int print_list(const struct list_cli *cli, FILE *out, const struct oci_list_entry *entries, size_t n)
{
	_cleanup_free_ char *json = NULL;
	size_t len;
	int r;

	/* -q wins over --format, as in runc. */
	if (cli->quiet)
		return output_list_ids(out, entries, n);
	if (cli->format == LIST_FORMAT_TABLE)
		return output_list_table(out, entries, n);
	r = oci_list_to_json(entries, n, &json, &len);
	if (r < 0)
		return r;
	return output_text(out, json);
}

int cmd_list(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct berth_container_info *infos = NULL;
	_cleanup_free_ struct oci_list_entry *entries = NULL;
	struct list_cli cli;
	size_t n = 0;
	int r;

	if (cmd_list_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_list_spec, env->out);
		return CLI_EXIT_OK;
	}
	r = berth_container_list(&env->ctx, &infos, &n, err);
	if (r < 0)
		return cli_fail(r, err);
	entries = to_entries(infos, n);
	r = entries ? print_list(&cli, env->out, entries, n) : -ENOMEM;
	berth_container_info_free(infos, n);
	if (r < 0)
		return cli_fail(berth_error_setf_errno(err, r, "list"), err);
	return CLI_EXIT_OK;
}
