/* berth spec [--bundle DIR] [--rootless]: write a default config.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/util.h"
#include "cli/cli.h"

#define CONFIG_NAME "config.json"

static const struct cli_option spec_options[] = {
    {.name = "bundle",
     .short_name = 'b',
     .type = CLI_STRING,
     .offset = offsetof(struct spec_cli, bundle),
     .metavar = "DIR",
     .help = "write DIR/config.json (default: the current directory)"},
    {.name = "rootless",
     .type = CLI_FLAG,
     .offset = offsetof(struct spec_cli, rootless),
     .help = "a spec for a container run by an unprivileged user (user namespace)"},
};

const struct cli_spec cmd_spec_spec = {
    .command = "spec",
    .synopsis = "[OPTIONS]",
    .summary = "Write a default config.json into the bundle directory.",
    .description = "An existing config.json is never overwritten. The default runs `sh` in the\n"
		   "bundle's rootfs with a terminal; --rootless writes runc's rootless config: the caller's\n"
		   "uid and gid mapped to 0, no network namespace, the host's /sys bound read-only.",
    .options = spec_options,
    .n_options = ARRAY_SIZE(spec_options),
};

int cmd_spec_parse(int argc, char **argv, struct spec_cli *out, struct berth_error *err)
{
	struct spec_cli cli = {0};
	struct cli_parsed parsed;
	int r;

	r = cli_parse(&cmd_spec_spec, argc, argv, &cli, &parsed, err);
	if (r < 0)
		return r;
	cli.help = parsed.help;
	if (!cli.bundle || !cli.bundle[0])
		cli.bundle = ".";
	*out = cli;
	return 0;
}

/* Create @bundle/config.json exclusively (O_EXCL also refuses a symlink planted there) and
 * remove it again if the write fails, so a failed `spec` leaves nothing behind. */
static int write_config(const char *bundle, const char *json, size_t len, struct berth_error *err)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	int r;

	dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berth_error_setf_errno(err, -errno, "bundle directory \"%s\"", bundle);
	fd = openat(dfd, CONFIG_NAME, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0 && errno == EEXIST)
		return berth_error_set(err, -EEXIST, "File %s exists. Remove it first", CONFIG_NAME);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "creating %s/%s", bundle, CONFIG_NAME);
	r = write_all(fd, json, len);
	if (r == 0 && close(TAKE_FD(fd)) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, CONFIG_NAME, 0);
		return berth_error_setf_errno(err, r, "writing %s/%s", bundle, CONFIG_NAME);
	}
	return 0;
}

int cmd_spec(const struct cli_env *env, int argc, char **argv, struct berth_error *err)
{
	_cleanup_free_ char *json = NULL;
	struct spec_cli cli;
	size_t len;
	int r;

	if (cmd_spec_parse(argc, argv, &cli, err) < 0)
		return CLI_EXIT_USAGE;
	if (cli.help) {
		cli_usage(&cmd_spec_spec, env->out);
		return CLI_EXIT_OK;
	}
	r = oci_spec_default(cli.rootless, getuid(), getgid(), &json, &len);
	if (r < 0)
		return cli_fail(berth_error_setf_errno(err, r, "building the default spec"), err);
	r = write_config(cli.bundle, json, len, err);
	if (r < 0)
		return cli_fail(r, err);
	return CLI_EXIT_OK;
}
