/* Linux security module labels: process.apparmorProfile, process.selinuxLabel, linux.mountLabel.
 *
 * What runc 1.1 does, and what berth does:
 * - AppArmor: runc writes "exec <profile>" to /proc/thread-self/attr/apparmor/exec (attr/exec on
 *   kernels without per-LSM directories), so the profile takes effect at the exec of the user
 *   program. Without AppArmor, runc fails in its init with the kernel's "invalid argument"; a
 *   profile that is not loaded fails the same way with "no such file or directory". berth refuses
 *   both while `create` (or `exec`) can still report them, with a message naming the field: the
 *   profile is checked with AppArmor's "permprofile" command, which tests a profile change
 *   without making it.
 * - SELinux: runc refuses process.selinuxLabel when SELinux is off ("selinux label is specified
 *   in config, but selinux is disabled or not supported"), writes it to attr/exec, and also uses
 *   it as the key creation label of the container's session keyring. linux.mountLabel becomes a
 *   context="..." mount option of the container's filesystem mounts (not proc, sysfs, cgroup, nor
 *   bind mounts; mqueue gets the label on its root instead): without SELinux the kernel refuses
 *   that option, so berth refuses the field up front, naming it.
 * Nothing here needs libapparmor or libselinux: both are a write to a /proc attribute file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/oci.h"
#include "lsm.h"

/* A label goes into one write(2) of a /proc attribute file, which takes at most a page. */
#define LABEL_MAX 4000

bool lsm_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *s = list; s && *s;) {
		size_t len = strcspn(s, ",\n");
		if (len == n && strncmp(s, name, n) == 0)
			return true;
		s += len;
		s += strspn(s, ",\n");
	}
	return false;
}

static void root_path(const char *root, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", strcmp(root, "/") == 0 ? "" : root, rel);
}

