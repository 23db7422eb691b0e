#!/bin/bash
# bench/migrate-downtime.sh [MB...]: the downtime figures of live migration (issue 15), by hand:
# for each working set (default 64 and 256 MiB, dirtied at MIG_RATE KiB/s, default 256), two
# guests booted at once (tests/vm/run-vm-pair.sh) move one container each by stop-and-copy
# (checkpoint --export, copy over ssh, restore --import), by `berth migrate` (pre-copy) and by
# `berth migrate --lazy` (post-copy), and print downtime, total time and bytes of each. It is
# test_vm_migrate_live.sh's figures part alone: CI runs the whole test at 256 MiB, with the
# issue's target checked there. As root, after a build:
#   BERTH=build/cli/berth BERTH_VM_DIR=build/vm bash bench/migrate-downtime.sh 64 256
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -gt 0 ] || set -- 64 256
for mb in "$@"; do
	echo "== $mb MiB"
	# post-copy fetches every page through the page channel after the resume: give it time
	MIG_FIGURES_ONLY=1 MIG_MB=$mb MIG_VM_TIMEOUT=2400 MIG_CMD_TIMEOUT=2000 \
		bash "$here/../tests/vm/test_vm_migrate_live.sh" |
		grep -E '^(working set|stop-and-copy|pre-copy|post-copy)|^# pre-copy downtime|^(ok|FAIL): pre-copy downtime|exit [0-9]+;'
done
