/* oci-specs: config.json and process.json parsing.
 *
 * Documents are written with single quotes to stay readable; q() turns them into JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <cmocka.h>

#include "berth/error.h"
#include "berth/oci.h"

static char *q(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	for (char *p = d; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return d;
}

static int parse(const char *doc, struct oci_config **ret, struct berth_error *err)
{
	char *json = q(doc);
	int r;

	memset(err, 0, sizeof(*err));
	r = oci_config_parse(json, strlen(json), ret, err);
	free(json);
	return r;
}

static struct oci_config *parse_ok(const char *doc)
{
	struct oci_config *cfg = NULL;
	struct berth_error err;
	int r = parse(doc, &cfg, &err);

	if (r != 0)
		fail_msg("unexpected error %d: %s", r, err.msg);
	assert_non_null(cfg);
	return cfg;
}

static void assert_prefix(const char *msg, const char *prefix)
{
	if (strncmp(msg, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", msg, prefix);
}

/* ---- bad documents ---- */

#define BASE "'ociVersion':'1.2.0','root':{'path':'rootfs'}"
#define DOC(x) "{" BASE "," x "}"
#define PROC(x) DOC("'process':{'args':['sh'],'cwd':'/'," x "}")
#define LINUX(x) DOC("'linux':{" x "}")
#define RES(x) LINUX("'resources':{" x "}")
#define SECCOMP(x) LINUX("'seccomp':{" x "}")
#define USERNS "'namespaces':[{'type':'user'}],"

struct bad_case {
	const char *doc;
	const char *prefix; /* the message must start with this */
};

