/* berth migrate's ssh sessions: the destination and the `ssh` process whose stdin and stdout
 * carry a channel (the control channel, and --lazy's page channel). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/error.h"
#include "berth/runtime.h"
#include "migrate_proto.h"

extern char **environ;

/* ssh://[user@]host[:port] into "[user@]host" and the port ("" for ssh's default). */
int mig_parse_destination(const char *dest, char *host, size_t hsize, char *port, size_t psize,
			  struct berth_error *err)
{
	if (!dest || strncmp(dest, "ssh://", 6) != 0)
		return berth_error_set(err, -EINVAL, "destination '%s': not ssh://[user@]host[:port]",
				       dest ? dest : "");
	const char *h = dest + 6, *colon = strrchr(h, ':');
	size_t hl = colon ? (size_t)(colon - h) : strlen(h);
	port[0] = '\0';
	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);
		if (*end || p < 1 || p > 65535)
			return berth_error_set(err, -EINVAL, "destination '%s': bad port", dest);
		snprintf(port, psize, "%ld", p);
	}
	if (hl == 0 || hl >= hsize || memchr(h, '/', hl) || h[0] == '-' || (hl && h[hl - 1] == '@'))
		return berth_error_set(err, -EINVAL, "destination '%s': no host (ssh://[user@]host[:port])",
				       dest);
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}

int mig_ssh_spawn(const struct berth_migrate_opts *o, const char *remote_args, pid_t *ret_pid, int *ret_to,
		  int *ret_from, struct berth_error *err)
{
	char host[256], port[8], cmd[1024];
	int r = mig_parse_destination(o->destination, host, sizeof(host), port, sizeof(port), err);
	if (r < 0)
		return r;
	if (o->n_ssh_options > 64)
		return berth_error_set(err, -E2BIG, "--ssh-option: at most 64");
	snprintf(cmd, sizeof(cmd), "%s %s", o->remote_berth ? o->remote_berth : "berth", remote_args);
	const char *argv[8 + 2 * 64] = {"ssh"};
	size_t n = 1;
	for (size_t i = 0; i < o->n_ssh_options; i++) {
		argv[n++] = "-o";
		argv[n++] = o->ssh_options[i];
	}
	if (port[0]) {
		argv[n++] = "-p";
		argv[n++] = port;
	}
	argv[n++] = host;
	argv[n++] = "--";
	argv[n++] = cmd;
	argv[n] = NULL;

	int to[2], from[2];
	if (pipe2(to, O_CLOEXEC) < 0)
		return berth_error_setf_errno(err, -errno, "migrate: pipe");
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		return berth_error_setf_errno(err, -errno, "migrate: pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	r = posix_spawnp(ret_pid, "ssh", &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	if (r != 0) {
		close(to[1]);
		close(from[0]);
		*ret_pid = 0;
		return berth_error_set(err, -r, "migrate: cannot run ssh: %s (is openssh-client installed?)",
				       strerror(r));
	}
	*ret_to = to[1];
	*ret_from = from[0];
	return 0;
}
