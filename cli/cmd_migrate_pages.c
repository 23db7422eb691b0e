/* berth migrate-pages ID (hidden): the target's end of `migrate --lazy`'s page channel, run by the
 * source as a second ssh session. Its stdin/stdout carry CRIU's page traffic to the receiver of ID. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/runtime.h"
#include "cli/cli.h"

const struct cli_spec cmd_migrate_pages_spec = {
    .command = "migrate-pages",
    .synopsis = "ID",
    .summary = "(internal) the target's end of migrate --lazy's page channel, run by it over ssh.",
    .arg_names = (const char *const[]){"ID"},
    .min_args = 1,
    .max_args = 1,
};

int cmd_migrate_pages(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	struct cli_parsed parsed;
	(void)env;
	int r = cli_parse(&cmd_migrate_pages_spec, argc, argv, NULL, &parsed, err);
	if (r < 0)
		return CLI_EXIT_USAGE;
	if (parsed.help) {
		cli_usage(&cmd_migrate_pages_spec, env->out);
		return CLI_EXIT_OK;
	}
	_cleanup_close_ int in = fcntl(0, F_DUPFD_CLOEXEC, 3), out = fcntl(1, F_DUPFD_CLOEXEC, 3);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (in < 0 || out < 0 || null < 0)
		return cli_fail(berth_error_setf_errno(err, -errno, "migrate-pages: standard streams"), err);
	/* only the relay holds ssh's pipes: its end of the output is ssh's end of the session */
	dup2(null, 0);
	dup2(null, 1);
	close(null);
	r = berth_migrate_pages(parsed.args[0], in, out, err);
	return r < 0 ? cli_fail(r, err) : CLI_EXIT_OK;
}
