#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# A real distribution rootfs: Alpine's minirootfs from the shared folder (skipped when absent).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$(alpine_tarball)" ] || skip "no Alpine tarball at $BERTH_SHARED/images/alpine-minirootfs-3.20.3-x86_64.tar.gz"
require_cmd tar

container alpine alpine
run_sh "$ID" 'cat /etc/alpine-release; . /etc/os-release; echo "os=$ID"; ls /lib/ld-musl-x86_64.so.1 && echo musl=ok; id'
assert_ok "run in an Alpine rootfs"
assert_eq "alpine-release" 3.20.3 "$(head -n 1 <<<"$OUT")"
assert_contains "os-release" "$OUT" "os=alpine"
assert_contains "the musl dynamic loader works (busybox is dynamic on Alpine)" "$OUT" "musl=ok"
assert_contains "id resolves names from the image's /etc/passwd" "$OUT" "uid=0(root) gid=0(root)"

# a non-root user from the image
container alpine-nobody alpine
cfg '.process.user = {uid: 65534, gid: 65534}'
run_sh "$ID" 'id; touch /root/x 2>/dev/null && echo "root-write=ok" || echo "root-write=denied"'
assert_ok "run as nobody"
assert_contains "id as nobody" "$OUT" "uid=65534(nobody)"
assert_contains "nobody cannot write /root" "$OUT" "root-write=denied"

assert_no_leftovers "after the Alpine runs" "$ID"

finish
