#!/bin/bash
# shellcheck disable=SC2317 # functions called through traps
# tests/compat/run.sh: the differential test. Every fixture in tests/compat/fixtures (configs
# that runc/crun/berth spec, containerd's runc shim and podman wrote: capture.sh) becomes one
# bundle per runtime, run under runc (the reference, Debian's 1.1.5) and under berth; what a user
# sees is compared check by check:
#   result   success or failure (for a berth failure: does the message name a config field)
#   exit     the exit status (the probe exits 3)
#   stdout   args, cwd, id, hostname, environment
#   terminal what `tty` says and whether stdout is a terminal (a process.terminal config runs in
#            the foreground from script(1)'s terminal, as a user would run it)
#   caps     /proc/self/status Cap*, NoNewPrivs, Seccomp
#   mounts   the mount table inside: mountpoint, fstype, ro/nosuid/nodev/noexec, tmpfs mode/size,
#            cgroup v1 controller (sorted by mountpoint), without the linux.maskedPaths
#   masks    the same for the mounts that mask linux.maskedPaths
#   cgroup   `ls /sys/fs/cgroup` and the limit files a program reads there
#   tmpfs    the files each tmpfs mount starts with (tmpcopyup); the rootfs is seeded below each
#   hooks    (the +ok/+fail variants: hooks added, +fail with failing poststart/poststop hooks)
#            the order the hooks ran in (a poststart racing startContainer counted after it)
#   hookenv  each hook's environment (half of them have no `env`: they get the runtime's, and
#            both runtimes run with the same small environment, RT_ENV)
#   hookstate the state each hook reads on stdin (keys, status, pid > 0, bundle, annotations;
#            poststart's status as "created|running"); hookenv and hookstate cover the hooks that
#            both runtimes ran, sorted by name
#   poststatus the status a poststart hook reads (runc: "created", see deliberate.txt)
# Prints a table fixture × check -> runc / berth / same|DIFF|deliberate, then the difference of
# each DIFF. Differences listed in tests/compat/deliberate.txt are deliberate; any other fails.
#
# Adaptations, the same for both runtimes (adapt below): process.args -> the probe (after
# podman's --init prefix); cgroupsPath /berth-test/compat-<fixture>-<rt>-<pid>;
# rlimits above this machine's hard limits and an oomScoreAdj below ours lowered/raised to them
# (the sandbox lacks CAP_SYS_RESOURCE: ENVIRONMENT.md); namespace paths dropped (a new namespace:
# the infra container or CNI netns of the capture no longer exists); "@dir@/N" and "@file@/N"
# mount sources made in the bundle; with uidMappings the rootfs and those sources chowned to
# the host ids of the container's root (as podman does); a seed (file, symlink, directory) below
# every tmpfs mount outside /dev; COMPAT_TMPFS added to process.env.
#
# Environment: BERTH (required), BERTH_COMPAT_ONLY (a regular expression: only the fixtures
# whose name matches), BERTH_TEST_KEEP (keep the bundles and outputs).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/compat/lib.sh
. "$(dirname "$0")/lib.sh"
compat_private_ns mnt "$@"

compat_require_ci runc
FIXTURES=$COMPAT_DIR/fixtures
DELIBERATE=$COMPAT_DIR/deliberate.txt
RUNC_ROOT=$TEST_TMP/runc-root
RUNC_IDS=()
CHECKS_ALL=(result exit stdout terminal caps mounts masks cgroup tmpfs hooks hookenv hookstate poststatus)
HOOK_CHECKS=" hooks hookenv hookstate poststatus "
TABLE=()
DIFFS=()
NOTES=()
DELIB_USED=" "
SEEN_FAIL=0
mkdir -p "$RUNC_ROOT"

