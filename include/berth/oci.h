/* The OCI data model: runtime-spec 1.2 config.json (Linux), the state document, the default
 * spec, the features document, and berth's own persisted state. oci-specs/ is the only module
 * that touches JSON; everything else works on these structs.
 *
 * Conventions: strings are malloc'd and NUL-terminated; string lists are NULL-terminated arrays
 * (`char **`, NULL when absent); arrays of structs carry an explicit count. Optional scalars have
 * a `has_<name>` flag. oci_config_free() releases everything. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct berth_error;

/* ---- process ---- */

struct oci_rlimit {
	char *type;   /* "RLIMIT_NOFILE" */
	int resource; /* resolved RLIMIT_* number */
	uint64_t hard, soft;
};

struct oci_capabilities {
	/* NULL-terminated lists of names as given ("CAP_CHOWN"); NULL when the set is absent. */
	char **bounding, **effective, **inheritable, **permitted, **ambient;
};

struct oci_user {
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* windows only; kept */
};

struct oci_scheduler {
	char *policy; /* SCHED_OTHER, ... */
	int policy_num;
	int32_t nice, priority;
	char **flags;
	uint64_t runtime, deadline, period;
};

struct oci_io_priority {
	char *class_name; /* IOPRIO_CLASS_RT|BE|IDLE */
	int class_num;
	int32_t priority;
};

struct oci_process {
	bool terminal;
	bool has_console_size;
	uint32_t console_height, console_width;
	struct oci_user user;
	char **args;        /* required, non-empty */
	char *command_line; /* windows; kept */
	char **env;
	char *cwd; /* required, absolute */
	bool has_capabilities;
	struct oci_capabilities capabilities;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
	bool has_scheduler;
	struct oci_scheduler scheduler;
	bool has_io_priority;
	struct oci_io_priority io_priority;
	char *exec_cpu_affinity_initial, *exec_cpu_affinity_final;
};

/* Capabilities berth knows by name: CAP_CHOWN (0) .. CAP_CHECKPOINT_RESTORE (40), the kernel's
 * numbering. oci-specs resolves names itself so it does not depend on libcap. */
#define OCI_CAP_LAST 40
/* "CAP_CHOWN" -> 0; -1 for an unknown name. */
int oci_capability_from_name(const char *name);
/* 0 -> "CAP_CHOWN"; NULL outside 0..OCI_CAP_LAST. */
const char *oci_capability_name(int cap);

/* ---- mounts ---- */

struct oci_id_mapping {
	uint32_t container_id, host_id, size;
};

struct oci_mount {
	char *destination; /* required, absolute */
	char *type;
	char *source;
	char **options;
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
};

/* ---- hooks ---- */

struct oci_hook {
	char *path; /* required, absolute */
	char **args;
	char **env;
	bool has_timeout;
	int timeout; /* seconds, > 0 */
};

enum oci_hook_kind {
	OCI_HOOK_PRESTART = 0,
	OCI_HOOK_CREATE_RUNTIME,
	OCI_HOOK_CREATE_CONTAINER,
	OCI_HOOK_START_CONTAINER,
	OCI_HOOK_POSTSTART,
	OCI_HOOK_POSTSTOP,
	OCI_HOOK_KIND_MAX,
};

/* The JSON name of a hook list ("createRuntime"). */
const char *oci_hook_kind_name(enum oci_hook_kind kind);

/* ---- linux ---- */

enum oci_ns_type {
	OCI_NS_PID = 0,
	OCI_NS_NETWORK,
	OCI_NS_MOUNT,
	OCI_NS_IPC,
	OCI_NS_UTS,
	OCI_NS_USER,
	OCI_NS_CGROUP,
	OCI_NS_TIME,
	OCI_NS_MAX,
};

struct oci_namespace {
	enum oci_ns_type type;
	char *path; /* NULL: create a new one */
};

/* "pid" -> OCI_NS_PID; -1 for unknown. And back. And the CLONE_NEW* flag. */
int oci_ns_type_from_name(const char *name);
const char *oci_ns_type_name(enum oci_ns_type type);
unsigned long oci_ns_clone_flag(enum oci_ns_type type);

