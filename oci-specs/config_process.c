/* The process object of config.json, also parsed on its own for `exec --process`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "berth/error.h"
#include "berth/log.h"
#include "berth/oci.h"
#include "json_internal.h"

/* ---- name tables ---- */

static const char *const cap_names[OCI_CAP_LAST + 1] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int oci_capability_from_name(const char *name)
{
	for (int i = 0; name && i <= OCI_CAP_LAST; i++) {
		if (strcmp(cap_names[i], name) == 0)
			return i;
	}
	return -1;
}

const char *oci_capability_name(int cap)
{
	if (cap < 0 || cap > OCI_CAP_LAST)
		return NULL;
	return cap_names[cap];
}

struct name_num {
	const char *name;
	int num;
};

static const struct name_num rlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

/* The kernel's SCHED_* numbers; glibc does not define all of them (SCHED_ISO never landed). */
enum { POL_OTHER = 0, POL_FIFO = 1, POL_RR = 2, POL_BATCH = 3, POL_ISO = 4, POL_IDLE = 5, POL_DEADLINE = 6 };

static const struct name_num sched_policies[] = {
    {"SCHED_OTHER", POL_OTHER},       {"SCHED_FIFO", POL_FIFO}, {"SCHED_RR", POL_RR},
    {"SCHED_BATCH", POL_BATCH},       {"SCHED_ISO", POL_ISO},   {"SCHED_IDLE", POL_IDLE},
    {"SCHED_DEADLINE", POL_DEADLINE},
};

static const struct name_num sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

/* ioprio_set(2) classes. */
static const struct name_num io_classes[] = {
    {"IOPRIO_CLASS_RT", 1},
    {"IOPRIO_CLASS_BE", 2},
    {"IOPRIO_CLASS_IDLE", 3},
};

static int lookup(const struct name_num *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0)
			return table[i].num;
	}
	return -1;
}

/* ---- user, console ---- */

static int parse_gids(struct jctx *c, yajl_val obj, struct oci_user *u)
{
	yajl_val v;
	size_t mark;
	int r;

	r = jget_array(c, obj, "additionalGids", &v);
	if (r < 0 || !v || v->u.array.len == 0)
		return r;
	u->additional_gids = calloc(v->u.array.len, sizeof(uint32_t));
	if (!u->additional_gids)
		return berth_error_set(c->err, -ENOMEM, "%s: out of memory", c->doc);
	u->n_additional_gids = v->u.array.len;
	mark = jpath_key(c, "additionalGids");
	for (size_t i = 0; i < v->u.array.len && r == 0; i++) {
		size_t imark = jpath_index(c, i);
		uint64_t gid = 0;

		r = jval_u64(c, v->u.array.values[i], UINT32_MAX, "an unsigned 32-bit integer", &gid);
		u->additional_gids[i] = (uint32_t)gid;
		jpath_pop(c, imark);
	}
	jpath_pop(c, mark);
	return r;
}

static int parse_user(struct jctx *c, yajl_val v, void *out)
{
	struct oci_user *u = out;
	int r;

	r = jget_u32(c, v, "uid", &u->uid, NULL);
	if (r == 0)
		r = jget_u32(c, v, "gid", &u->gid, NULL);
	if (r == 0)
		r = jget_u32(c, v, "umask", &u->umask, &u->has_umask);
	if (r == 0)
		r = parse_gids(c, v, u);
	if (r == 0)
		r = jget_string(c, v, "username", &u->username);
	if (r < 0)
		return r;
	if (u->has_umask && u->umask > 0777)
		return jfail_at(c, "umask", "must be at most 0777 (511)");
	return 0;
}

static int parse_console_size(struct jctx *c, yajl_val v, void *out)
{
	struct oci_process *p = out;
	int r;

	r = jget_u32(c, v, "height", &p->console_height, NULL);
	if (r == 0)
		r = jget_u32(c, v, "width", &p->console_width, NULL);
	return r;
}

/* ---- capabilities, rlimits ---- */

/* An unknown capability name is a warning, not an error (runtime spec: "MUST log a warning", "SHOULD
 * NOT fail"; runc warns, crun ignores): a config written for a newer kernel or libcap still runs.
 * The name is dropped from the set here, so nothing after the parser ever sees it. */
