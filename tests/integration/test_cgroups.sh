#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# cgroups: with linux.cgroupsPath /berth-test/<id>, the init is in that cgroup in the unified
# hierarchy and in every v1 controller hierarchy of this (hybrid) host; after delete the
# directories are gone; nested and invalid cgroupsPath values.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# v1 controller hierarchies the host has (from our own /proc/self/cgroup): "memory", "pids", ...
v1_controllers=$(awk -F: '$1 != 0 && $2 != "" && $2 !~ /^name=/ { print $2 }' /proc/self/cgroup | sort)
has_unified=""
if grep -q '^0::' /proc/self/cgroup; then has_unified=1; fi
[ -n "$has_unified" ] || [ -n "$v1_controllers" ] || skip "no cgroup hierarchy found"
info "v1 hierarchies: $(echo "$v1_controllers" | xargs); unified: ${has_unified:-no}"

container cg
cfg_args sleep 600
b run -d --bundle "$BUNDLE" --pid-file "$TEST_TMP/cg.pid" "$ID"
assert_ok "run -d"
[ "$RC" -eq 0 ] || die "run -d failed"
pid=$(cat "$TEST_TMP/cg.pid")
track_pid "$pid"
path=/berth-test/$ID
cg=$(cat "/proc/$pid/cgroup")
info "the init's /proc/$pid/cgroup:"$'\n'"$cg"

if [ -n "$has_unified" ]; then
	assert_eq "unified hierarchy: 0::$path" "0::$path" "$(grep '^0::' <<<"$cg")"
	unified_dir=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)$path
	assert_true "unified directory $unified_dir exists" test -d "$unified_dir"
	assert_eq "the init is listed in $unified_dir/cgroup.procs" "$pid" "$(cat "$unified_dir/cgroup.procs" 2>&1)"
fi
for ctrl in $v1_controllers; do
	line=$(awk -F: -v c="$ctrl" '$2 == c { print $3 }' <<<"$cg")
	assert_eq "v1 hierarchy $ctrl: $path" "$path" "$line"
	dir=""
	while read -r m; do
		case ",$(basename "$m")," in *",${ctrl%%,*},"*) dir=$m$path ;; esac
	done < <(awk '$3 == "cgroup" { print $2 }' /proc/self/mounts)
	if [ -n "$dir" ]; then
		assert_true "v1 $ctrl: the init is in $dir/cgroup.procs" grep -qx "$pid" "$dir/cgroup.procs"
	fi
done

# the container's processes, not the caller's, are in the cgroup
assert_eq "the test shell is not in the container's cgroup" "" "$(grep -F "$path" /proc/$$/cgroup)"

b kill "$ID" KILL
wait_status "$ID" stopped 10
dirs_before=$(cgroup_dirs "$ID")
b delete "$ID"
assert_ok "delete"
assert_ne "there were cgroup directories to remove" "" "$dirs_before"
assert_eq "no /berth-test/$ID directory remains in any hierarchy" "" "$(cgroup_dirs "$ID")"
assert_no_leftovers "after delete" "$ID"

# ---- a nested cgroupsPath: the leaf the caller named is removed after run
new_id nested
bundle_new "$ID"
cfg '.linux.cgroupsPath = $p' --arg p "/berth-test/$ID/inner"
cfg_args sh -c 'cat /proc/self/cgroup'
b run --bundle "$BUNDLE" "$ID"
assert_ok "run with a nested cgroupsPath"
assert_contains "nested: the container saw its cgroup namespace root" "$OUT" "0::/"
assert_eq "nested: the leaf is removed after run" "" "$(cgroup_dirs "$ID/inner")"

# ---- an invalid cgroupsPath is refused and names the field. (Were ".." followed, the cgroup
# would be /berth-test/<id>-escape: still ours, and removed by the cleanup.)
new_id badpath
bundle_new "$ID"
IDS+=("$ID-escape")
cfg '.linux.cgroupsPath = $p' --arg p "/berth-test/$ID/../$ID-escape"
b run --bundle "$BUNDLE" "$ID"
assert_failed "run with '..' in cgroupsPath fails"
assert_contains "the error names linux.cgroupsPath" "$ERR" "cgroupsPath"
assert_eq "no cgroup made through '..'" "" "$(cgroup_dirs "$ID-escape")"
assert_no_leftovers "after a bad cgroupsPath" "$ID"

# ---- a v1 cpuset parent made by another tool and left with empty cpuset.cpus/mems (the kernel
# then refuses every process below it with ENOSPC): create fills it in from its own parent.
cpuset_root=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuset(,|$)/ { print $2; exit }' /proc/self/mounts)
if [ -n "$cpuset_root" ]; then
	new_id cpusetparent
	bundle_new "$ID"
	IDS+=("$ID/inner")
	mkdir "$cpuset_root/berth-test/$ID"
	assert_eq "the parent made by hand has no cpus" "" "$(tr -d '\n' <"$cpuset_root/berth-test/$ID/cpuset.cpus")"
	cfg '.linux.cgroupsPath = $p' --arg p "/berth-test/$ID/inner"
	cfg_args cat /proc/self/cgroup
	b run --bundle "$BUNDLE" "$ID"
	assert_ok "run below an empty cpuset parent"
	assert_eq "the parent's cpus were filled from its own parent" \
		"$(cat "$cpuset_root/berth-test/cpuset.cpus")" "$(cat "$cpuset_root/berth-test/$ID/cpuset.cpus")"
fi

# ---- a cgroup that was once emptied through cgroup.kill is used again (as containerd or a pod
# manager may do): on some kernels (6.18) a child cloned into such a cgroup with CLONE_INTO_CGROUP
# is killed on entry; create and exec must still work, with their processes in that cgroup.
if [ -n "$has_unified" ]; then
	new_id killed
	bundle_new "$ID"
	unified_dir=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)/berth-test/$ID
	mkdir -p "$unified_dir"
	if [ -e "$unified_dir/cgroup.kill" ]; then
		echo 1 >"$unified_dir/cgroup.kill"
		cfg_args sleep 600
		b run -d --bundle "$BUNDLE" --pid-file "$TEST_TMP/killed.pid" "$ID"
		assert_ok "run -d into a cgroup that had cgroup.kill written"
		pid=$(cat "$TEST_TMP/killed.pid" 2>/dev/null)
		assert_eq "the init is in that cgroup" "$pid" "$(cat "$unified_dir/cgroup.procs" 2>&1)"
		b exec "$ID" sh -c 'echo exec-ran; cat /proc/self/cgroup'
		assert_ok "exec into it"
		assert_contains "the exec'd process ran" "$OUT" "exec-ran"
		assert_contains "the exec'd process was in the container's cgroup" "$OUT" "0::/"
		b delete --force "$ID"
		assert_ok "delete --force"
	else
		info "no cgroup.kill on this kernel: the killed-cgroup case does not apply"
	fi
fi

finish