static const struct bad_case bad_cases[] = {
    /* syntax and top level */
    {"", "config.json: invalid JSON: "},
    {"{", "config.json: invalid JSON: "},
    {"{'ociVersion':'1.2.0',}", "config.json: invalid JSON: "},
    {"{" BASE "} {}", "config.json: invalid JSON: "},
    {"{/* c */" BASE "}", "config.json: invalid JSON: "},
    {"{'ociVersion':'1.2\\u0000.0','root':{'path':'r'}}", "config.json: invalid JSON: "},
    {"[]", "config.json: expected a JSON object"},
    {"'just a string'", "config.json: expected a JSON object"},
    {"{}", "ociVersion: required"},
    {"{'ociVersion':1,'root':{'path':'r'}}", "ociVersion: expected a string"},
    {"{'ociVersion':'','root':{'path':'r'}}", "ociVersion: required"},
    {"{'ociVersion':'1.2.0'}", "root.path: required"},
    {"{'ociVersion':'1.2.0','root':'rootfs'}", "root: expected an object"},
    {"{'ociVersion':'1.2.0','root':{}}", "root.path: required"},
    {"{'ociVersion':'1.2.0','root':{'path':'r','readonly':'yes'}}", "root.readonly: expected true or false"},
    {DOC("'hostname':5"), "hostname: expected a string"},
    {DOC("'hostname':'h'"), "hostname: requires a uts namespace"},
    {DOC("'hostname':'h','linux':{'namespaces':[{'type':'pid'}]}"), "hostname: requires a uts namespace"},
    {DOC("'domainname':'d','linux':{}"), "domainname: requires a uts namespace"},
    /* mounts */
    {DOC("'mounts':{}"), "mounts: expected an array"},
    {DOC("'mounts':[5]"), "mounts[0]: expected an object"},
    {DOC("'mounts':[{'destination':'/a'},{'type':'tmpfs'}]"), "mounts[1].destination: required"},
    {DOC("'mounts':[{'destination':'a'}]"), "mounts[0].destination: must be an absolute path"},
    {DOC("'mounts':[{'destination':'/a'},{'destination':'/b'},{'destination':'/c','options':['ro',1]}]"),
     "mounts[2].options[1]: expected a string"},
    {DOC("'mounts':[{'destination':'/a','options':'ro'}]"),
     "mounts[0].options: expected an array of strings"},
    {DOC("'mounts':[{'destination':'/a','source':1}]"), "mounts[0].source: expected a string"},
    {DOC("'mounts':[{'destination':'/a','uidMappings':[{'containerID':0,'hostID':1,'size':0}]}]"),
     "mounts[0].uidMappings[0].size: must be greater than 0"},
    {DOC("'mounts':[{'destination':'/a','gidMappings':{}}]"), "mounts[0].gidMappings: expected an array"},
    /* hooks */
    {DOC("'hooks':[]"), "hooks: expected an object"},
    {DOC("'hooks':{'prestart':[{}]}"), "hooks.prestart[0].path: required"},
    {DOC("'hooks':{'poststop':[{'path':'/a'},{'path':'bin/x'}]}"),
     "hooks.poststop[1].path: must be an absolute path"},
    {DOC("'hooks':{'prestart':[{'path':'/a','timeout':0}]}"),
     "hooks.prestart[0].timeout: must be greater than 0"},
    {DOC("'hooks':{'createRuntime':[{'path':'/a','args':'x'}]}"),
     "hooks.createRuntime[0].args: expected an array of strings"},
    {DOC("'hooks':{'startContainer':[{'path':'/a','timeout':1.5}]}"),
     "hooks.startContainer[0].timeout: expected a 64-bit integer"},
    {DOC("'hooks':{'createContainer':{}}"), "hooks.createContainer: expected an array"},
    /* annotations */
    {DOC("'annotations':[]"), "annotations: expected an object"},
    {DOC("'annotations':{'a':1}"), "annotations.a: expected a string"},
    {DOC("'annotations':{'io.x':true}"), "annotations[\"io.x\"]: expected a string"},
    /* process */
    {DOC("'process':[]"), "process: expected an object"},
    {DOC("'process':{'cwd':'/'}"), "process.args: required"},
    {PROC("'args':[]"), "process.args: must not be empty"},
    {PROC("'args':'sh'"), "process.args: expected an array of strings"},
    {PROC("'args':[1]"), "process.args[0]: expected a string"},
    {DOC("'process':{'args':['sh']}"), "process.cwd: required"},
    {PROC("'cwd':'tmp'"), "process.cwd: must be an absolute path"},
    {PROC("'terminal':1"), "process.terminal: expected true or false"},
    {PROC("'user':{'uid':-1}"), "process.user.uid: expected an unsigned 32-bit integer"},
    {PROC("'user':{'uid':4294967296}"), "process.user.uid: expected an unsigned 32-bit integer"},
    {PROC("'user':{'gid':'0'}"), "process.user.gid: expected an unsigned 32-bit integer"},
    {PROC("'user':{'additionalGids':[1,-2]}"),
     "process.user.additionalGids[1]: expected an unsigned 32-bit integer"},
    {PROC("'user':{'umask':4096}"), "process.user.umask: must be at most"},
    {PROC("'user':'root'"), "process.user: expected an object"},
    {PROC("'consoleSize':{'height':-1}"), "process.consoleSize.height: expected an unsigned 32-bit integer"},
    {PROC("'env':['FOO']"), "process.env[0]: expected NAME=VALUE"},
    {PROC("'env':['A=1','=x']"), "process.env[1]: expected NAME=VALUE"},
    {PROC("'capabilities':{'ambient':'CAP_KILL'}"),
     "process.capabilities.ambient: expected an array of strings"},
    {PROC("'capabilities':[]"), "process.capabilities: expected an object"},
    {PROC("'rlimits':[{'type':'RLIMIT_FOO','hard':1,'soft':1}]"),
     "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
    {PROC("'rlimits':[{'type':'RLIMIT_NOFILE','hard':5,'soft':10}]"),
     "process.rlimits[0]: soft limit 10 exceeds hard limit 5"},
    {PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':10}]"), "process.rlimits[0].hard: required"},
    {PROC("'rlimits':[{'hard':1,'soft':1}]"), "process.rlimits[0].type: required"},
    {PROC("'rlimits':[{'type':'RLIMIT_CORE','hard':1,'soft':1},{'type':'RLIMIT_CORE','hard':2,'soft':2}]"),
     "process.rlimits[1].type: duplicate rlimit"},
    {PROC("'rlimits':[{'type':'RLIMIT_CORE','hard':-1,'soft':1}]"),
     "process.rlimits[0].hard: expected an unsigned 64-bit integer"},
    {PROC("'rlimits':[{'type':'RLIMIT_CORE','hard':18446744073709551616,'soft':1}]"),
     "process.rlimits[0].hard: expected"},
    {PROC("'noNewPrivileges':'true'"), "process.noNewPrivileges: expected true or false"},
    {PROC("'oomScoreAdj':1001"), "process.oomScoreAdj: must be between -1000 and 1000"},
    {PROC("'oomScoreAdj':-1001"), "process.oomScoreAdj: must be between -1000 and 1000"},
    {PROC("'oomScoreAdj':'x'"), "process.oomScoreAdj: expected a 32-bit integer"},
    {PROC("'apparmorProfile':1"), "process.apparmorProfile: expected a string"},
    {PROC("'selinuxLabel':[]"), "process.selinuxLabel: expected a string"},
    {PROC("'scheduler':{}"), "process.scheduler.policy: required"},
    {PROC("'scheduler':{'policy':'SCHED_FOO'}"), "process.scheduler.policy: unknown scheduling policy"},
    {PROC("'scheduler':{'policy':'SCHED_OTHER','nice':20}"),
     "process.scheduler.nice: must be between -20 and 19"},
    {PROC("'scheduler':{'policy':'SCHED_OTHER','priority':5}"), "process.scheduler.priority: "},
    {PROC("'scheduler':{'policy':'SCHED_FIFO','flags':['SCHED_FLAG_FOO']}"),
     "process.scheduler.flags[0]: unknown"},
    {PROC("'scheduler':{'policy':'SCHED_OTHER','deadline':5}"), "process.scheduler: "},
    {PROC("'ioPriority':{'class':'IOPRIO_CLASS_X'}"), "process.ioPriority.class: unknown"},
    {PROC("'ioPriority':{'priority':1}"), "process.ioPriority.class: required"},
    {PROC("'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':8}"),
     "process.ioPriority.priority: must be between 0 and 7"},
    {PROC("'execCPUAffinity':{'initial':'x'}"), "process.execCPUAffinity.initial: invalid CPU list"},
    {PROC("'execCPUAffinity':{'final':'3-1'}"), "process.execCPUAffinity.final: invalid CPU list"},
    {PROC("'execCPUAffinity':{'final':'1,'}"), "process.execCPUAffinity.final: invalid CPU list"},
    /* linux */
    {DOC("'linux':'x'"), "linux: expected an object"},
    {LINUX("'namespaces':[{'type':'foo'}]"), "linux.namespaces[0].type: unknown namespace type \"foo\""},
    {LINUX("'namespaces':[{'type':'pid'},{'type':'pid','path':'/proc/1/ns/pid'}]"),
     "linux.namespaces: duplicate namespace \"pid\" with a different path"},
    {LINUX("'namespaces':[{'type':'network','path':'/a'},{'type':'network','path':'/b'}]"),
     "linux.namespaces: duplicate namespace \"network\" with a different path"},
    {"{'ociVersion':'invalid','root':{'path':'r'}}", "ociVersion: \"invalid\" is not a semantic version"},
    {"{'ociVersion':'1.0','root':{'path':'r'}}", "ociVersion: \"1.0\" is not a semantic version"},
    {LINUX("'namespaces':[{}]"), "linux.namespaces[0].type: required"},
    {LINUX("'namespaces':[{'type':'net'}]"), "linux.namespaces[0].type: unknown namespace type"},
    {LINUX("'namespaces':[{'type':'pid','path':'proc/1/ns/pid'}]"),
     "linux.namespaces[0].path: must be an absolute path"},
    {LINUX("'namespaces':'pid'"), "linux.namespaces: expected an array"},
    {LINUX("'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]"),
     "linux.uidMappings: requires a user namespace in linux.namespaces"},
    {LINUX("'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]"),
     "linux.gidMappings: requires a user namespace"},
    {LINUX(USERNS "'uidMappings':[{'containerID':0,'hostID':1000,'size':0}]"),
     "linux.uidMappings[0].size: must be greater than 0"},
    {LINUX(USERNS "'uidMappings':[{'containerID':0,'hostID':-1,'size':1}]"),
     "linux.uidMappings[0].hostID: expected an unsigned 32-bit integer"},
    {LINUX(USERNS "'gidMappings':[{'containerID':0,'hostID':4294967295,'size':2}]"),
     "linux.gidMappings[0].size: "},
    {LINUX("'namespaces':[{'type':'time'}],'timeOffsets':{'realtime':{'secs':1}}"),
     "linux.timeOffsets: unknown clock \"realtime\""},
    {LINUX("'timeOffsets':{'monotonic':{'secs':1}}"), "linux.timeOffsets: requires a time namespace"},
    {LINUX("'namespaces':[{'type':'time','path':'/proc/1/ns/time'}],'timeOffsets':{'boottime':{'secs':1}}"),
     "linux.timeOffsets: cannot be set"},
    {LINUX("'namespaces':[{'type':'time'}],'timeOffsets':{'monotonic':{'nanosecs':1000000000}}"),
     "linux.timeOffsets.monotonic.nanosecs: must be less than"},
    {LINUX("'namespaces':[{'type':'time'}],'timeOffsets':{'boottime':{'secs':'1'}}"),
     "linux.timeOffsets.boottime.secs: expected a 64-bit integer"},
    {LINUX("'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]"),
     "linux.devices[0].type: must be one of c, b, u, p"},
    {LINUX("'devices':[{'path':'/dev/x','type':'cc','major':1,'minor':1}]"),
     "linux.devices[0].type: must be one of c, b, u, p"},
    {LINUX("'devices':[{'type':'c','major':1,'minor':1}]"), "linux.devices[0].path: required"},
    {LINUX("'devices':[{'path':'dev/x','type':'c','major':1,'minor':1}]"),
     "linux.devices[0].path: must be an absolute path"},
    {LINUX("'devices':[{'path':'/dev/x','major':1,'minor':1}]"), "linux.devices[0].type: required"},
    {LINUX("'devices':[{'path':'/dev/x','type':'c','minor':1}]"), "linux.devices[0].major: required"},
    {LINUX("'devices':[{'path':'/dev/x','type':'b','major':1}]"), "linux.devices[0].minor: required"},
    {LINUX("'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,'fileMode':-1}]"),
     "linux.devices[0].fileMode: "},
    {LINUX("'devices':[{'path':'/dev/x','type':'c','major':-3,'minor':1}]"),
     "linux.devices[0].major: must not be negative"},
    {LINUX("'cgroupsPath':1"), "linux.cgroupsPath: expected a string"},
    {LINUX("'sysctl':{'kernel.foo':1}"), "linux.sysctl[\"kernel.foo\"]: expected a string"},
    {LINUX("'sysctl':[]"), "linux.sysctl: expected an object"},
    {LINUX("'sysctl':{'../../etc/x':'1'}"), "linux.sysctl: invalid sysctl name"},
    {LINUX("'rootfsPropagation':'x'"), "linux.rootfsPropagation: unknown propagation \"x\""},
    {LINUX("'maskedPaths':['/proc/kcore','proc']"), "linux.maskedPaths[1]: must be an absolute path"},
    {LINUX("'readonlyPaths':'x'"), "linux.readonlyPaths: expected an array of strings"},
    {LINUX("'mountLabel':1"), "linux.mountLabel: expected a string"},
    {LINUX("'personality':{'domain':'LINUX64'}"), "linux.personality.domain: must be LINUX or LINUX32"},
    {LINUX("'personality':{}"), "linux.personality.domain: required"},
    {LINUX("'intelRdt':{'closID':'../x'}"), "linux.intelRdt.closID: "},
    {LINUX("'intelRdt':{'enableCMT':1}"), "linux.intelRdt.enableCMT: expected true or false"},
    {LINUX("'namespaces':[{'type':'network'}],'netDevices':{'eth0':{'name':'a/b'}}"),
     "linux.netDevices.eth0.name: invalid interface name"},
    {LINUX("'namespaces':[{'type':'network'}],'netDevices':{'eth0':'x'}"),
     "linux.netDevices.eth0: expected an object"},
    {LINUX("'netDevices':{'eth0':{}}"), "linux.netDevices: requires a network namespace"},
    /* resources */
    {RES("'devices':[{'access':'rwm'}]"), "linux.resources.devices[0].allow: required"},
    {RES("'devices':[{'allow':true,'access':'rwx'}]"), "linux.resources.devices[0].access: "},
    {RES("'devices':[{'allow':true,'type':'u'}]"), "linux.resources.devices[0].type: "},
    {RES("'memory':{'limit':'1G'}"), "linux.resources.memory.limit: expected a 64-bit integer"},
    {RES("'memory':{'limit':9223372036854775808}"),
     "linux.resources.memory.limit: expected a 64-bit integer"},
    {RES("'memory':{'swappiness':101}"), "linux.resources.memory.swappiness: must be between 0 and 100"},
    {RES("'memory':{'disableOOMKiller':'no'}"), "linux.resources.memory.disableOOMKiller: "},
    {RES("'cpu':{'shares':-1}"), "linux.resources.cpu.shares: expected an unsigned 64-bit integer"},
    {RES("'cpu':{'idle':2}"), "linux.resources.cpu.idle: must be 0 or 1"},
    {RES("'cpu':{'cpus':1}"), "linux.resources.cpu.cpus: expected a string"},
    {RES("'pids':{'limit':'x'}"), "linux.resources.pids.limit: expected a 64-bit integer"},
    {RES("'blockIO':{'weight':70000}"),
     "linux.resources.blockIO.weight: expected an unsigned 16-bit integer"},
    {RES("'blockIO':{'weightDevice':[{'minor':0}]}"),
     "linux.resources.blockIO.weightDevice[0].major: required"},
    {RES("'blockIO':{'throttleReadBpsDevice':[{'major':8,'minor':0}]}"),
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required"},
    {RES("'blockIO':{'throttleWriteIOPSDevice':[{'major':8,'rate':1}]}"),
     "linux.resources.blockIO.throttleWriteIOPSDevice[0].minor: required"},
    {RES("'hugepageLimits':[{'limit':1}]"), "linux.resources.hugepageLimits[0].pageSize: required"},
    {RES("'hugepageLimits':[{'pageSize':'2MB'}]"), "linux.resources.hugepageLimits[0].limit: required"},
    {RES("'network':{'classID':-1}"), "linux.resources.network.classID: expected an unsigned 32-bit integer"},
    {RES("'network':{'priorities':[{'name':'eth0'}]}"),
     "linux.resources.network.priorities[0].priority: required"},
    {RES("'rdma':{'mlx5_1':{'hcaHandles':-1}}"), "linux.resources.rdma.mlx5_1.hcaHandles: "},
    {RES("'unified':{'memory.max':1}"), "linux.resources.unified[\"memory.max\"]: expected a string"},
    {RES("'unified':{'../x':'1'}"), "linux.resources.unified: invalid cgroup file name"},
    /* seccomp */
    {SECCOMP(""), "linux.seccomp.defaultAction: required"},
    {SECCOMP("'defaultAction':'SCMP_ACT_MAYBE'"), "linux.seccomp.defaultAction: unknown seccomp action"},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':-1"), "linux.seccomp.defaultErrnoRet: "},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_FOO']"),
     "linux.seccomp.architectures[0]: unknown"},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','flags':['X']"), "linux.seccomp.flags[0]: unknown"},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_ALLOW'}]"),
     "linux.seccomp.syscalls[0].names: required"},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':[],'action':'SCMP_ACT_ALLOW'}]"),
     "linux.seccomp.syscalls[0].names: must not be empty"},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read']}]"),
     "linux.seccomp.syscalls[0].action: required"},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW',"
	     "'args':[{'index':6,'value':1,'op':'SCMP_CMP_EQ'}]}]"),
     "linux.seccomp.syscalls[0].args[0].index: "},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW',"
	     "'args':[{'index':0,'value':1,'op':'EQ'}]}]"),
     "linux.seccomp.syscalls[0].args[0].op: unknown operator"},
    {SECCOMP("'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['read'],'action':'SCMP_ACT_ALLOW',"
	     "'args':[{'index':0,'op':'SCMP_CMP_EQ'}]}]"),
     "linux.seccomp.syscalls[0].args[0].value: required"},
};