static int parse_cap_set(struct jctx *c, yajl_val obj, const char *key, char ***ret)
{
	char q[JQUOTE_MAX];
	size_t mark, n = 0;
	int r;

	r = jget_strv(c, obj, key, ret);
	if (r < 0 || !*ret)
		return r;
	for (size_t i = 0; (*ret)[i]; i++) {
		if (oci_capability_from_name((*ret)[i]) >= 0) {
			(*ret)[n++] = (*ret)[i];
			continue;
		}
		mark = jpath_key(c, key);
		jpath_index(c, i);
		log_warn("%s: ignoring unknown capability %s", c->path, jquote(q, sizeof(q), (*ret)[i]));
		jpath_pop(c, mark);
		free((*ret)[i]);
	}
	(*ret)[n] = NULL;
	return 0;
}

static int parse_capabilities(struct jctx *c, yajl_val v, void *out)
{
	struct oci_capabilities *caps = out;
	int r;

	r = parse_cap_set(c, v, "bounding", &caps->bounding);
	if (r == 0)
		r = parse_cap_set(c, v, "effective", &caps->effective);
	if (r == 0)
		r = parse_cap_set(c, v, "inheritable", &caps->inheritable);
	if (r == 0)
		r = parse_cap_set(c, v, "permitted", &caps->permitted);
	if (r == 0)
		r = parse_cap_set(c, v, "ambient", &caps->ambient);
	return r;
}

static int parse_rlimit(struct jctx *c, yajl_val v, void *out)
{
	struct oci_rlimit *rl = out;
	bool has_hard = false, has_soft = false;
	char q[JQUOTE_MAX];
	int r;

	r = jget_string(c, v, "type", &rl->type);
	if (r == 0)
		r = jget_u64(c, v, "hard", &rl->hard, &has_hard);
	if (r == 0)
		r = jget_u64(c, v, "soft", &rl->soft, &has_soft);
	if (r < 0)
		return r;
	if (!rl->type)
		return jfail_at(c, "type", "required");
	rl->resource = lookup(rlimits, ARRAY_SIZE(rlimits), rl->type);
	if (rl->resource < 0)
		return jfail_at(c, "type", "unknown rlimit %s", jquote(q, sizeof(q), rl->type));
	if (!has_hard)
		return jfail_at(c, "hard", "required");
	if (!has_soft)
		return jfail_at(c, "soft", "required");
	if (rl->soft > rl->hard)
		return jfail(c, "soft limit %llu exceeds hard limit %llu", (unsigned long long)rl->soft,
			     (unsigned long long)rl->hard);
	return 0;
}

/* The spec makes a repeated rlimit type an error; which one should win would be a guess. */
static int parse_rlimits(struct jctx *c, yajl_val obj, struct oci_process *p)
{
	bool seen[RLIM_NLIMITS] = {false};
	char q[JQUOTE_MAX];
	size_t mark;
	int r;

	r = JGET_ARRAY_OF(c, obj, "rlimits", parse_rlimit, &p->rlimits, &p->n_rlimits);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n_rlimits; i++) {
		int res = p->rlimits[i].resource;

		if (!seen[res]) {
			seen[res] = true;
			continue;
		}
		mark = jpath_key(c, "rlimits");
		jpath_index(c, i);
		r = jfail_at(c, "type", "duplicate rlimit %s", jquote(q, sizeof(q), p->rlimits[i].type));
		jpath_pop(c, mark);
		return r;
	}
	return 0;
}

/* ---- scheduler, I/O priority, CPU affinity ---- */

static int check_sched_flags(struct jctx *c, char **flags)
{
	char q[JQUOTE_MAX];
	size_t mark;
	int r;

	for (size_t i = 0; flags && flags[i]; i++) {
		if (lookup(sched_flags, ARRAY_SIZE(sched_flags), flags[i]) >= 0)
			continue;
		mark = jpath_key(c, "flags");
		jpath_index(c, i);
		r = jfail(c, "unknown scheduler flag %s", jquote(q, sizeof(q), flags[i]));
		jpath_pop(c, mark);
		return r;
	}
	return 0;
}

