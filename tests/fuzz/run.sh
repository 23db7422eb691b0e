#!/bin/bash
# tests/fuzz/run.sh [SECONDS]: build the libFuzzer targets with clang in build-fuzz/ and run each
# for SECONDS (default 20) from its seed corpus (tests/fuzz/corpus/<target>/) with ASan+UBSan.
# Exits non-zero when the build fails or any target crashes, leaks, times out on one input or
# breaks an invariant; the input that did it is left in build-fuzz/fuzz-artifacts/<target>/.
# New corpus entries go to build-fuzz/fuzz-corpus/<target>/ (the committed seeds are not touched).
# Environment: BERTH_FUZZ_BUILD (default <repo>/build-fuzz), BERTH_FUZZ_TARGETS (a subset, by name).
# The targets run as many at a time as there are cores.
set -uo pipefail

secs=${1:-20}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BERTH_FUZZ_BUILD:-$repo/build-fuzz}
jobs=$(nproc 2>/dev/null || echo 2)
read -r -a targets <<<"${BERTH_FUZZ_TARGETS:-fuzz_config fuzz_process fuzz_record fuzz_resources fuzz_seccomp fuzz_unpack fuzz_archive fuzz_netlink}"

case "$secs" in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac
if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: clang is not installed (scripts/install-deps.sh)" >&2
	exit 1
fi

echo "fuzz: building ${targets[*]} in $build"
# The normal -Werror build is the gcc one; clang may warn differently, which must not stop fuzzing.
# The shared libraries, not their archives: LeakSanitizer suppressions name libseccomp.so.
mkdir -p "$build"
if ! cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DBERTH_FUZZ=ON -DBERTH_WERROR=OFF -DBERTH_STATIC_DEPS=OFF -DBERTH_STATIC=OFF \
	>"$build/fuzz-configure.log" 2>&1; then
	cat "$build/fuzz-configure.log" >&2
	echo "fuzz: cmake configure failed" >&2
	exit 1
fi
if ! cmake --build "$build" -j "$jobs" --target "${targets[@]}"; then
	echo "fuzz: build failed" >&2
	exit 1
fi

# Documents larger than these are not interesting (the parsers bound entries and depth anyway)
# and slow every run down; the seccomp seeds include Docker's default profile (~15 KB).
# The tar targets (seeds from make-tar-corpus.sh) get room for a few entries.
max_len() {
	case "$1" in
	fuzz_seccomp | fuzz_config) echo 32768 ;;
	fuzz_unpack | fuzz_archive) echo 16384 ;; # tars: 512-byte blocks
	*) echo 8192 ;;
	esac
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$repo/tests/fuzz/lsan.supp:print_suppressions=0"
# fuzz_one TARGET: run it; its one-line result (and, on a failure, its log's end) in
# $build/fuzz-TARGET.result; exit status 1 on a failure.
fuzz_one() {
	local t=$1 seeds corpus artifacts log rc execs rate cov
	seeds=$repo/tests/fuzz/corpus/${t#fuzz_}
	corpus=$build/fuzz-corpus/$t
	artifacts=$build/fuzz-artifacts/$t
	log=$build/fuzz-$t.log
	mkdir -p "$corpus" "$artifacts"
	"$build/tests/fuzz/$t" -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$log")
	rate=$(awk '/stat::average_exec_per_sec/ { print $NF }' "$log")
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
	if [ $rc -ne 0 ]; then
		{
			echo "$t: FAILED"
			echo "fuzz: $t FAILED (exit $rc); the end of its log ($log):"
			tail -n 60 "$log"
			ls -l "$artifacts"
		} >"$build/fuzz-$t.result"
		return 1
	fi
	echo "$t: ${execs:-?} execs, ${rate:-?}/s, ${cov:-cov: ?}" >"$build/fuzz-$t.result"
}

# One target per core at a time (each is one process): the same time per target, less in all.
running=0
for t in "${targets[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	echo "fuzz: $t for ${secs}s (seeds: $repo/tests/fuzz/corpus/${t#fuzz_})"
	rm -f "$build/fuzz-$t.result"
	fuzz_one "$t" &
	running=$((running + 1))
done
wait
failed=()
summary=()
for t in "${targets[@]}"; do
	if [ ! -s "$build/fuzz-$t.result" ]; then
		summary+=("$t: FAILED (no result)")
		failed+=("$t")
	elif [ "$(head -n 1 "$build/fuzz-$t.result")" = "$t: FAILED" ]; then
		tail -n +2 "$build/fuzz-$t.result" >&2
		summary+=("$t: FAILED")
		failed+=("$t")
	else
		summary+=("$(cat "$build/fuzz-$t.result")")
	fi
done

printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${secs}s without a finding"
