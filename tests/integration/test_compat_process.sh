#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Compatibility with runc for the process and hook fields (issue 13, points 1-4, 12, 14, 21):
#   - `runc spec`'s own config runs (ambient capabilities without inheritable ones are skipped);
#   - unknown capability names are a warning, for create and for exec;
#   - hooks without `env` get the runtime's environment (runtime-namespace hooks) or the
#     container process's (createContainer/startContainer);
#   - a failing poststart or poststop hook is a warning and the hooks after it run;
#   - a command that is missing or not executable fails with runc's words (podman maps them to
#     exit statuses 127 and 126), for create and for exec;
#   - ociVersion must be a semantic version;
#   - a namespace listed twice with the same (or no) path is one namespace.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- 1. runc spec's default config
if command -v runc >/dev/null 2>&1; then
	container runcspec
	(cd "$BUNDLE" && rm -f config.json && runc spec) || die "runc spec failed"
	cfg '.process.terminal = false
		| .process.env += [$mark]
		| .linux.cgroupsPath = ("/berth-test/" + $id)' --arg id "$ID" --arg mark "$MARK"
	assert_eq "runc spec lists ambient capabilities" "3" "$(jq '.process.capabilities.ambient | length' "$BUNDLE/config.json")"
	assert_eq "runc spec lists no inheritable ones" "null" "$(jq -c '.process.capabilities.inheritable' "$BUNDLE/config.json")"
	run_sh "$ID" 'grep -E "^Cap(Eff|Amb)" /proc/self/status'
	assert_rc "runc spec's config runs" 0
	# CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10); no ambient one could be raised.
	assert_contains "its effective set" "$OUT" "CapEff:	0000000020000420"
	assert_contains "no ambient capability" "$OUT" "CapAmb:	0000000000000000"
	assert_no_leftovers "runc spec container" "$ID"
else
	[ "${CI:-}" = true ] && die "runc is not installed (scripts/install-deps.sh installs it)"
	info "runc not installed: the runc spec case is not run"
fi

# ---------------------------------------------------------------- 1b. ambient with inheritable
container ambient
cfg '.process.capabilities.inheritable = ["CAP_KILL"] | .process.capabilities.ambient = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]'
run_sh "$ID" 'grep "^CapAmb" /proc/self/status'
assert_rc "ambient capabilities with an inheritable one" 0
assert_contains "the raisable ambient capability is raised, the other skipped" "$OUT" "CapAmb:	0000000000000020"

# ---------------------------------------------------------------- 2. unknown capabilities
container unknowncap
cfg '.process.capabilities.bounding += ["CAP_UNKNOWN"] | .process.capabilities.effective += ["CAP_BRAND_NEW_2030"]'
run_sh "$ID" 'grep "^CapEff" /proc/self/status'
assert_rc "unknown capability names do not fail run" 0
assert_contains "the known ones apply" "$OUT" "CapEff:	0000000020000420"
assert_contains "a warning names the unknown one" "$ERR" 'CAP_UNKNOWN'
assert_contains "the warning names the field" "$ERR" 'process.capabilities.effective[3]'

container unknowncap-exec
cfg_args sleep 60
b run -d --bundle "$BUNDLE" "$ID"
assert_rc "a container for exec" 0
EXEC_ID=$ID EXEC_BUNDLE=$BUNDLE
jq '.process | .args = ["sh", "-c", "grep ^CapEff /proc/self/status"] | .capabilities.effective += ["CAP_UNKNOWN"]' \
	"$BUNDLE/config.json" >"$TEST_TMP/process-unknowncap.json"
b exec --process "$TEST_TMP/process-unknowncap.json" "$ID"
assert_rc "exec with an unknown capability name" 0
assert_contains "exec: the known capabilities apply" "$OUT" "CapEff:	0000000020000420"
assert_contains "exec: a warning names it" "$ERR" 'CAP_UNKNOWN'

