#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# CVE-2019-5736 (issue 14 section 1), the startContainer hooks under noNewPrivileges (issue 13
# point 20) and the caller's descriptors in hooks (issue 14 section 6).
#
# The container init, an exec'd process and the hooks that run in the container are forks of berth
# until their exec. Were that exec the user's program itself, a container command that is a
# `#!/proc/self/exe` script (or args ["/proc/self/exe"]) would run the host's berth inside the
# container, and a container process could reopen that file for writing through /proc/<pid>/exe
# once berth has exited. Each attack below runs against a DECOY copy of berth, with a watcher
# (tests/helpers/exe_watch.c) in a container that sees the victim process; the decoy's sha256 must
# not change, and no process the watcher can open may have the decoy as its exe.
#   1. exec: `berth exec ID /evil.sh` and `berth exec ID /proc/self/exe`;
#   2. a shared pid namespace (a pod): B joins A's pid namespace by path, its command is the
#      shebang script (run) or /proc/self/exe (create + start), A's watcher attacks;
#   3. seccomp: a profile allowing execve but not execveat (errno default), and one with
#      SCMP_ACT_KILL as default, with and without noNewPrivileges;
#   4. noNewPrivileges: a startContainer hook runs under the container's filter (as with runc);
#   5. createContainer and startContainer hooks see only stdio of the caller's descriptors.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd sha256sum stat
cc=$(command -v cc || command -v gcc || command -v clang || true)
[ -n "$cc" ] || skip "no C compiler for the watcher (tests/helpers/exe_watch.c)"
WATCH=$TEST_TMP/exe-watch
"$cc" -static -O2 -o "$WATCH" "$BERTH_SRC/tests/helpers/exe_watch.c" 2>"$TEST_TMP/cc.err" ||
	skip "cannot build a static watcher: $(head -c 300 "$TEST_TMP/cc.err")"

REAL_BERTH=$BERTH
NDECOY=0
# new_decoy: a fresh copy of berth (and berth-ext) that the following calls run; sets DECOY_SUM,
# DECOY_DEV, DECOY_INO.
new_decoy() {
	NDECOY=$((NDECOY + 1))
	local d=$TEST_TMP/decoy$NDECOY
	mkdir -p "$d"
	cp "$REAL_BERTH" "$d/berth" || die "copy berth"
	if [ -e "$(dirname "$REAL_BERTH")/berth-ext" ]; then cp "$(dirname "$REAL_BERTH")/berth-ext" "$d/"; fi
	BERTH=$d/berth
	DECOY_SUM=$(sha256sum <"$BERTH")
	DECOY_DEV=$(stat -c %d "$BERTH")
	DECOY_INO=$(stat -c %i "$BERTH")
}

# A directory both containers of an attack mount at /shared: the fifo the attacked berth opens as
# its log (so that it waits for the watcher) is there.
SHARED=$TEST_TMP/shared
mkdir -p "$SHARED"

# evil_rootfs: the shebang script and the watcher in $BUNDLE/rootfs, /shared mounted.
evil_rootfs() {
	printf '#!/proc/self/exe --log=/shared/fifo\necho the script body ran\n' >"$BUNDLE/rootfs/evil.sh"
	chmod 755 "$BUNDLE/rootfs/evil.sh"
	cp "$WATCH" "$BUNDLE/rootfs/bin/exe-watch"
	cfg '.mounts += [{destination: "/shared", type: "bind", source: $d, options: ["rbind", "rw"]}]' \
		--arg d "$SHARED"
}

# start_watcher: create + start $ID (bundle $BUNDLE) running the watcher as its init; sets WPID,
# WROOT (its rootfs) and WLOG.
start_watcher() {
	evil_rootfs
	rm -f "$SHARED/fifo"
	mkfifo "$SHARED/fifo"
	cfg_args sh -c "exec /bin/exe-watch $DECOY_DEV $DECOY_INO /go 30000 /shared/fifo >/watch.log 2>&1"
	b create --bundle "$BUNDLE" --pid-file "$TEST_TMP/$ID.pid" "$ID"
	assert_ok "create the watcher container"
	b start "$ID"
	assert_ok "start the watcher container"
	WPID=$(cat "$TEST_TMP/$ID.pid")
	WROOT=$BUNDLE/rootfs
	WLOG=$WROOT/watch.log
	wait_file "$WLOG" 10 || true
}

