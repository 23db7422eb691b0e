/* Id maps of user namespaces made by an unprivileged caller (rootless containers, rootless image
 * unpack): subordinate id ranges from /etc/subuid and /etc/subgid, and writing a process's maps
 * either directly (only the caller's own id) or through the setuid newuidmap/newgidmap helpers
 * (Debian's uidmap package). libc only: lives in common/ so runtime and images share it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berth_error;

/* One line of a map: ids [inner, inner+count) map to [outer, outer+count). */
struct idmap_range {
	uint32_t inner, outer, count;
};

#define IDMAP_SUBID_UID "/etc/subuid"
#define IDMAP_SUBID_GID "/etc/subgid"

/* The first range of @text (the contents of /etc/subuid or /etc/subgid, lines "owner:start:count")
 * that belongs to the user @name or to the numeric @id. Pure (unit-tested). Returns 1 and
 * fills *ret_start and *ret_count, 0 when the user has no range (bad lines are
 * skipped, as shadow's tools do). */
int idmap_subid_find(const char *text, const char *name, uint32_t id, uint32_t *ret_start,
		     uint32_t *ret_count);

/* The same from @path (IDMAP_SUBID_UID/GID) for the caller's real uid (its name from the passwd
 * database). 0 with no range; -errno when the file cannot be read (a missing file is no range). */
int idmap_subid_lookup(const char *path, uint32_t *ret_start, uint32_t *ret_count);

/* true when @m is exactly "0 <own-id> 1": a map an unprivileged process may write itself. */
bool idmap_is_self(const struct idmap_range *m, size_t n, uint32_t own);

/* Write the uid and gid maps of @pid (a process in a fresh user namespace, not yet mapped).
 * As root, or when both maps are the caller's own id only, /proc/PID/{uid,gid}_map are written
 * directly ("deny" to /proc/PID/setgroups first when unprivileged, as the kernel requires);
 * otherwise newuidmap/newgidmap are run, which check the ranges against /etc/subuid and
 * /etc/subgid. @uid_field/@gid_field name the config fields for messages ("linux.uidMappings").
 * Errors: -errno with @err naming the field and, for a refused map, the helper's own words. */
int idmap_write(pid_t pid, const struct idmap_range *uids, size_t n_uids, const struct idmap_range *gids,
		size_t n_gids, const char *uid_field, const char *gid_field, struct berth_error *err);
