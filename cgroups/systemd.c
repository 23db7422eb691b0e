/* systemd driver, the D-Bus part: transient scope units through org.freedesktop.systemd1 with
 * sd-bus. Only berth-ext and dynamically linked builds contain this file: the static berth
 * reaches it through `berth-ext __systemd` (cli/systemd_proxy.c), so a container without
 * --systemd-cgroup never maps libsystemd (and its compression and crypto libraries) nor
 * connects to a bus. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "berth/cgroups_systemd.h"
#include "berth/error.h"
#include "berth/log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define JOB_TIMEOUT_US (60ull * 1000000ull) /* a loaded systemd under emulation can be slow */

/* One call's bus, signal match and the job it waits for. */
struct sd_call {
	sd_bus *bus;
	sd_bus_slot *slot;
	char job[256];
	bool job_done;
	char result[32];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	(void)ret_error;
	struct sd_call *c = userdata;
	uint32_t id;
	const char *path, *unit, *result;
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (c->job[0] && strcmp(path, c->job) == 0) {
		c->job_done = true;
		snprintf(c->result, sizeof(c->result), "%s", result);
	}
	return 0;
}

static void call_close(struct sd_call *c)
{
	if (c->slot)
		sd_bus_slot_unref(c->slot);
	if (c->bus)
		sd_bus_flush_close_unref(c->bus);
	c->slot = NULL;
	c->bus = NULL;
}

static int call_open(struct sd_call *c, struct berth_error *err)
{
	memset(c, 0, sizeof(*c));
	/* A non-root caller talks to its own systemd instance, on its session bus. */
	bool user = geteuid() != 0;
	int r = user ? sd_bus_open_user(&c->bus) : sd_bus_open_system(&c->bus);
	if (r < 0)
		return berth_error_setf_errno(
		    err, r,
		    user ? "--systemd-cgroup: connect to the user's D-Bus (rootless: "
			   "DBUS_SESSION_BUS_ADDRESS or $XDG_RUNTIME_DIR/bus)"
			 : "--systemd-cgroup: connect to the system D-Bus");
	/* Subscribed before the call: the signal may come right behind the reply. */
	r = sd_bus_match_signal(c->bus, &c->slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed,
				c);
	if (r < 0) {
		call_close(c);
		return berth_error_setf_errno(err, r, "--systemd-cgroup: subscribe to JobRemoved");
	}
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Wait for the JobRemoved of the job in @reply; "done" is success. */
static int wait_job(struct sd_call *c, sd_bus_message *reply, const char *what, const char *unit,
		    struct berth_error *err)
{
	const char *job = NULL;
	int r = sd_bus_message_read(reply, "o", &job);
	if (r < 0)
		return berth_error_setf_errno(err, r, "%s %s: read the job path", what, unit);
	snprintf(c->job, sizeof(c->job), "%s", job);
	uint64_t deadline = now_us() + JOB_TIMEOUT_US;
	while (!c->job_done) {
		r = sd_bus_process(c->bus, NULL);
		if (r < 0)
			return berth_error_setf_errno(err, r, "%s %s: D-Bus", what, unit);
		if (r > 0)
			continue;
		uint64_t t = now_us();
		if (t >= deadline)
			return berth_error_set(err, -ETIMEDOUT, "%s %s: the job %s did not finish in %llu s",
					       what, unit, c->job, JOB_TIMEOUT_US / 1000000);
		r = sd_bus_wait(c->bus, deadline - t);
		if (r < 0)
			return berth_error_setf_errno(err, r, "%s %s: D-Bus", what, unit);
	}
	if (strcmp(c->result, "done") != 0)
		return berth_error_set(err, -EIO, "%s %s: systemd's job ended \"%s\" (see journalctl -u %s)",
				       what, unit, c->result, unit);
	return 0;
}

static int append_props(sd_bus_message *m, const struct cgroup_systemd_prop *props, size_t n,
			struct berth_error *err)
{
	int r = 0;
	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct cgroup_systemd_prop *p = &props[i];
		log_debug("systemd: %s", p->name);
		if (p->type == CGSD_U64) {
			r = sd_bus_message_append(m, "(sv)", p->name, "t", p->u64);
			continue;
		}
		if (p->type == CGSD_STR) {
			r = sd_bus_message_append(m, "(sv)", p->name, "s", p->str);
			continue;
		}
		if (p->type == CGSD_DEVICE_ALLOW) {
			/* One entry per property appends to the list; an empty array resets it. */
			if (p->str[0])
				r = sd_bus_message_append(m, "(sv)", p->name, "a(ss)", 1, p->str, p->access);
			else
				r = sd_bus_message_append(m, "(sv)", p->name, "a(ss)", 0);
			continue;
		}
		r = sd_bus_message_open_container(m, 'r', "sv");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", p->name);
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'v', "ay");
		if (r >= 0)
			r = sd_bus_message_append_array(m, 'y', p->bits, p->n_bits);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	return r < 0 ? berth_error_setf_errno(err, r, "--systemd-cgroup: build the unit properties") : 0;
}

