#!/bin/bash
# tests/run-all.sh: the whole test suite, as root on Debian 12 (the README's test command; .ci/run
# calls it). Steps:
#   1. install dependencies (scripts/install-deps.sh; skip with BERTH_SKIP_DEPS=1)
#   2. lint: clang-format --dry-run --Werror on every .c/.h, shellcheck on every shell script
#   3. build/ (RelWithDebInfo, -Werror) and ctest: every layer the machine supports; then the
#      packagers' builds (Release with gcc -O2 and clang -O2, _FORTIFY_SOURCE=3, -Werror), built only
#   4. build-asan/ (-DBERTH_SANITIZE=ON) and ctest of the unit and integration layers, with
#      leak detection; any sanitizer report fails the run
#   5. valgrind memcheck of every unit test binary of build/; any report fails the run
#   6. fuzz: tests/fuzz/run.sh builds the libFuzzer targets with clang (build-fuzz/) and runs each
#      for BERTH_FUZZ_SECONDS (default 20); any crash fails the run
# Prints one summary line and exits non-zero if any step failed.
# BERTH_SKIP_ASAN=1, BERTH_SKIP_VALGRIND=1, BERTH_SKIP_FUZZ=1 skip steps 4, 5, 6 (for a quick local
# run; CI never sets them).
# BERTH_CTEST_ARGS adds arguments to both ctest runs (e.g. "-R lifecycle").
# Under CI=true a skipped test is a failure: every layer can run on the CI machine (it installs
# what each needs in step 1), so a skip there means a layer silently did not run.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
start_time=$SECONDS
results=()
failed=0

if [ "$(id -u)" -ne 0 ]; then
	echo "run-all: the integration tests need root: sudo $0" >&2
	exit 1
fi

step_t0=$SECONDS
step() {
	printf '\n======== %s\n' "$*"
	step_t0=$SECONDS
}

# record NAME STATUS [DETAIL]: the result of the step begun last, with its time.
record() {
	local name=$1 status=$2 detail=${3:-}
	detail="${detail:+$detail, }$((SECONDS - step_t0)) s"
	if [ "$status" -eq 0 ]; then
		results+=("$name: ok${detail:+ ($detail)}")
	else
		results+=("$name: FAILED${detail:+ ($detail)}")
		failed=1
	fi
}

# A rootfs cache shared by all integration tests of this run (built once by the first test).
BERTH_TEST_CACHE=$(mktemp -d /tmp/berth-test-cache.XXXXXX)
export BERTH_TEST_CACHE
asan_logs=$(mktemp -d /tmp/berth-asan.XXXXXX)
chmod 0755 "$BERTH_TEST_CACHE"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	# Each test removes its own /berth-test/<id> cgroups. The shared, empty /berth-test parent
	# stays: another test run on the same machine may be creating a cgroup below it right now.
	rm -rf --one-file-system "$BERTH_TEST_CACHE" "$asan_logs"
}
trap cleanup EXIT

# ---------------------------------------------------------------- 1. dependencies
if [ -z "${BERTH_SKIP_DEPS:-}" ]; then
	step "dependencies"
	scripts/install-deps.sh
	record deps $?
fi

# ---------------------------------------------------------------- 2. lint
step "clang-format"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t sources < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
else
	mapfile -t sources < <(find . -path './build*' -prune -o \( -name '*.c' -o -name '*.h' \) -print)