static void test_bad_case(void **state)
{
	const struct bad_case *bc = *state;
	struct oci_config *cfg = NULL;
	struct berth_error err;
	int r;

	r = parse(bc->doc, &cfg, &err);
	if (r != -EINVAL)
		fail_msg("document %s: expected -EINVAL, got %d (%s)", bc->doc, r, err.msg);
	assert_null(cfg);
	assert_int_equal(err.code, -EINVAL);
	assert_prefix(err.msg, bc->prefix);
	/* One line, so it fits a log record. */
	assert_null(strchr(err.msg, '\n'));
}

static int run_bad_cases(void)
{
	size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	char(*names)[96] = calloc(n, sizeof(*names));
	int failed;

	assert_true(n >= 70);
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "bad[%03zu] %.80s", i, bad_cases[i].prefix);
		tests[i].name = names[i];
		tests[i].test_func = test_bad_case;
		tests[i].initial_state = (void *)&bad_cases[i];
	}
	failed = _cmocka_run_group_tests("bad_documents", tests, n, NULL, NULL);
	free(tests);
	free(names);
	return failed;
}

/* ---- a full document ---- */

static const char full_doc[] =
    "{'ociVersion':'1.2.0',"
    "'process':{'terminal':true,'consoleSize':{'height':25,'width':80},"
    "  'user':{'uid':1000,'gid':1001,'umask':18,'additionalGids':[5,6,4294967295],'username':'u'},"
    "  'args':['/bin/sh','-c','echo hi'],'commandLine':'cmd /c','env':['PATH=/bin','EMPTY='],'cwd':'/work',"
    "  'capabilities':{'bounding':['CAP_CHOWN','CAP_CHECKPOINT_RESTORE'],'effective':['CAP_KILL'],"
    "    'inheritable':[],'permitted':['CAP_KILL','CAP_BPF'],'ambient':['CAP_NET_RAW']},"
    "  'rlimits':[{'type':'RLIMIT_NOFILE','hard':4096,'soft':1024},"
    "    {'type':'RLIMIT_CORE','hard':18446744073709551615,'soft':0}],"
    "  'noNewPrivileges':true,'apparmorProfile':'berth-default','oomScoreAdj':-500,"
    "  'selinuxLabel':'system_u:system_r:container_t:s0',"
    "  'scheduler':{'policy':'SCHED_DEADLINE','nice':-3,'priority':0,'flags':['SCHED_FLAG_RESET_ON_FORK'],"
    "    'runtime':10000,'deadline':20000,'period':30000},"
    "  'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':4},"
    "  'execCPUAffinity':{'initial':'0-3,7','final':'1'}},"
    "'root':{'path':'rootfs','readonly':true},"
    "'hostname':'box','domainname':'example.org',"
    "'mounts':[{'destination':'/proc','type':'proc','source':'proc'},"
    "  {'destination':'/data','type':'bind','source':'/srv/data','options':['rbind','ro'],"
    "   'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
    "   'gidMappings':[{'containerID':0,'hostID':200000,'size':1000}]}],"
    "'hooks':{'prestart':[{'path':'/usr/bin/pre','args':['pre','-x'],'env':['A=1'],'timeout':5}],"
    "  'createRuntime':[{'path':'/cr'},{'path':'/cr2'}],'createContainer':[{'path':'/cc'}],"
    "  "
    "'startContainer':[{'path':'/sc'}],'poststart':[{'path':'/ps'}],'poststop':[{'path':'/"
    "pst','timeout':30}]},"
    "'annotations':{'io.berth.a':'1','b':'two'},"
    "'linux':{"
    "  "
    "'namespaces':[{'type':'pid'},{'type':'network','path':'/var/run/netns/"
    "x'},{'type':'mount'},{'type':'ipc'},"
    "    {'type':'uts'},{'type':'user'},{'type':'cgroup'},{'type':'time'}],"
    "  "
    "'uidMappings':[{'containerID':0,'hostID':1000,'size':1},{'containerID':1,'hostID':100000,'size':65536}],"
    "  'gidMappings':[{'containerID':0,'hostID':1000,'size':1}],"
    "  "
    "'timeOffsets':{'monotonic':{'secs':-3600,'nanosecs':5},'boottime':{'secs':86400,'nanosecs':999999999}},"
    "  'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':438,'uid':0,'gid':5},"
    "    {'path':'/dev/myfifo','type':'p'}],"
    "  'cgroupsPath':'/berth/test',"
    "  'resources':{"
    "    "
    "'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c','major':10,'minor':229,'access':'rw'}"
    "],"
    "    "
    "'memory':{'limit':536870912,'reservation':268435456,'swap':1073741824,'kernel':-1,'kernelTCP':1048576,"
    "      'swappiness':60,'disableOOMKiller':true,'useHierarchy':false,'checkBeforeUpdate':true},"
    "    'cpu':{'shares':1024,'quota':50000,'burst':10000,'period':100000,'realtimeRuntime':950000,"
    "      'realtimePeriod':1000000,'cpus':'0-3','mems':'0','idle':1},"
    "    'pids':{'limit':100},"
    "    'blockIO':{'weight':500,'leafWeight':300,"
    "      "
    "'weightDevice':[{'major':8,'minor':0,'weight':600,'leafWeight':200},{'major':8,'minor':16,'weight':700}]"
    ","
    "      'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':1048576}],"
    "      'throttleWriteBpsDevice':[{'major':8,'minor':1,'rate':2097152}],"
    "      'throttleReadIOPSDevice':[{'major':8,'minor':2,'rate':100}],"
    "      'throttleWriteIOPSDevice':[{'major':8,'minor':3,'rate':200}]},"
    "    'hugepageLimits':[{'pageSize':'2MB','limit':209715200},{'pageSize':'1GB','limit':0}],"
    "    'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':500}]},"
    "    'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000}},"
    "    'unified':{'memory.high':'400M','io.weight':'default 100'}},"
    "  'sysctl':{'net.ipv4.ip_forward':'1','kernel.shm_rmid_forced':'1'},"
    "  'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
    "    'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86'],'flags':['SECCOMP_FILTER_FLAG_LOG'],"
    "    'listenerPath':'/run/seccomp.sock','listenerMetadata':'meta',"
    "    'syscalls':[{'names':['read','write'],'action':'SCMP_ACT_ALLOW'},"
    "      {'names':['personality'],'action':'SCMP_ACT_ERRNO','errnoRet':38,"
    "       'args':[{'index':0,'value':8,'valueTwo':18446744073709551615,'op':'SCMP_CMP_MASKED_EQ'}]}]},"
    "  "
    "'rootfsPropagation':'rslave','maskedPaths':['/proc/kcore','/sys/firmware'],'readonlyPaths':['/proc/"
    "sys'],"
    "  'mountLabel':'system_u:object_r:container_file_t:s0',"
    "  'personality':{'domain':'LINUX32','flags':[]},"
    "  "
    "'intelRdt':{'closID':'grp1','l3CacheSchema':'L3:0=ff','memBwSchema':'MB:0=50','enableCMT':true,'"
    "enableMBM':true},"
    "  'netDevices':{'eth1':{'name':'ctr0'},'eth2':{}}}"
    "}";