struct oci_time_offset {
	char *clock; /* "monotonic" | "boottime" */
	int64_t secs;
	uint32_t nanosecs;
};

struct oci_device {
	char *path;           /* required, absolute */
	char type;            /* 'c', 'u', 'b', 'p' */
	int64_t major, minor; /* required unless type 'p' */
	bool has_file_mode;
	uint32_t file_mode;
	bool has_uid, has_gid;
	uint32_t uid, gid;
};

struct oci_device_cgroup {
	bool allow;
	char type;                 /* 'a', 'c', 'b'; 'a' when absent */
	bool has_major, has_minor; /* absent = wildcard */
	int64_t major, minor;
	char *access; /* subset of "rwm"; NULL = all */
};

struct oci_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};

struct oci_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB" */
	uint64_t limit;
};

struct oci_rdma_limit {
	char *device;
	bool has_hca_handles, has_hca_objects;
	uint32_t hca_handles, hca_objects;
};

struct oci_kv {
	char *key, *value;
};

struct oci_net_priority {
	char *name;
	uint32_t priority;
};

struct oci_resources {
	struct oci_device_cgroup *devices;
	size_t n_devices;

	bool has_memory;
	struct {
		bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp, has_swappiness;
		int64_t limit, reservation, swap, kernel, kernel_tcp;
		uint64_t swappiness;
		bool has_disable_oom_killer, has_use_hierarchy, has_check_before_update;
		bool disable_oom_killer, use_hierarchy, check_before_update;
	} memory;

	bool has_cpu;
	struct {
		bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime, has_realtime_period,
		    has_idle;
		uint64_t shares, period, realtime_period, burst;
		int64_t quota, realtime_runtime, idle;
		char *cpus, *mems;
	} cpu;

	bool has_pids;
	int64_t pids_limit;

	bool has_block_io;
	struct {
		bool has_weight, has_leaf_weight;
		uint16_t weight, leaf_weight;
		struct oci_weight_device *weight_device;
		size_t n_weight_device;
		struct oci_throttle_device *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
		    *throttle_write_iops;
		size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
	} block_io;

	struct oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;

	bool has_network;
	struct {
		bool has_class_id;
		uint32_t class_id;
		struct oci_net_priority *priorities;
		size_t n_priorities;
	} network;

	struct oci_rdma_limit *rdma;
	size_t n_rdma;

	struct oci_kv *unified;
	size_t n_unified;
};

struct oci_seccomp_arg {
	uint32_t index;
	uint64_t value, value_two;
	char *op; /* SCMP_CMP_EQ, ... */
};

