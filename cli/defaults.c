/* Where berth keeps state and images when no --root / --storage is given: for root /run/berth
 * and /var/lib/berth; for a non-root caller, as runc does for its state, $XDG_RUNTIME_DIR/berth
 * (when XDG_RUNTIME_DIR is set; else /run/berth, which such a user cannot write, and create says
 * so), and for images $XDG_DATA_HOME/berth or ~/.local/share/berth (podman's rootless storage
 * lives there too). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/error.h"
#include "cli/cli.h"

/* runc's shouldHonorXDGRuntimeDir: a non-root caller, or root inside a user namespace whose USER
 * is not root. */
static bool honor_xdg(void)
{
	const char *user = getenv("USER");
	char map[64] = "";
	FILE *f;

	if (!getenv("XDG_RUNTIME_DIR") || !*getenv("XDG_RUNTIME_DIR"))
		return false;
	if (geteuid() != 0)
		return true;
	f = fopen("/proc/self/uid_map", "re");
	if (f) {
		if (!fgets(map, sizeof(map), f))
			map[0] = '\0';
		fclose(f);
	}
	unsigned a = 1, b = 1, c = 0;
	if (sscanf(map, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u)
		return false; /* the real root: /run/berth, whatever XDG_RUNTIME_DIR says */
	return !(user && strcmp(user, "root") == 0);
}

int cli_default_dirs(struct cli_global *g, bool root_given, bool storage_given, char *root_buf,
		     size_t root_size, char *storage_buf, size_t storage_size)
{
	if (!root_given && honor_xdg()) {
		snprintf(root_buf, root_size, "%s/berth", getenv("XDG_RUNTIME_DIR"));
		g->root = root_buf;
		g->root_from_xdg = true;
	}
	if (!storage_given && geteuid() != 0) {
		const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
		if (data && data[0] == '/')
			snprintf(storage_buf, storage_size, "%s/berth", data);
		else if (home && home[0] == '/')
			snprintf(storage_buf, storage_size, "%s/.local/share/berth", home);
		else
			return 0; /* no home: the system store, which says what it cannot do */
		g->storage = storage_buf;
	}
	return 0;
}

int cli_prepare_xdg_root(const struct cli_global *g, struct berth_error *err)
{
	/* As runc: the directory is made 0700 and sticky, so that a cleaner of XDG_RUNTIME_DIR
	 * (which prunes what has not been used for hours) leaves it alone. */
	if (!g->root_from_xdg)
		return 0;
	if (mkdir(g->root, 0700) < 0 && errno != EEXIST)
		return berth_error_setf_errno(err, -errno,
					      "state root '%s': the path in $XDG_RUNTIME_DIR must be "
					      "writable by the user",
					      g->root);
	if (chmod(g->root, 01700) < 0)
		return berth_error_setf_errno(err, -errno,
					      "state root '%s': check the permissions of the path in "
					      "$XDG_RUNTIME_DIR",
					      g->root);
	return 0;
}