/* Cross-field rules as runc applies them: the kernel ignores or refuses the rest. */
static int check_scheduler(struct jctx *c, const struct oci_scheduler *s)
{
	char q[JQUOTE_MAX];

	if (!s->policy)
		return jfail_at(c, "policy", "required");
	if (s->policy_num < 0)
		return jfail_at(c, "policy", "unknown scheduling policy %s", jquote(q, sizeof(q), s->policy));
	if (s->nice < -20 || s->nice > 19)
		return jfail_at(c, "nice", "must be between -20 and 19");
	if (s->priority != 0 && s->policy_num != POL_FIFO && s->policy_num != POL_RR)
		return jfail_at(c, "priority", "only applies to SCHED_FIFO and SCHED_RR");
	if (s->policy_num != POL_DEADLINE && (s->runtime || s->deadline || s->period))
		return jfail(c, "runtime, deadline and period only apply to SCHED_DEADLINE");
	return check_sched_flags(c, s->flags);
}

static int parse_scheduler(struct jctx *c, yajl_val v, void *out)
{
	struct oci_scheduler *s = out;
	int r;

	r = jget_string(c, v, "policy", &s->policy);
	if (r == 0)
		r = jget_i32(c, v, "nice", &s->nice, NULL);
	if (r == 0)
		r = jget_i32(c, v, "priority", &s->priority, NULL);
	if (r == 0)
		r = jget_strv(c, v, "flags", &s->flags);
	if (r == 0)
		r = jget_u64(c, v, "runtime", &s->runtime, NULL);
	if (r == 0)
		r = jget_u64(c, v, "deadline", &s->deadline, NULL);
	if (r == 0)
		r = jget_u64(c, v, "period", &s->period, NULL);
	if (r < 0)
		return r;
	s->policy_num = s->policy ? lookup(sched_policies, ARRAY_SIZE(sched_policies), s->policy) : -1;
	return check_scheduler(c, s);
}

static int parse_io_priority(struct jctx *c, yajl_val v, void *out)
{
	struct oci_io_priority *io = out;
	char q[JQUOTE_MAX];
	int r;

	r = jget_string(c, v, "class", &io->class_name);
	if (r == 0)
		r = jget_i32(c, v, "priority", &io->priority, NULL);
	if (r < 0)
		return r;
	if (!io->class_name)
		return jfail_at(c, "class", "required");
	io->class_num = lookup(io_classes, ARRAY_SIZE(io_classes), io->class_name);
	if (io->class_num < 0)
		return jfail_at(c, "class", "unknown I/O priority class %s",
				jquote(q, sizeof(q), io->class_name));
	if (io->priority < 0 || io->priority > 7)
		return jfail_at(c, "priority", "must be between 0 and 7");
	return 0;
}

static bool parse_cpu_number(const char **s, unsigned long *ret)
{
	char *end;

	if (**s < '0' || **s > '9')
		return false;
	errno = 0;
	*ret = strtoul(*s, &end, 10);
	if (errno || *ret > 1u << 20)
		return false;
	*s = end;
	return true;
}

int check_cpu_list(struct jctx *c, const char *key, const char *list)
{
	const char *s = list;
	char q[JQUOTE_MAX];

	while (list && *s) {
		unsigned long lo, hi;

		if (!parse_cpu_number(&s, &lo))
			goto bad;
		hi = lo;
		if (*s == '-' && (s++, !parse_cpu_number(&s, &hi)))
			goto bad;
		if (hi < lo || (*s != ',' && *s != '\0') || (*s == ',' && s[1] == '\0'))
			goto bad;
		if (*s == ',')
			s++;
	}
	if (list && !*list)
		goto bad;
	return 0;
bad:
	return jfail_at(c, key, "invalid CPU list %s (expected e.g. \"0-3,7\")", jquote(q, sizeof(q), list));
}

static int parse_cpu_affinity(struct jctx *c, yajl_val v, void *out)
{
	struct oci_process *p = out;
	int r;

	r = jget_string(c, v, "initial", &p->exec_cpu_affinity_initial);
	if (r == 0)
		r = jget_string(c, v, "final", &p->exec_cpu_affinity_final);
	if (r == 0)
		r = check_cpu_list(c, "initial", p->exec_cpu_affinity_initial);
	if (r == 0)
		r = check_cpu_list(c, "final", p->exec_cpu_affinity_final);
	return r;
}

