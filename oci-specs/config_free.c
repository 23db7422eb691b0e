/* Releasing parsed configs. Every function here accepts partly filled structs (a parse that
 * failed halfway), so none of them looks at the has_* flags: a pointer is either NULL or owned. */
#include <stdlib.h>

#include "berth/oci.h"
#include "json_internal.h"

void strv_free(char **strv)
{
	for (size_t i = 0; strv && strv[i]; i++)
		free(strv[i]);
	free(strv);
}

void oci_kv_free_array(struct oci_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void oci_process_clear(struct oci_process *p)
{
	struct oci_capabilities *caps = &p->capabilities;

	free(p->user.additional_gids);
	free(p->user.username);
	strv_free(p->args);
	free(p->command_line);
	strv_free(p->env);
	free(p->cwd);
	strv_free(caps->bounding);
	strv_free(caps->effective);
	strv_free(caps->inheritable);
	strv_free(caps->permitted);
	strv_free(caps->ambient);
	for (size_t i = 0; p->rlimits && i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->scheduler.policy);
	strv_free(p->scheduler.flags);
	free(p->io_priority.class_name);
	free(p->exec_cpu_affinity_initial);
	free(p->exec_cpu_affinity_final);
}

void oci_process_free(struct oci_process *process)
{
	if (!process)
		return;
	oci_process_clear(process);
	free(process);
}

void oci_resources_clear(struct oci_resources *r)
{
	for (size_t i = 0; r->devices && i < r->n_devices; i++)
		free(r->devices[i].access);
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->block_io.weight_device);
	free(r->block_io.throttle_read_bps);
	free(r->block_io.throttle_write_bps);
	free(r->block_io.throttle_read_iops);
	free(r->block_io.throttle_write_iops);
	for (size_t i = 0; r->hugepage_limits && i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	for (size_t i = 0; r->network.priorities && i < r->network.n_priorities; i++)
		free(r->network.priorities[i].name);
	free(r->network.priorities);
	for (size_t i = 0; r->rdma && i < r->n_rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	oci_kv_free_array(r->unified, r->n_unified);
}

static void seccomp_clear(struct oci_seccomp *s)
{
	free(s->default_action);
	strv_free(s->architectures);
	strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; s->syscalls && i < s->n_syscalls; i++) {
		struct oci_seccomp_syscall *sc = &s->syscalls[i];

		strv_free(sc->names);
		free(sc->action);
		for (size_t j = 0; sc->args && j < sc->n_args; j++)
			free(sc->args[j].op);
		free(sc->args);
	}
	free(s->syscalls);
}

void oci_linux_clear(struct oci_linux *l)
{
	for (size_t i = 0; l->namespaces && i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; l->time_offsets && i < l->n_time_offsets; i++)
		free(l->time_offsets[i].clock);
	free(l->time_offsets);
	for (size_t i = 0; l->devices && i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	oci_resources_clear(&l->resources);
	oci_kv_free_array(l->sysctl, l->n_sysctl);
	seccomp_clear(&l->seccomp);
	free(l->rootfs_propagation);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	free(l->mount_label);
	free(l->personality_domain);
	strv_free(l->personality_flags);
	free(l->intel_rdt.clos_id);
	free(l->intel_rdt.l3_cache_schema);
	free(l->intel_rdt.mem_bw_schema);
	for (size_t i = 0; l->net_devices && i < l->n_net_devices; i++) {
		free(l->net_devices[i].host_name);
		free(l->net_devices[i].name);
	}
	free(l->net_devices);
}

static void mounts_free(struct oci_mount *mounts, size_t n)
{
	for (size_t i = 0; mounts && i < n; i++) {
		free(mounts[i].destination);
		free(mounts[i].type);
		free(mounts[i].source);
		strv_free(mounts[i].options);
		free(mounts[i].uid_mappings);
		free(mounts[i].gid_mappings);
	}
	free(mounts);
}

static void hooks_free(struct oci_hook *hooks, size_t n)
{
	for (size_t i = 0; hooks && i < n; i++) {
		free(hooks[i].path);
		strv_free(hooks[i].args);
		strv_free(hooks[i].env);
	}
	free(hooks);
}

void oci_config_free(struct oci_config *config)
{
	if (!config)
		return;
	free(config->oci_version);
	free(config->root_path);
	free(config->hostname);
	free(config->domainname);
	oci_process_clear(&config->process);
	mounts_free(config->mounts, config->n_mounts);
	for (int k = 0; k < OCI_HOOK_KIND_MAX; k++)
		hooks_free(config->hooks[k], config->n_hooks[k]);
	oci_kv_free_array(config->annotations, config->n_annotations);
	oci_linux_clear(&config->linux_);
	free(config);
}