struct oci_seccomp_syscall {
	char **names;
	char *action;
	bool has_errno_ret;
	uint32_t errno_ret;
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	char *default_action; /* required when seccomp is present */
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures;
	char **flags;
	char *listener_path, *listener_metadata;
	struct oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct oci_net_device {
	char *host_name; /* the map key */
	char *name;      /* optional new name */
};

struct oci_linux {
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct oci_time_offset *time_offsets;
	size_t n_time_offsets;
	struct oci_device *devices;
	size_t n_devices;
	char *cgroups_path;
	bool has_resources;
	struct oci_resources resources;
	struct oci_kv *sysctl;
	size_t n_sysctl;
	bool has_seccomp;
	struct oci_seccomp seccomp;
	char *rootfs_propagation; /* validated: shared|slave|private|unbindable|r* variants */
	char **masked_paths;
	char **readonly_paths;
	char *mount_label;
	bool has_personality;
	char *personality_domain; /* LINUX | LINUX32 */
	char **personality_flags;
	bool has_intel_rdt;
	struct {
		char *clos_id, *l3_cache_schema, *mem_bw_schema;
		bool enable_cmt, enable_mbm;
	} intel_rdt;
	struct oci_net_device *net_devices;
	size_t n_net_devices;
};

struct oci_config {
	char *oci_version; /* required */
	char *root_path;   /* root.path, required on Linux */
	bool root_readonly;
	char *hostname, *domainname;
	bool has_process;
	struct oci_process process;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hook *hooks[OCI_HOOK_KIND_MAX];
	size_t n_hooks[OCI_HOOK_KIND_MAX];
	struct oci_kv *annotations;
	size_t n_annotations;
	bool has_linux;
	struct oci_linux linux_;
};

/* Parse and validate a config.json document of @len bytes. Every wrong type, missing required
 * field or impossible value fails with -EINVAL and an @err message that starts with the JSON
 * path ("process.args: expected an array of strings"). Unknown fields are ignored.
 * On success *ret_config is owned by the caller (oci_config_free). */
int oci_config_parse(const char *json, size_t len, struct oci_config **ret_config, struct berth_error *err);

/* Parse a single process object (as in `exec --process FILE`). Same error rules, paths start
 * at the document root ("args: ..."). *ret_process owned by the caller (oci_process_free). */
int oci_process_parse(const char *json, size_t len, struct oci_process **ret_process,
		      struct berth_error *err);

void oci_config_free(struct oci_config *config);
void oci_process_free(struct oci_process *process);

/* Lookups. */
/* Semantic Versioning 2.0.0 ("1.0.2", "1.2.0-rc.1+dev"): the form ociVersion must have. */
bool oci_semver_valid(const char *version);
const struct oci_namespace *oci_config_namespace(const struct oci_config *config, enum oci_ns_type type);
const char *oci_config_annotation(const struct oci_config *config, const char *key);

/* ---- the state document (runtime-spec "State") ---- */

enum oci_status {
	OCI_STATUS_CREATING = 0,
	OCI_STATUS_CREATED,
	OCI_STATUS_RUNNING,
	OCI_STATUS_STOPPED,
	OCI_STATUS_PAUSED
};
const char *oci_status_name(enum oci_status status);

struct oci_state {
	const char *oci_version;
	const char *id;
	enum oci_status status;
	pid_t pid; /* 0: omitted (stopped) */
	const char *bundle;
	const struct oci_kv *annotations;
	size_t n_annotations;
};

/* Serialise @state as the spec's state JSON (pretty when @pretty). *ret_json malloc'd, NUL-terminated. */
int oci_state_to_json(const struct oci_state *state, bool pretty, char **ret_json, size_t *ret_len);

/* ---- berth's persisted per-container record (<root>/<id>/state.json) ---- */

struct berth_record {
	char *id;
	char *bundle;
	char *rootfs; /* absolute rootfs path on the host */
	pid_t pid;
	uint64_t pid_start_time; /* from /proc/<pid>/stat, to detect pid reuse */
	char *created;           /* RFC 3339 */
	char *owner;             /* "" for root, as runc prints */
	char *cgroup_path;       /* as resolved at create ("/berth-test/x"); NULL when no cgroup */
	bool cgroup_owned;       /* berth created it and must remove it on delete */
	bool systemd_cgroup;
	/* Bit k set: config.json has hooks of kind k (enum oci_hook_kind). start and delete read the
	 * config only when their hooks exist. Records written before this field: hook_kinds_known false. */
	uint32_t hook_kinds;
	bool hook_kinds_known;
	struct oci_kv *annotations;
	size_t n_annotations;
	/* namespace paths the container runs in, by type ("/proc/<pid>/ns/net" or the joined path) */
	char *ns_paths[OCI_NS_MAX];
};

int berth_record_to_json(const struct berth_record *rec, char **ret_json, size_t *ret_len);
int berth_record_parse(const char *json, size_t len, struct berth_record **ret_rec, struct berth_error *err);
void berth_record_free(struct berth_record *rec);

/* ---- `berth spec` and `berth features` ---- */

/* The default config.json, like `runc spec` (`--rootless` variant with a user namespace mapping
 * @uid/@gid to 0). *ret_json malloc'd. */
int oci_spec_default(bool rootless, uid_t uid, gid_t gid, char **ret_json, size_t *ret_len);

/* The runtime-spec features document for what berth really supports. */
int oci_features_json(char **ret_json, size_t *ret_len);

/* What the host offers beside what berth supports (the spec's linux.apparmor/selinux "enabled"
 * say the runtime implements them, whatever the host): reported as annotations. */
struct oci_features_host {
	bool apparmor; /* AppArmor is active on this host */
	bool selinux;  /* SELinux is active on this host */
};

/* oci_features_json plus the annotations io.github.berth.host.apparmor and
 * io.github.berth.host.selinux ("true"/"false") from @host. */
int oci_features_json_host(const struct oci_features_host *host, char **ret_json, size_t *ret_len);

/* ---- small JSON writers used by the CLI (list, ps) ---- */

struct oci_list_entry {
	const char *id;
	pid_t pid;
	enum oci_status status;
	const char *bundle;
	const char *rootfs;
	const char *created;
	const char *owner;
	const struct oci_kv *annotations;
	size_t n_annotations;
};

/* `list --format json`: an array like runc's (ociVersion, id, pid, status, bundle, rootfs, created, owner,
 * annotations). */
int oci_list_to_json(const struct oci_list_entry *entries, size_t n, char **ret_json, size_t *ret_len);
/* `ps --format json`: a JSON array of pids. */
int oci_pids_to_json(const pid_t *pids, size_t n, char **ret_json, size_t *ret_len);

/* ---- for the modules above oci-specs, which may not include yajl ---- */

/* Parse a linux.resources object on its own (`update --resources`); errors name "resources.<path>".
 * *ret owned by the caller (oci_resources_free). */
int oci_resources_parse(const char *json, size_t len, struct oci_resources **ret, struct berth_error *err);
void oci_resources_free(struct oci_resources *res);

/* An incremental compact JSON writer. Errors are sticky and reported by oci_json_finish, which
 * also frees the writer (*ret_json malloc'd, NUL-terminated). */
struct oci_json;
struct oci_json *oci_json_new(void);
void oci_json_open(struct oci_json *j);
void oci_json_close(struct oci_json *j);
void oci_json_array_open(struct oci_json *j);
void oci_json_array_close(struct oci_json *j);
void oci_json_key(struct oci_json *j, const char *key);
void oci_json_str(struct oci_json *j, const char *s);
void oci_json_uint(struct oci_json *j, uint64_t v);
int oci_json_finish(struct oci_json *j, char **ret_json, size_t *ret_len);
void oci_json_free(struct oci_json *j);

/* ---- OCI image-spec documents: image layout index, manifest, image config, and the
 * manifest.json of a `docker save` archive (image_parse.c, image_gen.c) ---- */

#define OCI_MEDIA_TYPE_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_TYPE_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_TYPE_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_TYPE_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MEDIA_TYPE_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MEDIA_TYPE_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MEDIA_TYPE_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MEDIA_TYPE_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MEDIA_TYPE_CONFIG "application/vnd.docker.container.image.v1+json"
#define OCI_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define CONTAINERD_ANNOTATION_IMAGE_NAME "io.containerd.image.name"
/* Longest image document berth reads (index, manifest, config, manifest.json). */
#define OCI_IMAGE_DOC_MAX (8u << 20)

enum oci_media_kind {
	OCI_MEDIA_UNKNOWN = 0,
	OCI_MEDIA_INDEX,    /* OCI index or Docker manifest list */
	OCI_MEDIA_MANIFEST, /* OCI or Docker schema 2 manifest */
	OCI_MEDIA_CONFIG,   /* OCI or Docker image config */
	OCI_MEDIA_LAYER,    /* a tar layer, any of the compressions below */
};
enum oci_layer_compression {
	OCI_LAYER_PLAIN = 0,
	OCI_LAYER_GZIP,
	OCI_LAYER_ZSTD,
};
/* Classify a media type (OCI, its nondistributable layer variants, and Docker's); layers also
 * give their compression in *ret_compression (may be NULL). */
enum oci_media_kind oci_media_type_kind(const char *media_type, enum oci_layer_compression *ret_compression);

/* "sha256:" followed by 64 lower-case hex digits. */
bool oci_digest_valid(const char *digest);

struct oci_platform {
	char *architecture, *os, *variant, *os_version;
};

struct oci_descriptor {
	char *media_type; /* required */
	char *digest;     /* required, checked with oci_digest_valid() */
	int64_t size;     /* required, >= 0 */
	struct oci_kv *annotations;
	size_t n_annotations;
	bool has_platform;
	struct oci_platform platform;
};

struct oci_image_index {
	int64_t schema_version; /* 2 */
	char *media_type;
	struct oci_descriptor *manifests;
	size_t n_manifests;
	struct oci_kv *annotations;
	size_t n_annotations;
};

struct oci_image_manifest {
	int64_t schema_version; /* 2 */
	char *media_type;
	struct oci_descriptor config;
	struct oci_descriptor *layers;
	size_t n_layers;
	struct oci_kv *annotations;
	size_t n_annotations;
};

/* The image config (OCI and Docker share it); every field but rootfs is optional. */
struct oci_image_config {
	char *created, *author, *architecture, *os, *variant;
	/* "config": the execution parameters */
	char *user;
	char **env, **entrypoint, **cmd; /* NULL-terminated, NULL when absent */
	char *working_dir;
	struct oci_kv *labels;
	size_t n_labels;
	char *stop_signal;
	char **exposed_ports; /* the keys of ExposedPorts ("80/tcp") */
	char **volumes;       /* the keys of Volumes */
	/* "rootfs" */
	char *rootfs_type; /* "layers" */
	char **diff_ids;   /* NULL-terminated, each a valid digest */
	size_t n_diff_ids;
	size_t n_history; /* entries in "history" (only counted) */
};

/* One entry of a `docker save` manifest.json. */
struct oci_docker_manifest {
	char *config;     /* archive path of the config JSON */
	char **repo_tags; /* NULL-terminated, NULL when absent */
	char **layers;    /* archive paths of the layer tars, base first; NULL-terminated */
	size_t n_layers;
};

/* Parsers of the image documents: the same rules and error style as oci_config_parse() (the
 * message starts with the JSON path, "manifests[0].digest: ..."). Unknown fields are ignored.
 * Results are owned by the caller and released with the matching free function. */
int oci_image_index_parse(const char *json, size_t len, struct oci_image_index **ret_index,
			  struct berth_error *err);
int oci_image_manifest_parse(const char *json, size_t len, struct oci_image_manifest **ret_manifest,
			     struct berth_error *err);
int oci_image_config_parse(const char *json, size_t len, struct oci_image_config **ret_config,
			   struct berth_error *err);
int oci_docker_manifest_parse(const char *json, size_t len, struct oci_docker_manifest **ret_entries,
			      size_t *ret_n, struct berth_error *err);
void oci_image_index_free(struct oci_image_index *index);
void oci_image_manifest_free(struct oci_image_manifest *manifest);
void oci_image_config_free(struct oci_image_config *config);
void oci_docker_manifest_free(struct oci_docker_manifest *entries, size_t n);
void oci_descriptor_clear(struct oci_descriptor *d);

/* Writers (compact JSON, the form whose digest is stored). *ret_json malloc'd. */
int oci_image_index_to_json(const struct oci_image_index *index, char **ret_json, size_t *ret_len);
int oci_image_manifest_to_json(const struct oci_image_manifest *manifest, char **ret_json, size_t *ret_len);
/* Writes created, author, architecture, os, variant, config (User, Env, Entrypoint, Cmd, WorkingDir,
 * Labels, StopSignal) and rootfs. */
int oci_image_config_to_json(const struct oci_image_config *config, char **ret_json, size_t *ret_len);

/* What `berth image ls` and `image inspect` print about one image. */
struct oci_image_summary {
	const char *digest; /* the manifest digest */
	char *const *names; /* NULL-terminated "name:tag" list */
	uint64_t size;      /* config + layer blob bytes */
	const struct oci_image_manifest *manifest;
	const struct oci_image_config *config;
};
/* `image ls --format json`: [{"names", "id", "digest", "created", "size", "architecture", "os"}]. */
int oci_image_list_to_json(const struct oci_image_summary *images, size_t n, char **ret_json,
			   size_t *ret_len);
/* `image inspect`: one indented object with the names, digests, layers and the config. */
int oci_image_inspect_to_json(const struct oci_image_summary *image, char **ret_json, size_t *ret_len);

/* ---- image config -> runtime config.json (image_runtime.c) ---- */

struct oci_image_bind {
	const char *source, *destination; /* absolute */
	bool readonly;
};

struct oci_image_run_opts {
	const char *root_path; /* root.path; NULL: "rootfs" */
	bool terminal;
	const char *hostname;       /* NULL: "berth" */
	char *const *args;          /* replaces the image's Cmd when non-empty (Entrypoint is kept) */
	char *const *fallback_args; /* used when the image has neither Entrypoint nor Cmd and no @args */
	char *const *env;           /* "NAME=VALUE" added to, or replacing, the image's Env */
	const char *cwd;            /* NULL: the image's WorkingDir, else "/" */
	uint32_t uid, gid;          /* the resolved user */
	const uint32_t *additional_gids;
	size_t n_additional_gids;
	const char *cgroups_path; /* linux.cgroupsPath; NULL: none (the runtime's default) */
	bool has_memory;
	int64_t memory_limit; /* bytes */
	bool has_pids;
	int64_t pids_limit;
	bool has_cpu;
	int64_t cpu_quota; /* with cpu_period: --cpus */
	uint64_t cpu_period;
	const struct oci_image_bind *binds;
	size_t n_binds;
	const struct oci_kv *annotations; /* added after the image's labels */
	size_t n_annotations;
	const char *seccomp_json; /* linux.seccomp as JSON text (an object); NULL: none */
	size_t seccomp_len;
	/* a user namespace with these maps (rootless run --image); none when n_uid_mappings is 0 */
	const struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
};

/* The runtime config.json for a container of an image: the defaults of `berth spec` (mounts,
 * namespaces, masked paths) with Docker's default capability set, the image's Entrypoint + Cmd,
 * Env (PATH added when missing), WorkingDir, Labels and the image-spec annotations
 * (org.opencontainers.image.os/architecture/author/created/stopSignal/exposedPorts), then @o's
 * overrides. -EINVAL with an @err sentence when there is no command to run. */
int oci_image_runtime_config(const struct oci_image_config *image, const struct oci_image_run_opts *o,
			     char **ret_json, size_t *ret_len, struct berth_error *err);

/* ---- the checkpoint archive's manifest.json (checkpoint_manifest.c) ---- */

/* The format this berth writes and the only one it reads. */
#define OCI_CKPT_FORMAT_VERSION 1

struct oci_ckpt_manifest {
	int64_t format_version; /* OCI_CKPT_FORMAT_VERSION */
	char *berth_version;
	char *container_id;
	char *kernel;         /* uname -r of the dumping host */
	char *arch;           /* uname -m */
	char **cpu_flags;     /* NULL-terminated /proc/cpuinfo "flags" of the dumping host */
	char *image;          /* the image reference (annotation berth.image.*), or NULL */
	char *image_digest;   /* its manifest digest ("sha256:..."), or NULL */
	char *image_chain_id; /* the chain id of its top layer: the same rootfs under another digest */
	char *network;        /* the network annotation, or NULL */
	bool has_rootfs;      /* the archive carries the whole rootfs under rootfs/ */
	bool has_upper;       /* the archive carries the overlay upper dir under upper/ (image and
			       * image_digest then name the image it goes onto) */
	char *created;        /* RFC 3339 */
};

/* Write @m as JSON (malloc'd, indented). */
int oci_ckpt_manifest_to_json(const struct oci_ckpt_manifest *m, char **ret_json, size_t *ret_len);
/* Parse and validate manifest.json: the format version must be OCI_CKPT_FORMAT_VERSION, the id,
 * kernel and arch present. -EINVAL with "manifest.json: <field>: <reason>". */
int oci_ckpt_manifest_parse(const char *json, size_t len, struct oci_ckpt_manifest **ret,
			    struct berth_error *err);
void oci_ckpt_manifest_free(struct oci_ckpt_manifest *m);
/* config.json @json with its annotations changed: each key of @set gets its value (NULL: the key
 * is removed), every other field and annotation is kept. *ret_json malloc'd. -EINVAL with @err
 * for a document that does not parse. */
int oci_ckpt_config_set_annotations(const char *json, size_t len, const struct oci_kv *set, size_t n_set,
				    char **ret_json, size_t *ret_len, struct berth_error *err);
