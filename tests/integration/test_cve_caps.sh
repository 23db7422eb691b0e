#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: scripts for the container
# CVE-2022-29162 (runc) and CVE-2022-27650 (crun): `exec --cap` and the container's own process
# were given a non-empty inheritable capability set, so a program with inheritable file
# capabilities could gain them across execve. berth's processes have exactly the inheritable set
# the config lists: none in runc's default config, none added by `exec --cap`.
# (The other runc and crun CVEs are tested where their mechanism lives: see docs/security.md.)
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

capline() { awk -v f="$1:" '$1 == f { print $2 }' <<<"$OUT"; }

container inh
cfg_args sh -c 'grep ^Cap /proc/self/status; exec sleep 60'
b run -d --bundle "$BUNDLE" "$ID"
assert_rc "a container with runc's default capabilities" 0
wait_status "$ID" running || fail "the container runs"
b exec "$ID" sh -c 'grep ^Cap /proc/self/status'
assert_rc "exec" 0
assert_eq "exec'd process: no inheritable capability" 0000000000000000 "$(capline CapInh)"
b exec --cap CAP_NET_RAW --cap CAP_SYS_ADMIN "$ID" sh -c 'grep ^Cap /proc/self/status'
assert_rc "exec --cap" 0
assert_eq "exec --cap: still no inheritable capability (CVE-2022-29162)" 0000000000000000 "$(capline CapInh)"
assert_eq "exec --cap: no ambient capability" 0000000000000000 "$(capline CapAmb)"
# CAP_SYS_ADMIN is bit 21, CAP_NET_RAW bit 13, on top of runc's default 0x20000420.
assert_eq "exec --cap: the added capabilities are effective" 0000000020202420 "$(capline CapEff)"
b state "$ID"
pid=$(jq -r .pid <<<"$OUT")
assert_eq "the container's init: no inheritable capability" 0000000000000000 "$(status_field "$pid" CapInh)"
b delete --force "$ID"
assert_rc "delete" 0
assert_no_leftovers "inheritable capabilities" "$ID"

finish