static void check_full_process(const struct oci_process *p)
{
	assert_true(p->terminal);
	assert_true(p->has_console_size);
	assert_int_equal(p->console_height, 25);
	assert_int_equal(p->console_width, 80);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 1001);
	assert_true(p->user.has_umask);
	assert_int_equal(p->user.umask, 18);
	assert_int_equal(p->user.n_additional_gids, 3);
	assert_int_equal(p->user.additional_gids[2], UINT32_MAX);
	assert_string_equal(p->user.username, "u");
	assert_string_equal(p->args[0], "/bin/sh");
	assert_string_equal(p->args[2], "echo hi");
	assert_null(p->args[3]);
	assert_string_equal(p->command_line, "cmd /c");
	assert_string_equal(p->env[1], "EMPTY=");
	assert_null(p->env[2]);
	assert_string_equal(p->cwd, "/work");
	assert_true(p->has_capabilities);
	assert_string_equal(p->capabilities.bounding[1], "CAP_CHECKPOINT_RESTORE");
	assert_string_equal(p->capabilities.effective[0], "CAP_KILL");
	assert_non_null(p->capabilities.inheritable);
	assert_null(p->capabilities.inheritable[0]);
	assert_string_equal(p->capabilities.permitted[1], "CAP_BPF");
	assert_string_equal(p->capabilities.ambient[0], "CAP_NET_RAW");
	assert_int_equal(p->n_rlimits, 2);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p->rlimits[0].hard, 4096);
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_true(p->rlimits[1].hard == UINT64_MAX);
	assert_true(p->no_new_privileges);
	assert_string_equal(p->apparmor_profile, "berth-default");
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);
	assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0");
}