# finish_watcher DESC: tell the watcher the decoy has exited, wait for its verdict, and assert.
finish_watcher() {
	local desc=$1 log i
	touch "$WROOT/go"
	for i in $(seq 100); do
		grep -q watch-done "$WLOG" 2>/dev/null && break
		sleep 0.1
	done
	log=$(cat "$WLOG" 2>/dev/null)
	info "$desc: watcher: $(grep -v '^SAW-EXE' <<<"$log" | tr '\n' ' ') $(grep -c '^SAW-EXE' <<<"$log") other exe seen"
	assert_contains "$desc: the watcher ran to the end" "$log" watch-done
	assert_not_contains "$desc: no process the container sees has the decoy berth as an openable exe" "$log" GOT-DECOY
	assert_not_contains "$desc: the decoy was not written" "$log" WROTE-DECOY
	assert_not_contains "$desc: no writable memfd exe" "$log" WROTE-MEMFD
	assert_eq "$desc: the decoy berth is unchanged (sha256)" "$DECOY_SUM" "$(sha256sum <"$BERTH")"
}

MISUSE='berth-trampoline: this program only starts container processes for berth'

# ================================================================ 1. berth exec
case_exec() {
	local what
	for what in /evil.sh /proc/self/exe; do
		info "case 1: berth exec ID $what"
		new_decoy
		container exe
		start_watcher
		if [ "$what" = /evil.sh ]; then
			b exec "$ID" /evil.sh
		else
			b exec "$ID" /proc/self/exe --log /shared/fifo state x
		fi
		assert_failed "exec $what fails"
		assert_contains "exec $what: only the trampoline ran, and refused" "$ERR" "$MISUSE"
		finish_watcher "exec $what"
		b delete --force "$ID"
	done
}

# ================================================================ 2. a shared pid namespace
case_shared_pid() {
	local how A
	for how in run:/evil.sh create:/proc/self/exe create:/evil.sh run:/proc/self/exe; do
		info "case 2: a pod: B joins A's pid namespace, B's command is ${how#*:} (${how%%:*})"
		new_decoy
		container poda
		A=$ID
		start_watcher
		container podb
		evil_rootfs
		cfg 'del(.hostname) | .linux.namespaces = [{type: "pid", path: "/proc/\($p)/ns/pid"},
			{type: "mount"}, {type: "ipc"}, {type: "network"}]' --arg p "$WPID"
		if [ "${how#*:}" = /evil.sh ]; then
			cfg_args /evil.sh
		else
			cfg_args /proc/self/exe --log /shared/fifo state x
		fi
		if [ "${how%%:*}" = run ]; then
			b run --bundle "$BUNDLE" "$ID"
			assert_failed "pod $how: B's command fails"
			assert_contains "pod $how: only the trampoline ran, and refused" "$ERR" "$MISUSE"
		else
			b create --bundle "$BUNDLE" "$ID"
			local out_file=$ERR_FILE
			assert_ok "pod $how: create B"
			b start "$ID"
			assert_ok "pod $how: start B"
			wait_status "$ID" stopped 20
			assert_contains "pod $how: only the trampoline ran, and refused" "$(cat "$out_file")" "$MISUSE"
		fi
		b delete --force "$ID"
		finish_watcher "pod $how"
		b delete --force "$A"
	done
}

# ================================================================ 3. seccomp profiles
# Enough for busybox's sh and cat; execveat, memfd_create and fcntl are NOT in it.
MINIMAL='["execve","exit","exit_group","brk","arch_prctl","set_tid_address","set_robust_list","rseq",
	"prlimit64","mmap","munmap","mprotect","read","write","writev","openat","open","close","fstat",
	"newfstatat","lseek","ioctl","getpid","getppid","getuid","geteuid","getgid","getegid","rt_sigaction",
	"rt_sigprocmask","rt_sigreturn","uname","readlink","readlinkat","getcwd","wait4","clone","vfork",
	"fork","getdents64","stat","lstat","access","faccessat","faccessat2","dup2","dup3","pipe","pipe2",
	"sendmsg","close_range","statx","getrandom","prctl"]'
# What berth's init does after the filter when there is no noNewPrivileges (it is loaded before the
# identity change, as with runc): still no execveat.
RUNTIME_EXTRA='["umask","setgroups","setresuid","setresgid","setuid","setgid","capget","capset","prctl","getrandom"]'

case_seccomp() {
	local def nnp extra
	for def in SCMP_ACT_ERRNO SCMP_ACT_KILL; do
		for nnp in true false; do
			info "case 3: seccomp default $def, allow list without execveat, noNewPrivileges $nnp"
			container sc
			extra='[]'
			if [ "$nnp" = false ]; then extra=$RUNTIME_EXTRA; fi
			cfg '.process.noNewPrivileges = $nnp | .linux.seccomp = {defaultAction: $dflt,
				architectures: ["SCMP_ARCH_X86_64"],
				syscalls: [{names: ($min + $extra), action: "SCMP_ACT_ALLOW"}]}' \
				--argjson nnp "$nnp" --arg dflt "$def" --argjson min "$MINIMAL" --argjson extra "$extra"
			cfg_args sh -c 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; echo ran-filtered'
			b run --bundle "$BUNDLE" "$ID"
			assert_ok "default $def, nnp $nnp: the process runs"
			assert_contains "default $def, nnp $nnp: under the filter" "$OUT" "Seccomp:	2"
			assert_contains "default $def, nnp $nnp: to the end" "$OUT" ran-filtered
		done
	done
}