on_exit() {
	local rc=$? id
	trap - EXIT
	for id in "${RUNC_IDS[@]}"; do
		timeout -k 5 20 runc --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1
		for d in /sys/fs/cgroup/*/berth-test/"$id" /sys/fs/cgroup/berth-test/"$id"; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		done
	done
	(exit "$rc")
	cleanup
}
trap on_exit EXIT

# ---------------------------------------------------------------- bundles

# machine_hard RLIMIT_X: this machine's hard limit for it (a number, or "unlimited").
machine_hard() {
	prlimit --pid $$ --noheadings --raw --output=RESOURCE,HARD | awk -v r="${1#RLIMIT_}" '$1 == r { print $2 }'
}

# limits_json: {"RLIMIT_X": hard, ...} for every finite hard limit of this machine.
limits_json() {
	prlimit --pid $$ --noheadings --raw --output=RESOURCE,HARD |
		awk '$2 != "unlimited" { printf "%s\"RLIMIT_%s\": %s", n++ ? ", " : "{", $1, $2 } END { print "}" }'
}

# adapt FIXTURE-JSON BUNDLE CGROUP: the adapted config.json on stdout (see the header).
adapt() {
	local oom
	oom=$(cat /proc/self/oom_score_adj)
	jq --arg cg "$3" --argjson lim "$LIMITS" --argjson oom "$oom" '
		.root.path = "rootfs"
		| .process.args = (if (.process.args[0] // "") == "/run/podman-init"
			then [.process.args[0], "--", "/bin/sh", "/.compat/probe"]
			else ["/bin/sh", "/.compat/probe"] end)
		| .linux.cgroupsPath = $cg
		| if .process.rlimits then .process.rlimits |= map(
			($lim[.type] // null) as $m
			| if $m != null and .hard > $m then .hard = $m else . end
			| if $m != null and .soft > $m then .soft = $m else . end) else . end
		| if .process.oomScoreAdj != null and .process.oomScoreAdj < $oom then .process.oomScoreAdj = $oom else . end
		| if .linux.namespaces then .linux.namespaces |= map(del(.path)) else . end
		| ([.mounts[]? | select(.type == "tmpfs" and .destination != "/dev") | .destination] | join(" ")) as $t
		| .process.env = ((.process.env // []) + ["COMPAT_TMPFS=" + $t])
	' "$1"
}

# make_bundle FIXTURE-JSON RT-TAG: a bundle in $BUNDLE (rootfs, probe, mount sources, seeds).
make_bundle() {
	local fixture=$1 tag=$2 name src d cg
	name=$(basename "$fixture" .json)
	BUNDLE=$TEST_TMP/b-$name-$tag
	mkdir -p "$BUNDLE/rootfs/.compat" "$BUNDLE/src"
	cp -a "$(busybox_rootfs)/." "$BUNDLE/rootfs/" || die "copying the rootfs"
	rm -f "$BUNDLE/rootfs/.complete"
	install -m 0755 "$COMPAT_DIR/probe.sh" "$BUNDLE/rootfs/.compat/probe"
	cg=/berth-test/$CID
	adapt "$fixture" "$BUNDLE" "$cg" >"$BUNDLE/config.json" || die "adapting $fixture"
	# mount sources of the client's state, made here with the same kind
	for src in $(jq -r '.mounts[]?.source | select(startswith("@dir@/") or startswith("@file@/"))' "$BUNDLE/config.json"); do
		case "$src" in
		@dir@/*) mkdir -p "$BUNDLE/src/dir-${src#@dir@/}" ;;
		@file@/*) echo "compat ${src#@file@/}" >"$BUNDLE/src/file-${src#@file@/}" ;;
		esac
	done
	jq --arg b "$BUNDLE/src" '.mounts |= map(
		if (.source // "") | startswith("@dir@/") then .source = $b + "/dir-" + (.source | ltrimstr("@dir@/"))
		elif (.source // "") | startswith("@file@/") then .source = $b + "/file-" + (.source | ltrimstr("@file@/"))
		else . end)' "$BUNDLE/config.json" >"$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
	# With a user namespace, the client (podman) would have chowned the image to the host ids
	# of the container's root: the same here, or its root cannot create a mount point.
	local hu hg
	hu=$(jq -r '[.linux.uidMappings[]? | select(.containerID == 0) | .hostID][0] // empty' "$BUNDLE/config.json")
	hg=$(jq -r '[.linux.gidMappings[]? | select(.containerID == 0) | .hostID][0] // empty' "$BUNDLE/config.json")
	if [ -n "$hu" ]; then chown -R "$hu:${hg:-$hu}" "$BUNDLE/rootfs" "$BUNDLE/src"; fi
	# what each tmpfs mount would copy up
	for d in $(jq -r '.mounts[]? | select(.type == "tmpfs" and .destination != "/dev" and (.destination | startswith("/dev/") | not)) | .destination' "$BUNDLE/config.json"); do
		mkdir -p "$BUNDLE/rootfs$d/seed-dir"
		chmod 0750 "$BUNDLE/rootfs$d/seed-dir"
		echo seed >"$BUNDLE/rootfs$d/seed-file"
		chmod 0640 "$BUNDLE/rootfs$d/seed-file"
		chown 1:2 "$BUNDLE/rootfs$d/seed-file"
		ln -sfn seed-file "$BUNDLE/rootfs$d/seed-link"
	done
}

# ---------------------------------------------------------------- hooks

# add_hooks BUNDLE MODE: hooks of every kind that log to BUNDLE/hooklog/log (MODE ok), or failing
# poststart and poststop hooks followed by ones that succeed (MODE fail). Half of them have an
# `env`, half do not (they get the runtime's environment).
add_hooks() {
	local b=$1 mode=$2 h=$1/hook.sh
	mkdir -p "$b/hooklog"
	cat >"$h" <<'EOF'
#!/bin/sh
# hook.sh NAME LOG BUNDLE [EXIT]: log the hook, its environment and the state it reads.
env=$(env | grep -v -e '^_=' -e '^PWD=' -e '^SHLVL=' | sort | tr '\n' ' ')
PATH=/usr/sbin:/usr/bin:/sbin:/bin
state=$(cat)
{
	echo "hook $1"
	echo "  env: $env"
	printf '%s' "$state" | jq -c --arg b "$3" '{keys: keys, status, pid: (.pid > 0), bundle: (.bundle == $b), annotations}' | sed 's/^/  state: /'
} >>"$2"
exit "${4:-0}"
EOF
	chmod 0755 "$h"
	jq --arg h "$h" --arg log "$b/hooklog/log" --arg b "$b" --arg mode "$mode" '
		def hook($n; $env): {path: $h, args: ["hook.sh", $n, $log, $b]} + (if $env then {env: ["COMPAT_HOOK=" + $n, "PATH=/bin"]} else {} end);
		def failing($n): {path: $h, args: ["hook.sh", $n, $log, $b, "1"]};
		.mounts += [{destination: "/hooklog", type: "bind", source: ($b + "/hooklog"), options: ["rbind", "rw"]}]
		| .hooks = (if $mode == "ok" then {
			prestart: [hook("prestart"; false)],
			createRuntime: [hook("createRuntime"; true)],
			createContainer: [hook("createContainer"; false)],
			startContainer: [{path: "/bin/sh", args: ["sh", "-c", "{ echo \"hook startContainer\"; echo \"  env: $(env | grep -v -e ^_= -e ^PWD= -e ^SHLVL= | sort | tr \"\\n\" \" \")\"; } >>/hooklog/log"]}],
			poststart: [hook("poststart"; true)],
			poststop: [hook("poststop"; false)]
		} else {
			poststart: [failing("poststart-1-fails"), hook("poststart-2"; false)],
			poststop: [failing("poststop-1-fails"), hook("poststop-2"; false)]
		} end)' "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
}

# ---------------------------------------------------------------- running and normalising

# section FILE NAME: the lines of section NAME of the probe's output.
section() { awk -v s="== $2" '/^== / { on = ($0 == s); next } on' "$1"; }

# norm_mounts: mountinfo on stdin -> "mountpoint fstype opts" sorted.
norm_mounts() {
	awk '{
		mp = $5; m = split($6, o, ","); opts = ""
		for (i = 1; i <= m; i++) if (o[i] ~ /^(ro|rw|nosuid|nodev|noexec)$/) opts = opts "," o[i]
		for (i = 7; $i != "-"; i++) ;
		fstype = $(i + 1); n = split($(i + 3), so, ",")
		for (j = 1; j <= n; j++) if (so[j] ~ /^(mode=|size=|ptmxmode=|gid=)/ || (fstype == "cgroup" && so[j] !~ /=|^(rw|ro|relatime)$/)) opts = opts "," so[j]
		print mp, fstype, substr(opts, 2)
	}' | sort
}

# norm_tmpfs: `ls -la` lines -> "mode user group name[ -> target]", without "." / ".." sizes and dates.
norm_tmpfs() {
	awk '/:$/ { print; next } $1 ~ /^[dlcbps-][rwxsStT-]{9}/ && $9 != ".." { n = $9; for (i = 10; i <= NF; i++) n = n " " $i; print "  " $1, $3, $4, n }'
}

# canon_order: hook names; a poststart just before startContainer is put after it. runc runs
# poststart hooks when `start` returns, concurrently with the startContainer hooks the container
# runs before its process: either order happens there, and the spec's is startContainer first.
canon_order() {
	awk '{ n[NR] = $0 } END {
		for (i = 1; i < NR; i++) if (n[i] ~ /^poststart/ && n[i + 1] == "startContainer") { t = n[i]; n[i] = n[i + 1]; n[i + 1] = t; i++ }
		for (i = 1; i <= NR; i++) print n[i] }'
}

# common_hooks LINES OTHER: the "name:..." LINES whose name OTHER has too, sorted.
common_hooks() {
	awk -F: 'NR == FNR { seen[$1] = 1; next } $1 in seen' <(printf '%s\n' "$2") <(printf '%s\n' "$1") | sort
}

hooklog() { if [ -s "$HOOKLOG" ]; then cat "$HOOKLOG"; else echo "hook (none-ran)"; fi; }

# outputs CHECK OUT-FILE ERR-FILE RC: the normalised value of one check.
outputs() {
	local check=$1 out=$2 rc=$4
	case "$check" in
	result)
		if [ "$rc" -eq 3 ] && grep -q '^== stdout' "$out"; then echo ok; else echo "fail"; fi
		;;
	exit) echo "$rc" ;;
	stdout) section "$out" stdout ;;
	caps) section "$out" caps ;;
	terminal) section "$out" terminal ;;
	mounts) section "$out" mounts | norm_mounts | awk -v m="$MASKED" 'BEGIN { split(m, a, " "); for (i in a) mk[a[i]] = 1 } !($1 in mk)' ;;
	masks) section "$out" mounts | norm_mounts | awk -v m="$MASKED" 'BEGIN { split(m, a, " "); for (i in a) mk[a[i]] = 1 } $1 in mk' ;;
	cgroup) section "$out" cgroup ;;
	tmpfs) section "$out" tmpfs | norm_tmpfs ;;
	hooks) hooklog | awk '/^hook / { print $2 }' | canon_order ;;
	hookenv) hooklog | awk '/^hook / { h = $2 } /^  env:/ { print h ":" substr($0, 8) }' ;;
	hookstate) hooklog | awk '/^hook / { h = $2 } /^  state:/ { print h ":" substr($0, 10) }' |
		sed -E '/^poststart[^:]*:/s/"status":"(created|running)"/"status":"created|running"/' ;;
	poststatus) hooklog | awk '/^hook poststart/ { p = 1; next } /^hook / { p = 0 } p && /^  state:/' |
		grep -o '"status":"[a-z]*"' ;;
	esac
}

# Both runtimes run with this environment only (hooks without `env` see it).
RT_ENV=("$MARK" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root COMPAT_RUNTIME_ENV=1)

# run_under RT FIXTURE VARIANT: make the bundle and run it; sets R_OUT R_ERR R_RC R_HOOKLOG.
run_under() {
	local rt=$1 fixture=$2 variant=$3 name
	name=$(basename "$fixture" .json)
	CID=compat-${name}${variant:+-$variant}-$rt-$$
	make_bundle "$fixture" "$rt${variant:+-$variant}"
	if [ -n "$variant" ]; then add_hooks "$BUNDLE" "$variant"; fi
	local cmd=()
	if [ "$rt" = runc ]; then
		RUNC_IDS+=("$CID")
		cmd=(env -i "${RT_ENV[@]}" runc --root "$RUNC_ROOT" run --bundle "$BUNDLE" "$CID")
	else
		IDS+=("$CID")
		cmd=(env -i "${RT_ENV[@]}" "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" "$CID")
	fi
	if [ "$(jq -r '.process.terminal // false' "$BUNDLE/config.json")" = true ]; then
		# process.terminal: run in the foreground from a terminal of script(1)'s, as a user
		# would; the output then has CRLF line ends, and the terminal's echo of what script
		# forwards from /dev/null ("^@", "^D") may come first
		QUIET=1 cap script -qec "$(printf '%q ' "${cmd[@]}")" /dev/null
		tr -d '\r\0' <"$OUT_FILE" | sed -E 's/^(\^[@D])+//' >"$OUT_FILE.lf"
		OUT_FILE=$OUT_FILE.lf
	else
		QUIET=1 cap "${cmd[@]}"
	fi
	R_OUT=$OUT_FILE R_ERR=$ERR_FILE R_RC=$RC R_HOOKLOG=$BUNDLE/hooklog/log
}

# deliberate CHECK FIXTURE: 0 and the reason in DELIB_REASON if deliberate.txt lists this
# difference (not in a subshell: it records which entries matched).
deliberate() {
	local check fix reason
	# shellcheck disable=SC2053 # the fixture column is a glob
	while read -r check fix reason; do
		case "$check" in '' | '#'*) continue ;; esac
		if [ "$check" = "$1" ] && [[ "$2" == $fix ]]; then
			DELIB_USED+="$check:$fix "
			DELIB_REASON=$reason
			return 0
		fi
	done <"$DELIBERATE"
	return 1
}

# line_edits CHECK FIXTURE: the sed expressions of the "CHECK~SED FIXTURE REASON" entries of
# deliberate.txt that apply, one per line. Such an entry names a deliberate difference inside a
# check's output (a line or a word), so the rest of that check is still compared.
line_edits() {
	local key fix reason
	# shellcheck disable=SC2053 # the fixture column is a glob
	while read -r key fix reason; do
		case "$key" in "$1~"*) ;; *) continue ;; esac
		if [[ "$2" == $fix ]]; then printf '%s\n' "${key#*~}"; fi
	done <"$DELIBERATE"
}

# edited CHECK VALUE SED...: VALUE with each sed expression applied (the mount table sorted
# again afterwards: an edit may change the order of its lines).
edited() {
	local check=$1 v=$2 e
	shift 2
	for e in "$@"; do v=$(sed -E "$e" <<<"$v"); done
	if [ "$check" = mounts ]; then v=$(sort <<<"$v"); fi
	printf '%s' "$v"
}

# short VALUE: a table cell (the value itself when short, else a digest).
short() {
	local v=$1
	if [ "${#v}" -le 14 ] && [[ "$v" != *$'\n'* ]]; then
		echo "$v"
	else
		echo "$(wc -l <<<"$v")l:$(md5sum <<<"$v" | cut -c1-6)"
	fi
}

# compare NAME: run fixture NAME (maybe "base+variant") under both runtimes, fill TABLE.
compare() {
	local label=$1 fixture variant check a b cell field
	fixture=$FIXTURES/${label%%+*}.json
	variant=""
	[[ "$label" == *+* ]] && variant=${label#*+}
	MASKED=$(jq -r '.linux.maskedPaths // [] | join(" ")' "$fixture")
	run_under runc "$fixture" "$variant"
	local ro=$R_OUT re=$R_ERR rr=$R_RC HOOKLOG=$R_HOOKLOG
	local -A rv=() bv=()
	for check in "${CHECKS_ALL[@]}"; do rv[$check]=$(outputs "$check" "$ro" "$re" "$rr"); done
	run_under berth "$fixture" "$variant"
	HOOKLOG=$R_HOOKLOG
	for check in "${CHECKS_ALL[@]}"; do bv[$check]=$(outputs "$check" "$R_OUT" "$R_ERR" "$R_RC"); done
	# environment and state: of the hooks both runtimes ran, by name (which ran, and in which
	# order, is the hooks check)
	for check in hookenv hookstate; do
		rv[$check]=$(common_hooks "${rv[$check]}" "${bv[$check]}")
		bv[$check]=$(common_hooks "${bv[$check]}" "${rv[$check]}")
	done
	if [ "${rv[result]}" = fail ]; then NOTES+=("$label: runc failed (exit $rr): $(cat "$re" "$ro" | head -c 300 | tr '\n' ' ')"); fi
	if [ "${bv[result]}" = fail ]; then NOTES+=("$label: berth failed (exit $R_RC): $(cat "$R_ERR" "$R_OUT" | head -c 300 | tr '\n' ' ')"); fi
	field=""
	if [ "${bv[result]}" = fail ]; then
		# (with a terminal, berth's stderr is the terminal: the message is in the output file)
		if grep -qE '(ociVersion|process|root|mounts|hooks|linux|annotations|hostname|domainname)(\.[A-Za-z]|\[[0-9])' "$R_ERR" "$R_OUT"; then
			field=" (names a field)"
		else
			field=" (NO field named)"
			# a failure must say which field: one that does not differs even where runc fails too
			bv[result]=fail-no-field
		fi
	fi
	for check in "${CHECKS_ALL[@]}"; do
		[[ "$HOOK_CHECKS" == *" $check "* ]] && [ -z "$variant" ] && continue
		# after a failure only the result and the exit status mean something
		if [ "$check" != result ] && [ "$check" != exit ] && [[ "$HOOK_CHECKS" != *" $check "* ]] && { [[ "${rv[result]}" == fail* ]] || [[ "${bv[result]}" == fail* ]]; }; then
			continue
		fi
		CHECKS=$((CHECKS + 1))
		a=${rv[$check]} b=${bv[$check]}
		local -a edits=()
		mapfile -t edits < <(line_edits "$check" "$label")
		if [ "$a" = "$b" ]; then
			cell=same
		elif [ ${#edits[@]} -gt 0 ] && [ "$(edited "$check" "$a" "${edits[@]}")" = "$(edited "$check" "$b" "${edits[@]}")" ]; then
			cell=deliberate
			local e
			for e in "${edits[@]}"; do DELIB_USED+="$check~$e: "; done
			DIFFS+=("--- $label / $check: deliberate (only in lines deliberate.txt lists for '$check')")
		elif deliberate "$check" "$label"; then
			cell=deliberate
			DIFFS+=("--- $label / $check: deliberate ($DELIB_REASON)")
		else
			cell=DIFF
			SEEN_FAIL=1
			fail "$label / $check: berth differs from runc"
			DIFFS+=("--- $label / $check: runc (-) vs berth (+)$([ "$check" = result ] && printf '\n    runc stderr:  %s\n    berth stderr: %s' "$(cat "$re" "$ro" | head -c 300 | tr '\n' ' ')" "$(cat "$R_ERR" "$R_OUT" | head -c 300 | tr '\n' ' ')")
$(diff -U2 <(printf '%s\n' "$a") <(printf '%s\n' "$b") | tail -n +3 | grep -v '^@@' | head -n 40)")
		fi
		local bcell
		bcell=$(short "$b")
		[ "$check" = result ] && bcell+=$field
		TABLE+=("$(printf '%-28s %-10s %-16s %-34s %s' "$label" "$check" "$(short "$a")" "$bcell" "$cell")")
	done
}

# ---------------------------------------------------------------- main

LIMITS=$(limits_json)
[ -r "$DELIBERATE" ] || die "$DELIBERATE is missing"
mapfile -t labels < <(for f in "$FIXTURES"/*.json; do basename "$f" .json; done)
labels+=(runc-spec+ok runc-spec+fail podman-run+ok podman-run+fail)
info "runc $(runc --version | head -n1 | awk '{print $3}') vs $("$BERTH" --version 2>/dev/null | head -n1); ${#labels[@]} configs"
for l in "${labels[@]}"; do
	if [ -n "${BERTH_COMPAT_ONLY:-}" ] && ! [[ "$l" =~ $BERTH_COMPAT_ONLY ]]; then continue; fi
	compare "$l"
done

# The table also goes to BERTH_COMPAT_REPORT_DIR (ctest sets it), for tests/run-all.sh to print.
report=${BERTH_COMPAT_REPORT_DIR:-$TEST_TMP}/run-table.txt
mkdir -p "${report%/*}"
{
	printf '%-28s %-10s %-16s %-34s %s\n' "config source" check runc berth verdict
	printf '%s\n' "${TABLE[@]}"
} >"$report"
echo
cat "$report"
if [ ${#NOTES[@]} -gt 0 ]; then
	printf '\nfailures (either runtime):\n'
	printf '  %s\n' "${NOTES[@]}"
fi
if [ ${#DIFFS[@]} -gt 0 ]; then
	printf '\ndifferences:\n'
	printf '%s\n' "${DIFFS[@]}"
fi
# An entry of deliberate.txt that matched nothing is stale: say so (not a failure: a fixed
# difference must not break the test, but the list should shrink with it).
while read -r check fix _; do
	case "$check" in '' | '#'*) continue ;; esac
	if [[ "$check" == *~* ]]; then
		[[ "$DELIB_USED" == *"$check:"* ]] || info "deliberate.txt: '$check' matched no difference (stale?)"
	elif [[ "$DELIB_USED" != *" $check:$fix "* ]]; then info "deliberate.txt: '$check $fix' matched no difference (stale?)"; fi
done <"$DELIBERATE"
[ "$SEEN_FAIL" -eq 0 ] && info "every difference from runc is listed in deliberate.txt"
finish