static void check_full_process_sched(const struct oci_process *p)
{
	assert_true(p->has_scheduler);
	assert_string_equal(p->scheduler.policy, "SCHED_DEADLINE");
	assert_int_equal(p->scheduler.policy_num, 6);
	assert_int_equal(p->scheduler.nice, -3);
	assert_string_equal(p->scheduler.flags[0], "SCHED_FLAG_RESET_ON_FORK");
	assert_int_equal(p->scheduler.runtime, 10000);
	assert_int_equal(p->scheduler.deadline, 20000);
	assert_int_equal(p->scheduler.period, 30000);
	assert_true(p->has_io_priority);
	assert_string_equal(p->io_priority.class_name, "IOPRIO_CLASS_BE");
	assert_int_equal(p->io_priority.class_num, 2);
	assert_int_equal(p->io_priority.priority, 4);
	assert_string_equal(p->exec_cpu_affinity_initial, "0-3,7");
	assert_string_equal(p->exec_cpu_affinity_final, "1");
}

static void check_full_top(const struct oci_config *cfg)
{
	assert_string_equal(cfg->oci_version, "1.2.0");
	assert_string_equal(cfg->root_path, "rootfs");
	assert_true(cfg->root_readonly);
	assert_string_equal(cfg->hostname, "box");
	assert_string_equal(cfg->domainname, "example.org");
	assert_int_equal(cfg->n_mounts, 2);
	assert_string_equal(cfg->mounts[0].destination, "/proc");
	assert_null(cfg->mounts[0].options);
	assert_string_equal(cfg->mounts[1].type, "bind");
	assert_string_equal(cfg->mounts[1].source, "/srv/data");
	assert_string_equal(cfg->mounts[1].options[1], "ro");
	assert_int_equal(cfg->mounts[1].n_uid_mappings, 1);
	assert_int_equal(cfg->mounts[1].uid_mappings[0].host_id, 100000);
	assert_int_equal(cfg->mounts[1].uid_mappings[0].size, 65536);
	assert_int_equal(cfg->mounts[1].gid_mappings[0].host_id, 200000);
	assert_int_equal(cfg->n_hooks[OCI_HOOK_PRESTART], 1);
	assert_string_equal(cfg->hooks[OCI_HOOK_PRESTART][0].path, "/usr/bin/pre");
	assert_string_equal(cfg->hooks[OCI_HOOK_PRESTART][0].args[1], "-x");
	assert_string_equal(cfg->hooks[OCI_HOOK_PRESTART][0].env[0], "A=1");
	assert_true(cfg->hooks[OCI_HOOK_PRESTART][0].has_timeout);
	assert_int_equal(cfg->hooks[OCI_HOOK_PRESTART][0].timeout, 5);
	assert_int_equal(cfg->n_hooks[OCI_HOOK_CREATE_RUNTIME], 2);
	assert_string_equal(cfg->hooks[OCI_HOOK_CREATE_RUNTIME][1].path, "/cr2");
	assert_false(cfg->hooks[OCI_HOOK_CREATE_RUNTIME][1].has_timeout);
	assert_string_equal(cfg->hooks[OCI_HOOK_CREATE_CONTAINER][0].path, "/cc");
	assert_string_equal(cfg->hooks[OCI_HOOK_START_CONTAINER][0].path, "/sc");
	assert_string_equal(cfg->hooks[OCI_HOOK_POSTSTART][0].path, "/ps");
	assert_int_equal(cfg->hooks[OCI_HOOK_POSTSTOP][0].timeout, 30);
	assert_int_equal(cfg->n_annotations, 2);
	assert_string_equal(oci_config_annotation(cfg, "io.berth.a"), "1");
	assert_string_equal(oci_config_annotation(cfg, "b"), "two");
	assert_null(oci_config_annotation(cfg, "c"));
}

static void check_full_linux(const struct oci_config *cfg)
{
	const struct oci_linux *l = &cfg->linux_;

	assert_true(cfg->has_linux);
	assert_int_equal(l->n_namespaces, 8);
	assert_int_equal(l->namespaces[1].type, OCI_NS_NETWORK);
	assert_string_equal(l->namespaces[1].path, "/var/run/netns/x");
	assert_null(l->namespaces[0].path);
	assert_non_null(oci_config_namespace(cfg, OCI_NS_TIME));
	assert_string_equal(oci_config_namespace(cfg, OCI_NS_NETWORK)->path, "/var/run/netns/x");
	assert_int_equal(l->n_uid_mappings, 2);
	assert_int_equal(l->uid_mappings[1].container_id, 1);
	assert_int_equal(l->uid_mappings[1].host_id, 100000);
	assert_int_equal(l->uid_mappings[1].size, 65536);
	assert_int_equal(l->n_gid_mappings, 1);
	assert_int_equal(l->n_time_offsets, 2);
	assert_string_equal(l->time_offsets[0].clock, "monotonic");
	assert_int_equal(l->time_offsets[0].secs, -3600);
	assert_int_equal(l->time_offsets[0].nanosecs, 5);
	assert_string_equal(l->time_offsets[1].clock, "boottime");
	assert_int_equal(l->time_offsets[1].nanosecs, 999999999);
	assert_int_equal(l->n_devices, 2);
	assert_string_equal(l->devices[0].path, "/dev/fuse");
	assert_int_equal(l->devices[0].type, 'c');
	assert_int_equal(l->devices[0].major, 10);
	assert_int_equal(l->devices[0].minor, 229);
	assert_true(l->devices[0].has_file_mode);
	assert_int_equal(l->devices[0].file_mode, 0666);
	assert_true(l->devices[0].has_gid);
	assert_int_equal(l->devices[0].gid, 5);
	assert_int_equal(l->devices[1].type, 'p');
	assert_false(l->devices[1].has_file_mode);
	assert_string_equal(l->cgroups_path, "/berth/test");
	assert_int_equal(l->n_sysctl, 2);
	assert_string_equal(l->sysctl[0].key, "net.ipv4.ip_forward");
	assert_string_equal(l->sysctl[0].value, "1");
	assert_string_equal(l->rootfs_propagation, "rslave");
	assert_string_equal(l->masked_paths[1], "/sys/firmware");
	assert_string_equal(l->readonly_paths[0], "/proc/sys");
	assert_null(l->readonly_paths[1]);
	assert_string_equal(l->mount_label, "system_u:object_r:container_file_t:s0");
	assert_true(l->has_personality);
	assert_string_equal(l->personality_domain, "LINUX32");
	assert_non_null(l->personality_flags);
	assert_true(l->has_intel_rdt);
	assert_string_equal(l->intel_rdt.clos_id, "grp1");
	assert_string_equal(l->intel_rdt.l3_cache_schema, "L3:0=ff");
	assert_string_equal(l->intel_rdt.mem_bw_schema, "MB:0=50");
	assert_true(l->intel_rdt.enable_cmt);
	assert_true(l->intel_rdt.enable_mbm);
	assert_int_equal(l->n_net_devices, 2);
	assert_string_equal(l->net_devices[0].host_name, "eth1");
	assert_string_equal(l->net_devices[0].name, "ctr0");
	assert_string_equal(l->net_devices[1].host_name, "eth2");
	assert_null(l->net_devices[1].name);
}