# ================================================================ 4 + 5. hooks in the container
HOOKDIR=$TEST_TMP/hooks
mkdir -p "$HOOKDIR"
# A hook that records its seccomp mode, whether mkdir is refused, and its descriptors.
cat >"$HOOKDIR/probe.sh" <<EOF
#!/bin/sh
out=$HOOKDIR/\$1.out
{
	grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
	if mkdir $HOOKDIR/\$1.dir 2>/dev/null; then echo MKDIR-ALLOWED; else echo MKDIR-DENIED; fi
	echo "FDS=\$(ls /proc/self/fd | sort -n | tr '\n' ' ')"
	cat <&7 2>/dev/null && echo READ-FD7
	echo hook-done
} >"\$out" 2>&1
EOF
chmod 755 "$HOOKDIR/probe.sh"

hook_bundle() {
	cfg '.hooks = {createContainer: [{path: $p, args: ["probe.sh", "create"]}],
		startContainer: [{path: $p, args: ["probe.sh", "start"]}]}
		| .mounts += [{destination: $dir, type: "bind", source: $dir, options: ["rbind", "rw"]}]' \
		--arg p "$HOOKDIR/probe.sh" --arg dir "$HOOKDIR"
}

case_hooks() {
	info "case 4: noNewPrivileges: a startContainer hook runs under the filter (mkdir denied)"
	container hk
	hook_bundle
	cfg '.process.noNewPrivileges = true | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
		syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
	cfg_args sh -c 'if mkdir /x 2>/dev/null; then echo PROC-MKDIR-ALLOWED; else echo PROC-MKDIR-DENIED; fi'
	rm -rf "$HOOKDIR"/*.out "$HOOKDIR"/*.dir
	b run --bundle "$BUNDLE" "$ID"
	assert_ok "run with a filter and startContainer hooks"
	assert_contains "the process is filtered" "$OUT" PROC-MKDIR-DENIED
	local start
	start=$(cat "$HOOKDIR/start.out" 2>&1)
	assert_contains "the startContainer hook ran" "$start" hook-done
	assert_contains "the startContainer hook runs filtered (Seccomp: 2)" "$start" "Seccomp:	2"
	assert_contains "the startContainer hook cannot mkdir" "$start" MKDIR-DENIED
	assert_contains "the startContainer hook has no_new_privs" "$start" "NoNewPrivs:	1"

	local k out mode
	for mode in unfiltered filtered; do
		info "case 5: hooks in the container see none of the caller's descriptors ($mode init)"
		container hkfd
		hook_bundle
		if [ $mode = filtered ]; then
			# no noNewPrivileges: the init loads the filter before the hooks and holds exec.fifo
			# open for its exec, which no hook may inherit
			cfg '.process.noNewPrivileges = false | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
				syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
		fi
		cfg_args true
		rm -rf "$HOOKDIR"/*.out "$HOOKDIR"/*.dir
		echo SECRET-HOST-FD >"$TEST_TMP/secret"
		exec 7<"$TEST_TMP/secret" 8>>"$TEST_TMP/canary"
		b run --bundle "$BUNDLE" "$ID"
		exec 7<&- 8>&-
		assert_ok "run with fds 7 and 8 open ($mode)"
		for k in create start; do
			out=$(cat "$HOOKDIR/$k.out" 2>&1)
			assert_contains "$k hook ran ($mode)" "$out" hook-done
			# 0 (the state), 1, 2, and 3 for ls's own directory
			assert_eq "${k}Container hook: only stdio ($mode)" "0 1 2 3" \
				"$(sed -n 's/^FDS=//p' <<<"$out" | sed 's/ *$//')"
			assert_not_contains "${k}Container hook cannot read the caller's fd 7 ($mode)" "$out" READ-FD7
		done
		if [ $mode = filtered ]; then
			assert_contains "the startContainer hook ran under the init's filter" \
				"$(cat "$HOOKDIR/start.out")" MKDIR-DENIED
		fi
		b delete --force "$ID"
	done
}

case_exec
case_shared_pid
BERTH=$REAL_BERTH
case_seccomp
case_hooks
finish