/* The first bytes of <root>/@rel, NUL-terminated; false if it cannot be read. */
static bool read_small(const char *root, const char *rel, char *buf, size_t size)
{
	char path[4096];
	root_path(root, rel, path, sizeof(path));
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, size - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static bool exists(const char *root, const char *rel)
{
	char path[4096];
	root_path(root, rel, path, sizeof(path));
	return access(path, F_OK) == 0;
}

void lsm_probe_at(const char *root, struct berth_lsm *ret, char *ret_why, size_t why_size)
{
	char list[512], param[8];
	/* securityfs may not be mounted: then the module parameter alone tells */
	bool have_list = read_small(root, "sys/kernel/security/lsm", list, sizeof(list));
	bool have_param = read_small(root, "sys/module/apparmor/parameters/enabled", param, sizeof(param));
	bool param_y = have_param && param[0] == 'Y';

	*ret = (struct berth_lsm){0};
	ret->apparmor = param_y && (!have_list || lsm_list_has(list, "apparmor"));
	/* selinuxfs is mounted once a policy is loaded; without a policy nothing can be labelled */
	ret->selinux =
	    exists(root, "sys/fs/selinux/enforce") && (!have_list || lsm_list_has(list, "selinux"));
	if (ret_why && why_size) {
		if (!have_param)
			snprintf(ret_why, why_size, "the kernel has no AppArmor: no /sys/module/apparmor");
		else if (!param_y)
			snprintf(ret_why, why_size, "/sys/module/apparmor/parameters/enabled is not Y");
		else if (!ret->apparmor)
			snprintf(ret_why, why_size, "/sys/kernel/security/lsm does not list apparmor");
		else
			ret_why[0] = '\0';
	}
}

void berth_lsm_probe(struct berth_lsm *ret)
{
	lsm_probe_at("/", ret, NULL, 0);
}

int lsm_attr_path(const char *root, enum lsm_kind kind, const char *attr, char *buf, size_t size)
{
	char rel[128];
	int n;
	if (kind == LSM_APPARMOR) {
		snprintf(rel, sizeof(rel), "proc/thread-self/attr/apparmor/%s", attr);
		if (exists(root, rel)) {
			n = snprintf(buf, size, "%s/%s", strcmp(root, "/") == 0 ? "" : root, rel);
			return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
		}
	}
	snprintf(rel, sizeof(rel), "proc/thread-self/attr/%s", attr);
	n = snprintf(buf, size, "%s/%s", strcmp(root, "/") == 0 ? "" : root, rel);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* A label is one line of printable text the kernel parses: refuse what it would misread. */
static int check_label(const char *field, const char *label, struct berth_error *err)
{
	if (strlen(label) > LABEL_MAX)
		return berth_error_set(err, -EINVAL, "%s: longer than %d bytes", field, LABEL_MAX);
	for (const char *s = label; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return berth_error_set(err, -EINVAL, "%s: \"%s\" contains a control character", field,
					       label);
	return 0;
}

static int open_attr(const char *root, enum lsm_kind kind, const char *attr, const char *field, int *ret_fd,
		     struct berth_error *err)
{
	char path[4096];
	int r = lsm_attr_path(root, kind, attr, path, sizeof(path));
	if (r < 0)
		return berth_error_setf_errno(err, r, "%s: the path of the attribute file", field);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_setf_errno(err, -errno, "%s: open %s", field, path);
	*ret_fd = fd;
	return 0;
}

static int write_attr(int fd, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Ask AppArmor whether the change to @profile would be allowed, without making it: a profile
 * that is not loaded is found now, not after `start` when nobody can report it. */
static int apparmor_check_profile(const char *root, const char *profile, struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *cmd = NULL;
	int r = open_attr(root, LSM_APPARMOR, "current", "process.apparmorProfile", &fd, err);
	if (r < 0)
		return r;
	if (asprintf(&cmd, "permprofile %s", profile) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	r = write_attr(fd, cmd);
	if (r == -ENOENT)
		return berth_error_set(err, r,
				       "process.apparmorProfile: AppArmor profile \"%s\" is not loaded "
				       "(load it with apparmor_parser)",
				       profile);
	if (r < 0)
		return berth_error_setf_errno(
		    err, r, "process.apparmorProfile: AppArmor refuses profile \"%s\"", profile);
	return 0;
}

static int prepare_apparmor(const char *root, const char *profile, const struct berth_lsm *h, const char *why,
			    int *ret_fd, char **ret_value, struct berth_error *err)
{
	int r = check_label("process.apparmorProfile", profile, err);
	if (r < 0)
		return r;
	if (!h->apparmor)
		return berth_error_set(
		    err, -EOPNOTSUPP,
		    "process.apparmorProfile: profile \"%s\" is set but AppArmor is not enabled "
		    "on this host (%s)",
		    profile, why);
	r = apparmor_check_profile(root, profile, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = -EBADF;
	r = open_attr(root, LSM_APPARMOR, "exec", "process.apparmorProfile", &fd, err);
	if (r < 0)
		return r;
	char *value;
	if (asprintf(&value, "exec %s", profile) < 0)
		return berth_error_set(err, -ENOMEM, "out of memory");
	*ret_value = value;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int prepare_selinux(const char *root, const char *label, const struct berth_lsm *h, int *ret_fd,
			   char **ret_value, struct berth_error *err)
{
	int r = check_label("process.selinuxLabel", label, err);
	if (r < 0)
		return r;
	if (!h->selinux)
		return berth_error_set(
		    err, -EOPNOTSUPP,
		    "process.selinuxLabel: \"%s\" is set but SELinux is not enabled on this host", label);
	_cleanup_close_ int fd = -EBADF;
	r = open_attr(root, LSM_SELINUX, "exec", "process.selinuxLabel", &fd, err);
	if (r < 0)
		return r;
	*ret_value = strdup(label);
	if (!*ret_value)
		return berth_error_set(err, -ENOMEM, "out of memory");
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int prepare_exec_at(const char *root, const struct oci_process *p, const struct berth_lsm *h,
			   const char *why, int *ret_fd, char **ret_value, struct berth_error *err)
{
	const char *aa = p->apparmor_profile && *p->apparmor_profile ? p->apparmor_profile : NULL;
	const char *se = p->selinux_label && *p->selinux_label ? p->selinux_label : NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *value = NULL;
	int r = 0;

	/* One exec attribute per process: a host runs one of the two (they are exclusive LSMs). */
	if (aa && se && h->apparmor && h->selinux)
		return berth_error_set(
		    err, -EINVAL,
		    "process.apparmorProfile and process.selinuxLabel: both are set and both "
		    "LSMs are enabled; berth applies one exec label");
	if (se)
		r = prepare_selinux(root, se, h, &fd, &value, err);
	if (r == 0 && aa)
		r = prepare_apparmor(root, aa, h, why, &fd, &value, err);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	*ret_value = TAKE_PTR(value);
	return 0;
}

static bool has_label(const char *s)
{
	return s && *s;
}

int lsm_prepare_exec_label_at(const char *root, const struct oci_process *p, int *ret_fd, char **ret_value,
			      struct berth_error *err)
{
	struct berth_lsm h;
	char why[128];
	/* Most configs ask for nothing: no need to look at the host then. */
	if (!has_label(p->apparmor_profile) && !has_label(p->selinux_label)) {
		*ret_fd = -EBADF;
		*ret_value = NULL;
		return 0;
	}
	lsm_probe_at(root, &h, why, sizeof(why));
	return prepare_exec_at(root, p, &h, why, ret_fd, ret_value, err);
}

int lsm_prepare_exec_label(const struct oci_process *p, int *ret_fd, char **ret_value,
			   struct berth_error *err)
{
	return lsm_prepare_exec_label_at("/", p, ret_fd, ret_value, err);
}

/* The key creation label stays until the next exec: the session keyring the init joins later
 * gets the process label, as with runc. */
static int set_keycreate(const char *label, struct berth_error *err)
{
	_cleanup_close_ int fd = -EBADF;
	int r = open_attr("/", LSM_SELINUX, "keycreate", "process.selinuxLabel", &fd, err);
	if (r < 0)
		return r;
	r = write_attr(fd, label);
	if (r < 0)
		return berth_error_setf_errno(
		    err, r, "process.selinuxLabel: set the key creation label \"%s\"", label);
	return 0;
}

/* linux.mountLabel goes into mount options only SELinux understands. */
static int check_mount_label(const char *ml, struct berth_error *err)
{
	struct berth_lsm h;
	int r = check_label("linux.mountLabel", ml, err);
	if (r < 0)
		return r;
	if (strchr(ml, '"'))
		return berth_error_set(err, -EINVAL, "linux.mountLabel: \"%s\" contains a '\"'", ml);
	lsm_probe_at("/", &h, NULL, 0);
	if (!h.selinux)
		return berth_error_set(
		    err, -EOPNOTSUPP,
		    "linux.mountLabel: \"%s\" is set but SELinux is not enabled on this host", ml);
	return 0;
}

int lsm_prepare_init(const struct oci_config *c, bool new_keyring, int *ret_fd, char **ret_value,
		     struct berth_error *err)
{
	const struct oci_process *p = &c->process;
	int r;

	if (c->has_linux && has_label(c->linux_.mount_label)) {
		r = check_mount_label(c->linux_.mount_label, err);
		if (r < 0)
			return r;
	}
	r = lsm_prepare_exec_label(p, ret_fd, ret_value, err);
	/* a SELinux label was accepted: SELinux is on */
	if (r == 0 && new_keyring && has_label(p->selinux_label)) {
		r = set_keycreate(p->selinux_label, err);
		if (r < 0) {
			closep(ret_fd);
			free(*ret_value);
			*ret_value = NULL;
		}
	}
	return r;
}

int lsm_apply_exec_label(int fd, const char *value, struct berth_error *err)
{
	if (fd < 0 || !value)
		return 0;
	int r = write_attr(fd, value);
	if (r < 0)
		return berth_error_setf_errno(err, r, "%s: write \"%s\" to the exec attribute",
					      strncmp(value, "exec ", 5) == 0 ? "process.apparmorProfile"
									      : "process.selinuxLabel",
					      value);
	return 0;
}

int lsm_mount_data(const char *type, const char *label, char *data, size_t size, struct berth_error *err)
{
	static const char *const unlabelled[] = {"proc", "sysfs", "cgroup", "cgroup2", "mqueue", "bind"};
	if (!label || !*label)
		return 0;
	for (size_t i = 0; i < sizeof(unlabelled) / sizeof(unlabelled[0]); i++)
		if (strcmp(type, unlabelled[i]) == 0)
			return 0;
	size_t len = strlen(data);
	int n = snprintf(data + len, size - len, "%scontext=\"%s\"", len ? "," : "", label);
	if (n < 0 || (size_t)n >= size - len) {
		data[len] = '\0';
		return berth_error_set(err, -E2BIG, "linux.mountLabel: the mount options become too long");
	}
	return 0;
}

int lsm_label_mount_root(int fd, const char *label, struct berth_error *err)
{
	char path[64];
	if (!label || !*label)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (setxattr(path, "security.selinux", label, strlen(label), 0) < 0)
		return berth_error_setf_errno(err, -errno, "linux.mountLabel: label the mount \"%s\"", label);
	return 0;
}