static void check_full_resources(const struct oci_resources *r)
{
	assert_int_equal(r->n_devices, 2);
	assert_false(r->devices[0].allow);
	assert_int_equal(r->devices[0].type, 'a');
	assert_false(r->devices[0].has_major);
	assert_string_equal(r->devices[0].access, "rwm");
	assert_true(r->devices[1].allow);
	assert_int_equal(r->devices[1].type, 'c');
	assert_true(r->devices[1].has_major);
	assert_int_equal(r->devices[1].minor, 229);
	assert_true(r->has_memory);
	assert_int_equal(r->memory.limit, 536870912);
	assert_int_equal(r->memory.reservation, 268435456);
	assert_int_equal(r->memory.swap, 1073741824);
	assert_true(r->memory.has_kernel);
	assert_int_equal(r->memory.kernel, -1);
	assert_int_equal(r->memory.kernel_tcp, 1048576);
	assert_int_equal(r->memory.swappiness, 60);
	assert_true(r->memory.disable_oom_killer);
	assert_true(r->memory.has_use_hierarchy);
	assert_false(r->memory.use_hierarchy);
	assert_true(r->memory.check_before_update);
	assert_true(r->has_cpu);
	assert_int_equal(r->cpu.shares, 1024);
	assert_int_equal(r->cpu.quota, 50000);
	assert_int_equal(r->cpu.burst, 10000);
	assert_int_equal(r->cpu.period, 100000);
	assert_int_equal(r->cpu.realtime_runtime, 950000);
	assert_int_equal(r->cpu.realtime_period, 1000000);
	assert_string_equal(r->cpu.cpus, "0-3");
	assert_string_equal(r->cpu.mems, "0");
	assert_int_equal(r->cpu.idle, 1);
	assert_true(r->has_pids);
	assert_int_equal(r->pids_limit, 100);
	assert_true(r->has_block_io);
	assert_int_equal(r->block_io.weight, 500);
	assert_int_equal(r->block_io.leaf_weight, 300);
	assert_int_equal(r->block_io.n_weight_device, 2);
	assert_int_equal(r->block_io.weight_device[0].leaf_weight, 200);
	assert_false(r->block_io.weight_device[1].has_leaf_weight);
	assert_int_equal(r->block_io.weight_device[1].weight, 700);
	assert_int_equal(r->block_io.throttle_read_bps[0].rate, 1048576);
	assert_int_equal(r->block_io.throttle_write_bps[0].minor, 1);
	assert_int_equal(r->block_io.throttle_read_iops[0].rate, 100);
	assert_int_equal(r->block_io.throttle_write_iops[0].rate, 200);
	assert_int_equal(r->n_hugepage_limits, 2);
	assert_string_equal(r->hugepage_limits[1].page_size, "1GB");
	assert_int_equal(r->hugepage_limits[0].limit, 209715200);
	assert_true(r->has_network);
	assert_int_equal(r->network.class_id, 1048577);
	assert_string_equal(r->network.priorities[0].name, "eth0");
	assert_int_equal(r->network.priorities[0].priority, 500);
	assert_int_equal(r->n_rdma, 1);
	assert_string_equal(r->rdma[0].device, "mlx5_1");
	assert_int_equal(r->rdma[0].hca_handles, 3);
	assert_int_equal(r->rdma[0].hca_objects, 10000);
	assert_int_equal(r->n_unified, 2);
	assert_string_equal(r->unified[1].key, "io.weight");
	assert_string_equal(r->unified[1].value, "default 100");
}