fi
if [ ${#sources[@]} -gt 0 ]; then
	clang-format --dry-run --Werror "${sources[@]}"
	record clang-format $? "${#sources[@]} files"
else
	record clang-format 0 "no sources"
fi

step "shellcheck"
mapfile -t scripts < <(ls scripts/*.sh tests/run-all.sh tests/integration/*.sh tests/compat/*.sh bench/*.sh tests/vm/*.sh .ci/run 2>/dev/null)
# a dozen scripts per shellcheck, one shellcheck per core
printf '%s\0' "${scripts[@]}" | xargs -0 -n 12 -P "$jobs" shellcheck -x
record shellcheck $? "${#scripts[@]} scripts"

# ---------------------------------------------------------------- 3. normal build + every layer
# ctest_step NAME BUILD-DIR [CTEST-ARGS...]: run ctest, record pass/fail/skip counts.
ctest_step() {
	local name=$1 dir=$2 log rc total passed failed_n skipped
	shift 2
	log=$dir/run-all-ctest.log
	# shellcheck disable=SC2086
	ctest --test-dir "$dir" --output-on-failure --timeout 600 -j "$jobs" "$@" ${BERTH_CTEST_ARGS:-} 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	total=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#' "$log")
	passed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#.* Passed ' "$log")
	skipped=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#.*\*\*\*Skipped' "$log")
	failed_n=$((total - passed - skipped))
	if [ "$total" -eq 0 ]; then
		rc=1
	fi
	if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
		echo "run-all: CI=true and $skipped test(s) skipped: a layer this machine can run did not run" >&2
		rc=1
	fi
	# A skipped test is not a pass: name each one, so a layer that could not run is seen.
	local skipped_names
	skipped_names=$(grep -E '^ *[0-9]+/[0-9]+ Test +#.*\*\*\*Skipped' "$log" | sed -E 's/.*Test +#[0-9]+: ([^ ]+).*/\1/' | xargs)
	record "$name" "$rc" "$passed passed, $failed_n failed, $skipped skipped${skipped_names:+: $skipped_names}"
}

step "build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_WERROR=ON &&
	cmake --build build -j "$jobs"
build_rc=$?
record build $build_rc
if [ $build_rc -eq 0 ]; then
	step "ctest (build/): all layers"
	rm -rf build/compat-report
	ctest_step tests build
	# The compat layer's tables (config source x check, podman flow: runc / berth), printed
	# whether it passed or not.
	for t in build/compat-report/run-table.txt build/compat-report/podman-table.txt; do
		if [ -s "$t" ]; then
			step "compat: $(basename "$t" .txt)"
			cat "$t"
		fi
	done
fi

# What a packager builds: Release, gcc and clang, hardened flags. Warnings fail here (-Werror) so
# that the default build, which does not use -Werror, stays warning-free for them.
for cc in gcc clang; do
	step "packager build (build-release-$cc/: Release, $cc, -O2 -D_FORTIFY_SOURCE=3)"
	CC=$cc cmake -S . -B "build-release-$cc" -DCMAKE_BUILD_TYPE=Release -DBERTH_WERROR=ON \
		-DCMAKE_C_FLAGS="-O2 -D_FORTIFY_SOURCE=3" >/dev/null &&
		cmake --build "build-release-$cc" -j "$jobs" >"build-release-$cc/build.log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || tail -n 40 "build-release-$cc/build.log"
	record "build-release-$cc" $rc
done

# ---------------------------------------------------------------- 4. sanitizer build
if [ -z "${BERTH_SKIP_ASAN:-}" ]; then
	step "build (build-asan/, AddressSanitizer + UndefinedBehaviorSanitizer)"
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON -DBERTH_WERROR=ON &&
		cmake --build build-asan -j "$jobs"
	asan_rc=$?
	record build-asan $asan_rc
	if [ $asan_rc -eq 0 ]; then
		step "ctest (build-asan/): unit + integration"
		# Reports go to files as well as failing the process: a report from a process whose stderr
		# nobody reads (a container's init before exec, a hook runner) must still fail the run.
		# The container's init execs, and exec does not run the leak check; berth itself does.
		export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:log_path=$asan_logs/asan"
		export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$asan_logs/ubsan"
		export LSAN_OPTIONS="log_path=$asan_logs/lsan"
		ctest_step tests-asan build-asan -L '^(unit|integration)$'
		unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
		step_t0=$SECONDS # the reports' own line: no time of their own
		reports=$(find "$asan_logs" -type f | sort)
		if [ -n "$reports" ]; then
			step "sanitizer reports"
			for r in $reports; do
				printf -- '---- %s\n' "$r"
				head -n 80 "$r"
			done
			record sanitizer-reports 1 "$(wc -l <<<"$reports") report files"
		else
			record sanitizer-reports 0 "none"
		fi
	fi
fi

# ---------------------------------------------------------------- 5. valgrind memcheck
# Unit tests valgrind 3.19 (Debian 12) cannot run, because berth needs syscalls it does not
# implement (they fail with ENOSYS under it): test_seccomp (seccomp(2): libseccomp falls back and the
# filters cannot load), test_rootfs (open_tree/move_mount, the new mount API), test_checkpoint_archive
# and test_migrate_upper (openat2); and three that check what valgrind changes: test_trampoline (it
# execs a memfd, which valgrind cannot run), test_resolve (it reads /proc/self/comm through a magic
# link: under valgrind that is memcheck's name) and test_ptyrelay (a stopped process must change
# state within 5 s). They run under ASan in step 4.
valgrind_skip=" test_seccomp test_rootfs test_checkpoint_archive test_migrate_upper test_trampoline test_resolve test_ptyrelay "
if [ -z "${BERTH_SKIP_VALGRIND:-}" ] && [ $build_rc -eq 0 ]; then
	step "valgrind memcheck: unit tests of build/"
	vg_logs=$(mktemp -d /tmp/berth-valgrind.XXXXXX)
	# vg_one TEST: memcheck of build/tests/TEST; its verdict (clean, skipped, bad) in
	# $vg_logs/TEST.verdict, and for a bad one its report in $vg_logs/TEST.report.
	vg_one() {
		local t=$1 rc
		BERTH_TEST_DATA=$repo/tests/data valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite --trace-children=no --suppressions=tests/valgrind.supp \
			--log-file="$vg_logs/$t.%p.log" "build/tests/$t" >"$vg_logs/$t.out" 2>&1
		rc=$?
		# Forked children report into their own log files; only "==pid== " lines are reports.
		if [ "$rc" -eq 77 ]; then
			echo skipped >"$vg_logs/$t.verdict"
		elif [ "$rc" -ne 0 ] || cat "$vg_logs/$t".*.log 2>/dev/null | grep -q '^==[0-9]*== '; then
			{
				printf -- '---- %s: exit %d\n' "$t" "$rc"
				tail -n 20 "$vg_logs/$t.out"
				cat "$vg_logs/$t".*.log 2>/dev/null | grep '^==[0-9]*== ' | head -n 60
			} >"$vg_logs/$t.report"
			echo bad >"$vg_logs/$t.verdict"
		else
			echo clean >"$vg_logs/$t.verdict"
		fi
	}
	vg_tests=() vg_running=0
	for src in tests/unit/test_*.c; do
		t=$(basename "$src" .c)
		vg_tests+=("$t")
		if [[ "$valgrind_skip" == *" $t "* ]] || [ ! -x "build/tests/$t" ]; then
			echo skipped >"$vg_logs/$t.verdict"
			continue
		fi
		if [ "$vg_running" -ge "$jobs" ]; then
			wait -n
			vg_running=$((vg_running - 1))
		fi
		vg_one "$t" &
		vg_running=$((vg_running + 1))
	done
	wait
	vg_rc=0 vg_ran=0 vg_skipped=0 vg_bad=()
	for t in "${vg_tests[@]}"; do
		case "$(cat "$vg_logs/$t.verdict" 2>/dev/null)" in
		clean) vg_ran=$((vg_ran + 1)) ;;
		skipped) vg_skipped=$((vg_skipped + 1)) ;;
		*)
			cat "$vg_logs/$t.report" 2>/dev/null || printf -- '---- %s: no verdict\n' "$t"
			vg_bad+=("$t")
			vg_rc=1
			;;
		esac
	done
	record valgrind $vg_rc "$vg_ran clean, ${#vg_bad[@]} with reports${vg_bad[*]:+: ${vg_bad[*]}}, $vg_skipped skipped"
	rm -rf "$vg_logs"
fi

# ---------------------------------------------------------------- 6. fuzz
if [ -z "${BERTH_SKIP_FUZZ:-}" ]; then
	step "fuzz (build-fuzz/, libFuzzer + ASan + UBSan)"
	tests/fuzz/run.sh "${BERTH_FUZZ_SECONDS:-20}"
	record fuzz $? "${BERTH_FUZZ_SECONDS:-20}s per target"
fi

# ---------------------------------------------------------------- summary
elapsed=$((SECONDS - start_time))
step "summary"
printf '  %s\n' "${results[@]}"
if [ $failed -eq 0 ]; then
	printf 'run-all: PASSED in %dm%02ds: %s\n' $((elapsed / 60)) $((elapsed % 60)) "$(IFS=';'; echo "${results[*]}")"
else
	printf 'run-all: FAILED in %dm%02ds: %s\n' $((elapsed / 60)) $((elapsed % 60)) "$(IFS=';'; echo "${results[*]}")"
fi
exit $failed