/* ---- the process ---- */

static int check_env(struct jctx *c, char **env)
{
	size_t mark;
	int r;

	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');

		if (eq && eq != env[i])
			continue;
		mark = jpath_key(c, "env");
		jpath_index(c, i);
		r = jfail(c, "expected NAME=VALUE");
		jpath_pop(c, mark);
		return r;
	}
	return 0;
}

static int check_process(struct jctx *c, const struct oci_process *p)
{
	if (!p->args)
		return jfail_at(c, "args", "required");
	if (!p->args[0])
		return jfail_at(c, "args", "must not be empty");
	if (!p->cwd || !*p->cwd)
		return jfail_at(c, "cwd", "required");
	if (p->cwd[0] != '/')
		return jfail_at(c, "cwd", "must be an absolute path");
	if (p->has_oom_score_adj && (p->oom_score_adj < -1000 || p->oom_score_adj > 1000))
		return jfail_at(c, "oomScoreAdj", "must be between -1000 and 1000");
	return check_env(c, p->env);
}

static int parse_process_security(struct jctx *c, yajl_val v, struct oci_process *p)
{
	int32_t oom = 0;
	int r;

	r = jget_with(c, v, "capabilities", parse_capabilities, &p->capabilities, &p->has_capabilities);
	if (r == 0)
		r = parse_rlimits(c, v, p);
	if (r == 0)
		r = jget_bool(c, v, "noNewPrivileges", &p->no_new_privileges, NULL);
	if (r == 0)
		r = jget_string(c, v, "apparmorProfile", &p->apparmor_profile);
	if (r == 0)
		r = jget_i32(c, v, "oomScoreAdj", &oom, &p->has_oom_score_adj);
	if (r == 0)
		r = jget_string(c, v, "selinuxLabel", &p->selinux_label);
	if (r == 0)
		r = jget_with(c, v, "scheduler", parse_scheduler, &p->scheduler, &p->has_scheduler);
	if (r == 0)
		r = jget_with(c, v, "ioPriority", parse_io_priority, &p->io_priority, &p->has_io_priority);
	if (r == 0)
		r = jget_with(c, v, "execCPUAffinity", parse_cpu_affinity, p, NULL);
	p->oom_score_adj = oom;
	return r;
}

int parse_process(struct jctx *c, yajl_val v, void *out)
{
	struct oci_process *p = out;
	int r;

	r = jget_bool(c, v, "terminal", &p->terminal, NULL);
	if (r == 0)
		r = jget_with(c, v, "consoleSize", parse_console_size, p, &p->has_console_size);
	if (r == 0)
		r = jget_with(c, v, "user", parse_user, &p->user, NULL);
	if (r == 0)
		r = jget_strv(c, v, "args", &p->args);
	if (r == 0)
		r = jget_string(c, v, "commandLine", &p->command_line);
	if (r == 0)
		r = jget_strv(c, v, "env", &p->env);
	if (r == 0)
		r = jget_string(c, v, "cwd", &p->cwd);
	if (r == 0)
		r = parse_process_security(c, v, p);
	if (r < 0)
		return r;
	return check_process(c, p);
}

static void oci_process_freep(struct oci_process **p)
{
	oci_process_free(*p);
	*p = NULL;
}

int oci_process_parse(const char *json, size_t len, struct oci_process **ret_process, struct berth_error *err)
{
	_cleanup_yajl_ yajl_val doc = NULL;
	_cleanup_(oci_process_freep) struct oci_process *p = NULL;
	struct jctx c;
	int r;

	if (!json || !ret_process)
		return berth_error_set(err, -EINVAL, "process.json: no document");
	r = json_parse_doc("process.json", json, len, &doc, err);
	if (r < 0)
		return r;
	jctx_init(&c, "process.json", err);
	if (!YAJL_IS_OBJECT(doc))
		return jfail(&c, "expected a JSON object");
	p = calloc(1, sizeof(*p));
	if (!p)
		return berth_error_set(err, -ENOMEM, "process.json: out of memory");
	r = parse_process(&c, doc, p);
	if (r < 0)
		return r;
	*ret_process = TAKE_PTR(p);
	return 0;
}