static void check_full_seccomp(const struct oci_seccomp *s)
{
	assert_string_equal(s->default_action, "SCMP_ACT_ERRNO");
	assert_true(s->has_default_errno_ret);
	assert_int_equal(s->default_errno_ret, 1);
	assert_string_equal(s->architectures[1], "SCMP_ARCH_X86");
	assert_string_equal(s->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	assert_string_equal(s->listener_path, "/run/seccomp.sock");
	assert_string_equal(s->listener_metadata, "meta");
	assert_int_equal(s->n_syscalls, 2);
	assert_string_equal(s->syscalls[0].names[1], "write");
	assert_false(s->syscalls[0].has_errno_ret);
	assert_int_equal(s->syscalls[1].errno_ret, 38);
	assert_int_equal(s->syscalls[1].n_args, 1);
	assert_int_equal(s->syscalls[1].args[0].value, 8);
	assert_true(s->syscalls[1].args[0].value_two == UINT64_MAX);
	assert_string_equal(s->syscalls[1].args[0].op, "SCMP_CMP_MASKED_EQ");
}

static void test_full_document(void **state)
{
	struct oci_config *cfg = parse_ok(full_doc);

	(void)state;
	assert_true(cfg->has_process);
	check_full_process(&cfg->process);
	check_full_process_sched(&cfg->process);
	check_full_top(cfg);
	check_full_linux(cfg);
	assert_true(cfg->linux_.has_resources);
	check_full_resources(&cfg->linux_.resources);
	assert_true(cfg->linux_.has_seccomp);
	check_full_seccomp(&cfg->linux_.seccomp);
	oci_config_free(cfg);
}

/* ---- leniency ---- */

static void test_unknown_fields_ignored(void **state)
{
	struct oci_config *cfg;

	(void)state;
	cfg = parse_ok(
	    "{'ociVersion':'1.2.0','root':{'path':'r','x-root':1},'futureField':{'a':[1,2,{'b':null}]},"
	    "'process':{'args':['sh'],'cwd':'/','user':{'uid':1,'sid':'S-1'},'newThing':true},"
	    "'mounts':[{'destination':'/a','flavour':'vanilla'}],"
	    "'linux':{'namespaces':[{'type':'pid','extra':1}],'resources':{'memory':{'limit':5,'future':1},"
	    "'nextgen':{}},'vm':{'hypervisor':{}}},'windows':{'layerFolders':['C:\\\\x']},'solaris':{}}");
	assert_string_equal(cfg->root_path, "r");
	assert_int_equal(cfg->process.user.uid, 1);
	assert_string_equal(cfg->mounts[0].destination, "/a");
	assert_int_equal(cfg->linux_.resources.memory.limit, 5);
	oci_config_free(cfg);
}

static void test_minimal_and_nulls(void **state)
{
	struct oci_config *cfg;

	(void)state;
	/* null means absent, like Go's decoder; empty hostname means "not set". */
	cfg = parse_ok(
	    "{'ociVersion':'1.0.0','root':{'path':'/r'},'process':null,'hostname':'','mounts':null,"
	    "'linux':{'namespaces':null,'rootfsPropagation':'','resources':{'memory':{'limit':null}}}}");
	assert_false(cfg->has_process);
	assert_null(cfg->hostname);
	assert_int_equal(cfg->n_mounts, 0);
	assert_null(cfg->mounts);
	assert_true(cfg->has_linux);
	assert_null(cfg->linux_.rootfs_propagation);
	assert_true(cfg->linux_.resources.has_memory);
	assert_false(cfg->linux_.resources.memory.has_limit);
	assert_null(oci_config_namespace(cfg, OCI_NS_PID));
	oci_config_free(cfg);
}

static void test_duplicate_keys_last_wins(void **state)
{
	struct oci_config *cfg;

	(void)state;
	cfg = parse_ok("{'ociVersion':'0.1','ociVersion':'1.2.0','root':{'path':'a'},'root':{'path':'b'},"
		       "'annotations':{'k':'1','x':'0','k':'2'},"
		       "'linux':{'sysctl':{'net.a':'1','net.b':'2','net.a':'3','net.a':'4'}}}");
	assert_string_equal(cfg->oci_version, "1.2.0");
	assert_string_equal(cfg->root_path, "b");
	assert_string_equal(oci_config_annotation(cfg, "k"), "2");
	/* A repeated map key is one entry (the last), in the order of the last occurrences. */
	assert_int_equal(cfg->n_annotations, 2);
	assert_string_equal(cfg->annotations[0].key, "x");
	assert_string_equal(cfg->annotations[1].key, "k");
	assert_int_equal(cfg->linux_.n_sysctl, 2);
	assert_string_equal(cfg->linux_.sysctl[0].key, "net.b");
	assert_string_equal(cfg->linux_.sysctl[1].key, "net.a");
	assert_string_equal(cfg->linux_.sysctl[1].value, "4");
	oci_config_free(cfg);
}

static void test_rlimit_infinity(void **state)
{
	struct oci_config *cfg;

	(void)state;
	cfg = parse_ok(PROC(
	    "'rlimits':[{'type':'RLIMIT_MEMLOCK','hard':18446744073709551615,"
	    "'soft':18446744073709551615},{'type':'RLIMIT_STACK','hard':9223372036854775808,'soft':0}]"));
	assert_int_equal(cfg->process.n_rlimits, 2);
	assert_int_equal(cfg->process.rlimits[0].resource, RLIMIT_MEMLOCK);
	assert_true(cfg->process.rlimits[0].hard == UINT64_MAX);
	assert_true(cfg->process.rlimits[0].soft == (uint64_t)RLIM_INFINITY);
	assert_true(cfg->process.rlimits[1].hard == 9223372036854775808ULL);
	oci_config_free(cfg);
}

static void test_integer_edges(void **state)
{
	struct oci_config *cfg;

	(void)state;
	cfg = parse_ok(DOC(
	    "'process':{'args':['sh'],'cwd':'/','user':{'uid':4294967295,'gid':0},'oomScoreAdj':1000},"
	    "'linux':{'resources':{'memory':{'limit':-9223372036854775808,'swap':9223372036854775807}}}"));
	assert_int_equal(cfg->process.user.uid, UINT32_MAX);
	assert_int_equal(cfg->process.oom_score_adj, 1000);
	assert_true(cfg->linux_.resources.memory.limit == INT64_MIN);
	assert_true(cfg->linux_.resources.memory.swap == INT64_MAX);
	oci_config_free(cfg);
}

static void test_syntax_error_position(void **state)
{
	struct oci_config *cfg = NULL;
	struct berth_error err;

	(void)state;
	assert_int_equal(parse("{\n  'ociVersion': 'x',\n  oops\n}", &cfg, &err), -EINVAL);
	assert_prefix(err.msg, "config.json: invalid JSON: ");
	assert_non_null(strstr(err.msg, "line 3"));
	assert_null(strchr(err.msg, '\n'));
}

static void test_deep_nesting_rejected(void **state)
{
	size_t depth = 100000;
	char *doc = malloc(2 * depth + 64);
	struct oci_config *cfg = NULL;
	struct berth_error err = {0};
	size_t o = 0;

	(void)state;
	o += (size_t)sprintf(doc, "{\"ociVersion\":\"1\",\"x\":");
	memset(doc + o, '[', depth);
	o += depth;
	memset(doc + o, ']', depth);
	o += depth;
	doc[o++] = '}';
	assert_int_equal(oci_config_parse(doc, o, &cfg, &err), -EINVAL);
	assert_prefix(err.msg, "config.json: invalid JSON: nested too deeply");
	free(doc);
}

static void test_too_many_mounts(void **state)
{
	static const char entry[] = "{\"destination\":\"/a\"},";
	size_t n = 65537, o = 0;
	char *doc = malloc(n * (sizeof(entry) - 1) + 128);
	struct oci_config *cfg = NULL;
	struct berth_error err = {0};

	(void)state;
	o += (size_t)sprintf(doc, "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"mounts\":[");
	for (size_t i = 0; i < n; i++) {
		memcpy(doc + o, entry, sizeof(entry) - 1);
		o += sizeof(entry) - 1;
	}
	doc[o - 1] = ']';
	doc[o++] = '}';
	assert_int_equal(oci_config_parse(doc, o, &cfg, &err), -EINVAL);
	assert_prefix(err.msg, "mounts: too many entries");
	free(doc);
}

static void test_len_is_honoured(void **state)
{
	const char *json = "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"}}GARBAGE";
	struct oci_config *cfg = NULL;
	struct berth_error err = {0};

	(void)state;
	/* Only the first len bytes count, and the buffer need not be NUL-terminated there. */
	assert_int_equal(oci_config_parse(json, strlen(json) - 7, &cfg, &err), 0);
	assert_string_equal(cfg->root_path, "r");
	oci_config_free(cfg);
	assert_int_equal(oci_config_parse(json, strlen(json), &cfg, &err), -EINVAL);
}

/* ---- process.json ---- */

