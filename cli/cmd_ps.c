/* berth ps [--format table|json] ID [PS ARGS...]
 * json: the host pids of the container's processes (what containerd reads).
 * table: ps(1) run on the host with PS ARGS (default -ef), keeping the header and the lines of
 * the container's processes, as runc does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "cli/cli.h"

static const char *const ps_formats[] = {"table", "json", NULL};

static const struct cli_option ps_options[] = {
    {.name = "format",
     .short_name = 'f',
     .type = CLI_CHOICE,
     .offset = offsetof(struct ps_cli, format),
     .help = "output format",
     .choices = ps_formats},
};

const struct cli_spec cmd_ps_spec = {
    .command = "ps",
    .synopsis = "[OPTIONS] ID [PS ARGS...]",
    .summary = "List the processes running in a container.",
    .options = ps_options,
    .n_options = ARRAY_SIZE(ps_options),
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
    .stop_after = 1,
};

int cmd_ps_parse(int argc, char **argv, struct ps_cli *out, struct berth_error *err)
{
	struct cli_parsed parsed;
	memset(out, 0, sizeof(*out));
	int r = cli_parse(&cmd_ps_spec, argc, argv, out, &parsed, err);
	if (r < 0 || (out->help = parsed.help))
		return r;
	out->id = parsed.args[0];
	int rest = parsed.rest;
	if (rest < argc && strcmp(argv[rest], "--") == 0)
		rest++;
	out->ps_args = rest < argc ? argv + rest : NULL;
	return cli_check_id(out->id, err);
}

static bool pid_listed(long pid, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Which whitespace-separated column of ps's header is "PID". */
static int pid_column(const char *header)
{
	int col = 0;
	for (const char *p = header; *p;) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, " \t\n");
		if (len == 3 && strncmp(p, "PID", 3) == 0)
			return col;
		p += len;
		col++;
	}
	return -1;
}

static long field_long(const char *line, int col)
{
	const char *p = line;
	for (int i = 0; i <= col; i++) {
		p += strspn(p, " \t");
		if (i == col)
			return strtol(p, NULL, 10);
		p += strcspn(p, " \t\n");
	}
	return -1;
}

static int run_ps_table(FILE *out, char **ps_args, const pid_t *pids, size_t n, struct berth_error *err)
{
	char *argv[64] = {"ps", "-ef"};
	size_t argc = 1;
	if (ps_args) {
		for (size_t i = 0; ps_args[i] && argc < ARRAY_SIZE(argv) - 1; i++)
			argv[argc++] = ps_args[i];
		argv[argc] = NULL;
	}
	int fds[2];
	if (pipe(fds) < 0)
		return berth_error_setf_errno(err, -errno, "ps: pipe");
	pid_t child = fork();
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp("ps", argv);
		_exit(127);
	}
	close(fds[1]);
	_cleanup_fclose_ FILE *in = fdopen(fds[0], "r");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int col = -1;
	for (bool first = true; in && getline(&line, &cap, in) > 0; first = false) {
		if (first)
			col = pid_column(line);
		if (first || (col >= 0 && pid_listed(field_long(line, col), pids, n)))
			fputs(line, out);
	}
	int status = 0;
	waitpid(child, &status, 0);
	if (col < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return berth_error_set(err, -EIO, "ps: running ps(1) failed or printed no PID column");
	return 0;
}

int cmd_ps(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct ps_cli cli;
	if (cmd_ps_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_ps_spec, env->out);
		return CLI_EXIT_OK;
	}
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r = berth_container_ps(&env->ctx, cli.id, &pids, &n, err);
	if (r < 0)
		return cli_fail(r, err);
	if (cli.format == PS_FORMAT_TABLE) {
		r = run_ps_table(env->out, cli.ps_args, pids, n, err);
		return r < 0 ? cli_fail(r, err) : CLI_EXIT_OK;
	}
	_cleanup_free_ char *json = NULL;
	size_t len;
	r = oci_pids_to_json(pids, n, &json, &len);
	if (r < 0)
		return cli_fail(berth_error_setf_errno(err, r, "ps: serialise"), err);
	fprintf(env->out, "%s\n", json);
	return CLI_EXIT_OK;
}
