/* berth pause ID   |   berth resume ID */
#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"

const struct cli_spec cmd_pause_spec = {
    .command = "pause",
    .synopsis = "ID",
    .summary = "Freeze every process of a running container.",
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

const struct cli_spec cmd_resume_spec = {
    .command = "resume",
    .synopsis = "ID",
    .summary = "Thaw a paused container.",
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_pause_parse(int argc, char **argv, struct id_cli *out, struct berth_error *err)
{
	return cli_parse_id(&cmd_pause_spec, argc, argv, out, err);
}

int cmd_resume_parse(int argc, char **argv, struct id_cli *out, struct berth_error *err)
{
	return cli_parse_id(&cmd_resume_spec, argc, argv, out, err);
}

static int freeze_cmd(const struct cli_env *env, const struct cli_spec *spec, bool freeze, int argc,
		      char **argv, struct berth_error *err)
{
	struct id_cli cli;
	if (cli_parse_id(spec, argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(spec, env->out);
		return CLI_EXIT_OK;
	}
	int r = freeze ? berth_container_pause(&env->ctx, cli.id, err)
		       : berth_container_resume(&env->ctx, cli.id, err);
	return r < 0 ? cli_fail(r, err) : CLI_EXIT_OK;
}

int cmd_pause(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	return freeze_cmd(env, &cmd_pause_spec, true, argc, argv, err);
}

int cmd_resume(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	return freeze_cmd(env, &cmd_resume_spec, false, argc, argv, err);
}
