/* The container process's identity and limits, applied by the init just before exec. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "berth/cleanup.h"
#include "berth/error.h"
#include "berth/log.h"
#include "berth/util.h"
#include "internal.h"
#include "lifecycle.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* strerror's text as Go prints it ("no such file or directory"): podman, Docker and containerd
 * map a runtime's failed exec to exit status 127 or 126 by these words, as runc writes them. */
static const char *errno_words(int errnum, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(errnum));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static const char *env_path(char **env)
{
	for (char **e = env; e && *e; e++)
		if (str_has_prefix(*e, "PATH="))
			return *e + 5;
	return DEFAULT_PATH;
}

int process_lookup_exec(const struct oci_process *p, char *ret_path, size_t size, struct berth_error *err)
{
	const char *name = p->args[0];
	char words[128];
	if (strchr(name, '/')) {
		struct stat st;
		/* Missing: "stat X: no such file or directory" (127); there but not an executable
		 * file (a directory, no x bit): "permission denied" (126), as runc says it. */
		if (stat(name, &st) < 0) {
			int e = errno;
			return berth_error_set(err, -e, "exec: \"%s\": stat %s: %s", name, name,
					       errno_words(e, words, sizeof(words)));
		}
		if (!S_ISREG(st.st_mode) || access(name, X_OK) < 0)
			return berth_error_set(err, -EACCES, "exec: \"%s\": %s", name,
					       errno_words(EACCES, words, sizeof(words)));
		snprintf(ret_path, size, "%s", name);
		return 0;
	}
	const char *path = env_path(p->env);
	while (*path) {
		const char *colon = strchrnul(path, ':');
		int dlen = (int)(colon - path);
		char cand[PATH_MAX];
		if (snprintf(cand, sizeof(cand), "%.*s/%s", dlen ? dlen : 1, dlen ? path : ".", name) <
			(int)sizeof(cand) &&
		    is_executable(cand)) {
			snprintf(ret_path, size, "%s", cand);
			return 0;
		}
		path = *colon ? colon + 1 : colon;
	}
	return berth_error_set(err, -ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

int process_apply_rlimits(const struct oci_process *p, struct berth_error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct oci_rlimit *rl = &p->rlimits[i];
		struct rlimit lim = {.rlim_cur = rl->soft, .rlim_max = rl->hard};
		if (setrlimit(rl->resource, &lim) < 0)
			return berth_error_setf_errno(err, -errno, "process.rlimits[%zu]: set %s", i,
						      rl->type);
	}
	return 0;
}

int process_apply_oom_score_adj(const struct oci_process *p, pid_t pid, struct berth_error *err)
{
	if (!p->has_oom_score_adj)
		return 0;
	char buf[16], path[64];
	int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	int r = write_file_at(AT_FDCWD, path, buf, (size_t)n, false, 0);
	if (r < 0)
		return berth_error_setf_errno(err, r, "process.oomScoreAdj: write %d", p->oom_score_adj);
	return 0;
}

int process_apply_personality(const struct oci_linux *l, struct berth_error *err)
{
	if (!l || !l->has_personality || !l->personality_domain)
		return 0;
	unsigned long persona = strcmp(l->personality_domain, "LINUX32") == 0 ? PER_LINUX32 : PER_LINUX;
	if (personality(persona) < 0)
		return berth_error_setf_errno(err, -errno, "linux.personality: set %s",
					      l->personality_domain);
	return 0;
}

/* Fill @caps's @flag set from a list of names. */
static int caps_set_list(cap_t caps, cap_flag_t flag, char **names, const char *field,
			 struct berth_error *err)
{
	for (size_t i = 0; names && names[i]; i++) {
		cap_value_t v;
		if (cap_from_name(names[i], &v) < 0)
			return berth_error_set(err, -EINVAL,
					       "process.capabilities.%s[%zu]: unknown capability \"%s\"",
					       field, i, names[i]);
		if (v >= cap_max_bits())
			continue; /* named by the config but unknown to this kernel: like runc, skip it */
		if (cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
			return berth_error_setf_errno(err, -errno, "process.capabilities.%s", field);
	}
	return 0;
}

/* Drop from the bounding set every capability the kernel has (libcap learnt how many when it was
 * loaded: cap_max_bits, no syscall) that the config does not keep. */
static int caps_drop_bounding(const struct oci_capabilities *c, struct berth_error *err)
{
	uint64_t keep = 0;
	for (size_t i = 0; c->bounding && c->bounding[i]; i++) {
		cap_value_t v;
		if (cap_from_name(c->bounding[i], &v) == 0 && v >= 0 && v < 64)
			keep |= 1ull << v;
	}
	for (cap_value_t v = 0; v < cap_max_bits(); v++) {
		if (!(v < 64 && (keep & (1ull << v))) && prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return berth_error_setf_errno(err, -errno, "process.capabilities.bounding: drop %s",
						      cap_to_name(v));
	}
	return 0;
}

static int caps_apply(const struct oci_capabilities *c, struct berth_error *err)
{
	cap_t caps = cap_init();
	if (!caps)
		return berth_error_setf_errno(err, -errno, "cap_init");
	int r = caps_set_list(caps, CAP_EFFECTIVE, c->effective, "effective", err);
	if (r == 0)
		r = caps_set_list(caps, CAP_PERMITTED, c->permitted, "permitted", err);
	if (r == 0)
		r = caps_set_list(caps, CAP_INHERITABLE, c->inheritable, "inheritable", err);
	if (r == 0 && cap_set_proc(caps) < 0)
		r = berth_error_setf_errno(err, -errno, "process.capabilities: apply sets");
	cap_free(caps);
	if (r < 0)
		return r;
	for (size_t i = 0; c->ambient && c->ambient[i]; i++) {
		cap_value_t v;
		if (cap_from_name(c->ambient[i], &v) < 0 || v >= cap_max_bits())
			continue;
		/* The kernel raises an ambient capability only if it is both permitted and inheritable.
		 * `runc spec` lists ambient capabilities with no inheritable ones; runc and crun skip the
		 * ones they cannot raise, and so does berth (with a debug record). */
		if (cap_set_ambient(v, CAP_SET) < 0) {
			if (errno != EPERM)
				return berth_error_setf_errno(err, -errno,
							      "process.capabilities.ambient[%zu]: raise %s",
							      i, c->ambient[i]);
			log_debug("process.capabilities.ambient[%zu]: %s skipped (not both permitted and "
				  "inheritable)",
				  i, c->ambient[i]);
		}
	}
	return 0;
}

static int set_user(const struct oci_user *u, struct berth_error *err)
{
	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32-bit on Linux");
	const gid_t *groups = (const gid_t *)u->additional_gids;
	size_t n = u->n_additional_gids;
	if (n > NGROUPS_MAX)
		return berth_error_set(err, -E2BIG, "process.user.additionalGids: more than %d groups",
				       NGROUPS_MAX);
	/* setgroups is denied in a user namespace whose /proc/self/setgroups says "deny"; with no
	 * additional gids there is nothing to lose, so only fail when some were asked for. */
	if (setgroups(n, groups) < 0 && n > 0)
		return berth_error_setf_errno(err, -errno, "process.user.additionalGids: setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return berth_error_setf_errno(err, -errno, "process.user.gid: setgid %u", u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return berth_error_setf_errno(err, -errno, "process.user.uid: setuid %u", u->uid);
	return 0;
}

int process_apply_identity(const struct oci_process *p, struct berth_error *err)
{
	int r;
	if (p->has_capabilities) {
		r = caps_drop_bounding(&p->capabilities, err);
		if (r < 0)
			return r;
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return berth_error_setf_errno(err, -errno, "prctl(PR_SET_KEEPCAPS)");
	}
	r = set_user(&p->user, err);
	if (r < 0)
		return r;
	if (p->has_capabilities) {
		r = caps_apply(&p->capabilities, err);
		if (r < 0)
			return r;
		(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	umask(p->user.has_umask ? p->user.umask : 0022);
	return 0;
}

int process_setup_terminal(const struct oci_process *p, int console_fd, struct berth_error *err)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return berth_error_setf_errno(err, -errno, "process.terminal: open /dev/ptmx");
	char name[64];
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
		return berth_error_setf_errno(err, -errno, "process.terminal: unlock pty");
	_cleanup_close_ int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return berth_error_setf_errno(err, -errno, "process.terminal: open %s", name);
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_height,
				     .ws_col = (unsigned short)p->console_width};
		(void)ioctl(slave, TIOCSWINSZ, &ws);
	}
	int r = unix_send_fd(console_fd, master, "", 1);
	if (r < 0)
		return berth_error_setf_errno(err, r, "send pty master to --console-socket");
	if ((setsid() < 0 && errno != EPERM) || ioctl(slave, TIOCSCTTY, 0) < 0)
		return berth_error_setf_errno(err, -errno,
					      "process.terminal: make %s the controlling terminal", name);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return berth_error_setf_errno(err, -errno, "process.terminal: dup2");
	return 0;
}

int process_enter_cwd(const struct oci_process *p, bool create, struct berth_error *err)
{
	/* Resolved inside the container's root with no magic links, so a cwd like /proc/self/fd/N
	 * never reaches a descriptor of the runtime or of its caller (CVE-2024-21626 class). A
	 * missing cwd is created inside the root, like runc does for the init. */
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -EBADF;
	if (root < 0)
		return berth_error_setf_errno(err, -errno, "process.cwd: open the container's root");
	int r = rootfs_resolve(root, p->cwd, create ? ROOTFS_RESOLVE_MKDIR : 0, O_PATH | O_DIRECTORY, &fd);
	if (r < 0)
		return berth_error_setf_errno(err, r, "process.cwd: '%s'", p->cwd);
	if (fchdir(fd) < 0)
		return berth_error_setf_errno(err, -errno, "process.cwd: chdir to '%s'", p->cwd);
	/* Belt and braces: the kernel says "unreachable" for a directory outside our root. */
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
		return berth_error_set(err, -EPERM, "process.cwd: '%s' is outside the container's root",
				       p->cwd);
	return 0;
}

int process_prepare(const struct oci_process *p, int console_fd, bool create_cwd, char *exec_path,
		    size_t size, struct berth_error *err)
{
	int r = 0;
	if (p->terminal && console_fd >= 0) {
		r = process_setup_terminal(p, console_fd, err);
		if (r < 0)
			return r;
		close(console_fd);
	}
	r = process_apply_rlimits(p, err);
	if (r == 0)
		r = process_enter_cwd(p, create_cwd, err);
	if (r == 0)
		r = process_lookup_exec(p, exec_path, size, err);
	return r;
}

/* HOME from the container's /etc/passwd entry for @uid, or "/" (what runc does when the
 * configured env has no HOME). */
static void home_of(uid_t uid, char *buf, size_t size)
{
	snprintf(buf, size, "/");
	_cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		char *fields[7] = {0};
		char *tok = line;
		int n = 0;
		/* strtok would merge empty fields; walk the colons by hand. */
		for (; n < 7 && tok; n++) {
			fields[n] = tok;
			tok = strchr(tok, ':');
			if (tok)
				*tok++ = '\0';
		}
		if (n >= 6 && fields[2] && (uid_t)strtoul(fields[2], NULL, 10) == uid && fields[2][0] &&
		    fields[5][0]) {
			snprintf(buf, size, "%s", fields[5]);
			return;
		}
	}
}

int process_env_with_home(const struct oci_process *p, char ***ret_env)
{
	size_t n = 0;
	for (; p->env && p->env[n]; n++)
		if (str_has_prefix(p->env[n], "HOME="))
			return 0; /* already there: *ret_env untouched */
	char home[PATH_MAX];
	home_of(p->user.uid, home, sizeof(home));
	char **env = calloc(n + 2, sizeof(char *));
	char *entry = malloc(strlen(home) + 6);
	if (!env || !entry) {
		free(env);
		free(entry);
		return -ENOMEM;
	}
	if (n)
		memcpy(env, p->env, n * sizeof(char *));
	sprintf(entry, "HOME=%s", home);
	env[n] = entry;
	*ret_env = env;
	return 0;
}
