/* The caller's subordinate id range (include/berth/idmap.h). Apart from idmap.c because it needs
 * the passwd database (getpwuid): only berth-ext (images) uses it, and the static berth binary,
 * which cannot load NSS modules, must not pull it in. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/idmap.h"
#include "berth/util.h"

int idmap_subid_lookup(const char *path, uint32_t *ret_start, uint32_t *ret_count)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	uid_t uid = getuid();
	struct passwd *pw = getpwuid(uid);
	int r = read_file_at(AT_FDCWD, path, 1u << 20, &text, &len);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return idmap_subid_find(text, pw ? pw->pw_name : NULL, uid, ret_start, ret_count);
}
