/* run --image's seccomp profile. Docker and podman confine an image's process with a default
 * profile; so does berth (images/seccomp-default.json), unless --security-opt says otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/images.h"
#include "berth/oci.h"
#include "berth/util.h"
#include "cli/cli.h"

#define SECCOMP_FILE_MAX (4u << 20) /* as large as a whole config.json may be */

/* The profile must be what linux.seccomp accepts: parse it inside a minimal config, so that a
 * mistake is reported now, naming the option, instead of by create. */
static int check_profile(const char *file, const char *json, size_t len, struct berth_error *err)
{
	static const char head[] =
	    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"seccomp\":";
	_cleanup_free_ char *doc = malloc(sizeof(head) + len + 3);
	struct oci_config *config = NULL;
	if (!doc)
		return berth_error_set(err, -ENOMEM, "out of memory");
	memcpy(doc, head, sizeof(head) - 1);
	memcpy(doc + sizeof(head) - 1, json, len);
	memcpy(doc + sizeof(head) - 1 + len, "}}", 3);
	int r = oci_config_parse(doc, sizeof(head) - 1 + len + 2, &config, err);
	if (r == 0 && !config->linux_.has_seccomp)
		r = berth_error_set(err, -EINVAL, "not a seccomp profile");
	oci_config_free(config);
	return r < 0 ? berth_error_prefix(err, "run: --security-opt seccomp=%s", file) : 0;
}

static int load_file(struct run_cli *cli, const char *file, struct oci_image_run_opts *ro,
		     struct berth_error *err)
{
	size_t len = 0;
	free(cli->seccomp_file);
	cli->seccomp_file = NULL;
	int r = read_file_at(AT_FDCWD, file, SECCOMP_FILE_MAX, &cli->seccomp_file, &len);
	if (r == -EFBIG)
		return berth_error_set(err, r, "run: --security-opt seccomp=%s: larger than %u bytes", file,
				       SECCOMP_FILE_MAX);
	if (r < 0)
		return berth_error_setf_errno(err, r, "run: --security-opt seccomp=%s", file);
	r = check_profile(file, cli->seccomp_file, len, err);
	if (r < 0)
		return r;
	ro->seccomp_json = cli->seccomp_file;
	ro->seccomp_len = len;
	return 0;
}

int run_image_seccomp(struct run_cli *cli, struct oci_image_run_opts *ro, struct berth_error *err)
{
	ro->seccomp_json = image_seccomp_default(&ro->seccomp_len);
	/* Like docker: the last option wins. */
	for (size_t i = 0; i < cli->security_opts.n; i++) {
		const char *o = cli->security_opts.items[i];
		if (strncmp(o, "seccomp=", 8) != 0 || !o[8])
			return berth_error_set(
			    err, -EINVAL,
			    "run: --security-opt \"%s\": expected seccomp=unconfined or seccomp=FILE", o);
		if (strcmp(o + 8, "unconfined") == 0) {
			ro->seccomp_json = NULL;
			ro->seccomp_len = 0;
			continue;
		}
		int r = load_file(cli, o + 8, ro, err);
		if (r < 0)
			return r;
	}
	return 0;
}