static int build_start(sd_bus_message *m, const struct cgroup_systemd_unit *u, pid_t pid,
		       const struct cgroup_systemd_prop *props, size_t n, struct berth_error *err)
{
	char desc[CGROUP_SYSTEMD_NAME_MAX + 32];
	snprintf(desc, sizeof(desc), "berth container %s", u->unit);
	int r = sd_bus_message_append(m, "ss", u->unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Description", "s", desc, "Slice", "s",
					  u->slice, "Delegate", "b", 1, "PIDs", "au", 1, (uint32_t)pid);
	/* No ordering against shutdown.target and friends: the scope lives exactly as long as the
	 * container. Accounting on, so the unit's own counters (systemctl status) are filled. */
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "DefaultDependencies", "b", 0,
					  "MemoryAccounting", "b", 1, "CPUAccounting", "b", 1, "IOAccounting",
					  "b", 1, "TasksAccounting", "b", 1);
	if (r < 0)
		return berth_error_setf_errno(err, r, "--systemd-cgroup: build StartTransientUnit");
	r = append_props(m, props, n, err);
	if (r < 0)
		return r;
	r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	return r < 0 ? berth_error_setf_errno(err, r, "--systemd-cgroup: build StartTransientUnit") : 0;
}

int cgroup_systemd_start(const struct cgroup_systemd_unit *u, pid_t pid,
			 const struct cgroup_systemd_prop *props, size_t n, struct berth_error *err)
{
	struct sd_call c;
	int r = call_open(&c, err);
	if (r < 0)
		return r;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	r = sd_bus_message_new_method_call(c.bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StartTransientUnit");
	if (r < 0)
		r = berth_error_setf_errno(err, r, "--systemd-cgroup: StartTransientUnit");
	else
		r = build_start(m, u, pid, props, n, err);
	if (r >= 0) {
		r = sd_bus_call(c.bus, m, JOB_TIMEOUT_US, &e, &reply);
		if (r < 0)
			r = berth_error_set(err, r, "linux.cgroupsPath: start unit %s in %s: %s", u->unit,
					    u->slice, e.message ? e.message : strerror(-r));
	}
	if (r >= 0)
		r = wait_job(&c, reply, "linux.cgroupsPath: start unit", u->unit, err);
	sd_bus_error_free(&e);
	if (reply)
		sd_bus_message_unref(reply);
	if (m)
		sd_bus_message_unref(m);
	call_close(&c);
	return r < 0 ? r : 0;
}

int cgroup_systemd_update(const char *unit, const struct cgroup_systemd_prop *props, size_t n,
			  struct berth_error *err)
{
	struct sd_call c;
	int r = call_open(&c, err);
	if (r < 0)
		return r;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	r = sd_bus_message_new_method_call(c.bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "SetUnitProperties");
	if (r >= 0)
		r = sd_bus_message_append(m, "sb", unit, 1);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r < 0)
		r = berth_error_setf_errno(err, r, "--systemd-cgroup: SetUnitProperties");
	if (r >= 0)
		r = append_props(m, props, n, err);
	if (r >= 0 && (r = sd_bus_message_close_container(m)) < 0)
		r = berth_error_setf_errno(err, r, "--systemd-cgroup: SetUnitProperties");
	if (r >= 0) {
		r = sd_bus_call(c.bus, m, JOB_TIMEOUT_US, &e, &reply);
		if (r < 0)
			r = berth_error_set(err, r, "set the properties of unit %s: %s", unit,
					    e.message ? e.message : strerror(-r));
	}
	sd_bus_error_free(&e);
	if (reply)
		sd_bus_message_unref(reply);
	if (m)
		sd_bus_message_unref(m);
	call_close(&c);
	return r < 0 ? r : 0;
}

int cgroup_systemd_stop(const char *unit, struct berth_error *err)
{
	struct sd_call c;
	int r = call_open(&c, err);
	if (r < 0)
		return r;
	sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	r = sd_bus_call_method(c.bus, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", &e, &reply, "ss", unit,
			       "replace");
	if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
		r = 0; /* already gone: an emptied scope is stopped and unloaded by systemd itself */
	else if (r < 0)
		r = berth_error_set(err, r, "stop unit %s: %s", unit, e.message ? e.message : strerror(-r));
	else
		r = wait_job(&c, reply, "stop unit", unit, err);
	sd_bus_error_free(&e);
	if (reply)
		sd_bus_message_unref(reply);
	reply = NULL;
	/* A scope whose processes were killed may be left "failed": forget it, leave nothing. */
	e = (sd_bus_error)SD_BUS_ERROR_NULL;
	(void)sd_bus_call_method(c.bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", &e, &reply, "s",
				 unit);
	sd_bus_error_free(&e);
	if (reply)
		sd_bus_message_unref(reply);
	call_close(&c);
	return r < 0 ? r : 0;
}