static void test_process_parse(void **state)
{
	struct oci_process *p = NULL;
	struct berth_error err = {0};
	char *json;

	(void)state;
	json = q("{'args':['ls','-l'],'cwd':'/tmp','env':['A=b'],'user':{'uid':7,'gid':8},"
		 "'capabilities':{'bounding':['CAP_SYS_ADMIN']},'terminal':false}");
	assert_int_equal(oci_process_parse(json, strlen(json), &p, &err), 0);
	assert_string_equal(p->args[1], "-l");
	assert_string_equal(p->cwd, "/tmp");
	assert_int_equal(p->user.gid, 8);
	assert_string_equal(p->capabilities.bounding[0], "CAP_SYS_ADMIN");
	oci_process_free(p);
	free(json);

	json = q("{'args':[],'cwd':'/'}");
	p = NULL;
	assert_int_equal(oci_process_parse(json, strlen(json), &p, &err), -EINVAL);
	assert_null(p);
	assert_string_equal(err.msg, "args: must not be empty");
	free(json);

	json = q("{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_NPROC','hard':1,'soft':2}]}");
	assert_int_equal(oci_process_parse(json, strlen(json), &p, &err), -EINVAL);
	assert_string_equal(err.msg, "rlimits[0]: soft limit 2 exceeds hard limit 1");
	free(json);

	assert_int_equal(oci_process_parse("[1]", 3, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "process.json: expected a JSON object");
	assert_int_equal(oci_process_parse("{", 1, &p, &err), -EINVAL);
	assert_prefix(err.msg, "process.json: invalid JSON: ");
}

/* ---- name tables ---- */

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(oci_ns_type_from_name("pid"), OCI_NS_PID);
	assert_int_equal(oci_ns_type_from_name("network"), OCI_NS_NETWORK);
	assert_int_equal(oci_ns_type_from_name("time"), OCI_NS_TIME);
	assert_int_equal(oci_ns_type_from_name("net"), -1);
	assert_int_equal(oci_ns_type_from_name(NULL), -1);
	for (int t = 0; t < OCI_NS_MAX; t++) {
		assert_int_equal(oci_ns_type_from_name(oci_ns_type_name((enum oci_ns_type)t)), t);
		assert_true(oci_ns_clone_flag((enum oci_ns_type)t) != 0);
	}
	assert_int_equal(oci_ns_clone_flag(OCI_NS_USER), CLONE_NEWUSER);
	assert_int_equal(oci_ns_clone_flag(OCI_NS_MOUNT), CLONE_NEWNS);
	assert_int_equal(oci_ns_clone_flag(OCI_NS_TIME), 0x80);
	assert_null(oci_ns_type_name(OCI_NS_MAX));
	assert_string_equal(oci_hook_kind_name(OCI_HOOK_CREATE_RUNTIME), "createRuntime");
	assert_string_equal(oci_hook_kind_name(OCI_HOOK_POSTSTOP), "poststop");
	assert_null(oci_hook_kind_name(OCI_HOOK_KIND_MAX));
	assert_int_equal(oci_capability_from_name("CAP_CHOWN"), 0);
	assert_int_equal(oci_capability_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(oci_capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(oci_capability_from_name("CAP_NOPE"), -1);
	for (int cap = 0; cap <= OCI_CAP_LAST; cap++)
		assert_int_equal(oci_capability_from_name(oci_capability_name(cap)), cap);
	assert_null(oci_capability_name(OCI_CAP_LAST + 1));
	assert_null(oci_capability_name(-1));
}

/* Unknown capability names are dropped with a warning, as the runtime spec asks (runc warns). */
static void test_unknown_capabilities_dropped(void **state)
{
	struct oci_config *cfg;

	(void)state;
	cfg = parse_ok(PROC("'capabilities':{'bounding':['CAP_KILL','CAP_FOO','CAP_CHOWN'],"
			    "'effective':['cap_kill'],'ambient':['CAP_NEWER_THAN_THIS_KERNEL']}"));
	const struct oci_capabilities *c = &cfg->process.capabilities;
	assert_string_equal(c->bounding[0], "CAP_KILL");
	assert_string_equal(c->bounding[1], "CAP_CHOWN");
	assert_null(c->bounding[2]);
	assert_non_null(c->effective);
	assert_null(c->effective[0]);
	assert_null(c->ambient[0]);
	oci_config_free(cfg);
}

/* The same namespace listed twice with the same (or no) path is one namespace. */
static void test_duplicate_namespace_same_request(void **state)
{
	struct oci_config *cfg;

	(void)state;
	cfg = parse_ok(
	    LINUX("'namespaces':[{'type':'pid'},{'type':'cgroup'},{'type':'mount'},{'type':'cgroup'},"
		  "{'type':'network','path':'/run/netns/x'},{'type':'network','path':'/run/netns/x'}]"));
	assert_int_equal(cfg->linux_.n_namespaces, 4);
	assert_int_equal(cfg->linux_.namespaces[0].type, OCI_NS_PID);
	assert_int_equal(cfg->linux_.namespaces[1].type, OCI_NS_CGROUP);
	assert_int_equal(cfg->linux_.namespaces[2].type, OCI_NS_MOUNT);
	assert_int_equal(cfg->linux_.namespaces[3].type, OCI_NS_NETWORK);
	assert_string_equal(oci_config_namespace(cfg, OCI_NS_NETWORK)->path, "/run/netns/x");
	oci_config_free(cfg);
}

static void test_semver(void **state)
{
	static const char *const good[] = {"0.0.0",      "1.0.2",         "1.0.2-dev",
					   "1.2.0-rc.1", "1.0.0+build.5", "1.0.0-alpha-1.0+x-y.z",
					   "10.20.30",   "1.0.0-0a"};
	static const char *const bad[] = {"",          "1",      "1.0",    "1.0.0.0",  "01.0.0",
					  "1.00.0",    "1.0.0-", "1.0.0+", "1.0.0-01", "1.0.0-a..b",
					  "1.0.0+a+b", "v1.0.0", "1.0.0 ", "invalid",  "1.0.0-a_b"};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!oci_semver_valid(good[i]))
			fail_msg("\"%s\" should be a valid version", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (oci_semver_valid(bad[i]))
			fail_msg("\"%s\" should be refused", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_document),
	    cmocka_unit_test(test_unknown_fields_ignored),
	    cmocka_unit_test(test_minimal_and_nulls),
	    cmocka_unit_test(test_duplicate_keys_last_wins),
	    cmocka_unit_test(test_rlimit_infinity),
	    cmocka_unit_test(test_integer_edges),
	    cmocka_unit_test(test_syntax_error_position),
	    cmocka_unit_test(test_deep_nesting_rejected),
	    cmocka_unit_test(test_too_many_mounts),
	    cmocka_unit_test(test_len_is_honoured),
	    cmocka_unit_test(test_process_parse),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_unknown_capabilities_dropped),
	    cmocka_unit_test(test_duplicate_namespace_same_request),
	    cmocka_unit_test(test_semver),
	};
	int failed = cmocka_run_group_tests_name("config", tests, NULL, NULL);

	failed += run_bad_cases();
	return failed ? 1 : 0;
}
