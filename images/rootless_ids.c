/* The caller's subordinate ids for a rootless `run --image` (rootless.h); berth-ext only. */
#include <errno.h>
#include <pwd.h>
#include <unistd.h>

#include "berth/error.h"
#include "berth/idmap.h"
#include "rootless.h"

int image_idmap_lookup(struct image_idmap *ret, struct berth_error *err)
{
	struct image_idmap m = {.uid = getuid(), .gid = getgid()};
	int ru = idmap_subid_lookup(IDMAP_SUBID_UID, &m.uid_start, &m.uid_count);
	int rg = idmap_subid_lookup(IDMAP_SUBID_GID, &m.gid_start, &m.gid_count);
	struct passwd *pw = getpwuid(m.uid);
	const char *name = pw ? pw->pw_name : "USER";

	if (ru < 0)
		return berth_error_setf_errno(err, ru, "read " IDMAP_SUBID_UID);
	if (rg < 0)
		return berth_error_setf_errno(err, rg, "read " IDMAP_SUBID_GID);
	if (ru == 0 || rg == 0)
		return berth_error_set(err, -EPERM,
				       "rootless run --image: user %s has no subordinate %s in %s (an "
				       "image's files belong to many users, each mapped to one of them): "
				       "add a range, e.g. usermod --add-subuids 100000-165535 "
				       "--add-subgids 100000-165535 %s",
				       name, ru == 0 ? "uids" : "gids",
				       ru == 0 ? IDMAP_SUBID_UID : IDMAP_SUBID_GID, name);
	*ret = m;
	return 0;
}