# ---------------------------------------------------------------- 12. missing / non-executable command
# The words podman and Docker map: "no such file or directory" / "not found" -> 127,
# "permission denied" -> 126 (runc's texts).
touch "$EXEC_BUNDLE/rootfs/noexec"
for cmd in exec create; do
	for case in /nonexistent:"stat /nonexistent: no such file or directory" /noexec:"permission denied" \
		/etc:"permission denied" nosuchcmd:'executable file not found in $PATH'; do
		path=${case%%:*} words=${case#*:}
		if [ "$cmd" = create ]; then
			container "exec-$(basename "$path")"
			touch "$BUNDLE/rootfs/noexec"
			cfg '.process.args = [$p]' --arg p "$path"
			b create --bundle "$BUNDLE" "$ID"
		else
			jq --arg p "$path" '.process | .args = [$p]' "$EXEC_BUNDLE/config.json" >"$TEST_TMP/p.json"
			b exec --process "$TEST_TMP/p.json" "$EXEC_ID"
		fi
		assert_rc "$cmd of '$path' fails" 1
		assert_contains "$cmd of '$path': runc's words" "$ERR" "exec: \"$path\": $words"
		if [ "$cmd" = create ]; then assert_no_leftovers "failed create of '$path'" "$ID"; fi
	done
	if [ "$cmd" = exec ]; then
		b delete --force "$EXEC_ID"
		assert_rc "delete the exec container" 0
	fi
done

# ---------------------------------------------------------------- 3, 4. hooks
hookdir=$TEST_TMP/hooks
mkdir -p "$hookdir"
cat >"$hookdir/hook.sh" <<'SH'
#!/bin/sh
# hook.sh NAME DIR [EXIT]: record the environment, then exit with EXIT.
env | sort >"$2/$1.env"
exit "${3:-0}"
SH
chmod 0755 "$hookdir/hook.sh"
container hooks
# The hook directory at the same path inside the container, for the in-container hooks.
cfg '
	def h(n; code): {path: ($d + "/hook.sh"), args: ["hook.sh", n, $d, code]};
	.mounts += [{destination: $d, type: "bind", source: $d, options: ["rbind", "rw"]}]
	| .process.env += ["CONTAINER_ONLY=1"]
	| .hooks = {
		prestart: [h("prestart"; "0")],
		createRuntime: [h("createRuntime"; "0")],
		createContainer: [h("createContainer"; "0")],
		startContainer: [h("startContainer"; "0")],
		poststart: [h("poststart1"; "3"), h("poststart2"; "0")],
		poststop: [h("poststop1"; "4"), h("poststop2"; "0")]
	}' --arg d "$hookdir"
cfg_args true
cap env "RUNTIME_ONLY=1" "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
assert_rc "run with failing poststart and poststop hooks succeeds (spec: warn and go on)" 0
for h in prestart createRuntime poststart1 poststart2 poststop1 poststop2; do
	assert_true "$h hook ran" test -s "$hookdir/$h.env"
	assert_contains "$h hook without env gets the runtime's environment" "$(cat "$hookdir/$h.env" 2>/dev/null)" "RUNTIME_ONLY=1"
done
for h in createContainer startContainer; do
	assert_true "$h hook ran" test -s "$hookdir/$h.env"
	assert_contains "$h hook without env gets the container's environment" "$(cat "$hookdir/$h.env" 2>/dev/null)" "CONTAINER_ONLY=1"
	assert_not_contains "$h hook: not the runtime's" "$(cat "$hookdir/$h.env" 2>/dev/null)" "RUNTIME_ONLY=1"
done
assert_contains "a warning names the failing poststart hook" "$ERR" "poststart hook[0]"
assert_contains "a warning names the failing poststop hook" "$ERR" "poststop hook[0]"
assert_no_leftovers "hooks container" "$ID"

# ---------------------------------------------------------------- 14. ociVersion
container ociversion
cfg '.ociVersion = "invalid"'
b create --bundle "$BUNDLE" "$ID"
assert_rc "ociVersion \"invalid\" is refused" 1
assert_contains "the error names ociVersion" "$ERR" 'ociVersion: "invalid" is not a semantic version'
assert_no_leftovers "refused ociVersion" "$ID"
cfg '.ociVersion = "1.0.2-dev"'
run_sh "$ID" 'true'
assert_rc "ociVersion 1.0.2-dev (runc spec's) runs" 0

# ---------------------------------------------------------------- 21. duplicate namespaces
container dupns
cfg '.linux.namespaces += [{type: "cgroup"}, {type: "pid"}]'
run_sh "$ID" 'readlink /proc/self/ns/pid'
assert_rc "a namespace listed twice with no path runs" 0
assert_ne "in a pid namespace of its own" "$(readlink /proc/self/ns/pid)" "$OUT"
assert_contains "a warning says it was listed twice" "$ERR" 'is listed twice'
cfg '.linux.namespaces += [{type: "network", path: "/proc/1/ns/net"}]'
b create --bundle "$BUNDLE" "$ID"
assert_rc "the same namespace with a different path is refused" 1
assert_contains "the error names the namespace" "$ERR" 'duplicate namespace "network" with a different path'
assert_no_leftovers "refused duplicate namespace" "$ID"

finish
