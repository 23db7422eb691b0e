#!/bin/bash
# shellcheck disable=SC2016 # single quotes on purpose: jq filters, scripts for the container
# Built-in networking: `berth network create/ls/inspect/rm`, containers joining a network through
# the annotations berth.network / berth.network.ip (a veth pair on the network's bridge, a leased
# address, a default route), and linux.netDevices moving a host interface in and back.
#
# The real host's network is never touched: the whole test re-runs itself in a network namespace
# of its own (unshare -n), which plays the host: the bridges, the host ends of the veth pairs and
# the test's extra interfaces all live there, and vanish with it when the test ends. Addresses
# are from 10.231.0.0/16 and fd00:b3::/32, which exist only inside it. No packet leaves it.
#
# Checked: two containers get different addresses and reach each other (ping, a TCP message with
# busybox nc) and the gateway; a fixed address is honoured; `berth state` reports the address;
# ls/inspect JSON; rm is refused while in use; delete releases the lease and removes the host
# end; each bad input is refused with its message and leaves nothing; 20 parallel creates get 20
# distinct addresses and leave nothing once deleted; IPv6; netDevices in and back (also after
# the container's init died).
# shellcheck source=tests/integration/in_netns.sh
. "$(dirname "$0")/in_netns.sh"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_extra.sh
. "$(dirname "$0")/lib_extra.sh"
require_cmd ip

# Refuse to go on in the machine's own namespace: everything below changes interfaces.

SUBNET=10.231.7.0/24
GW=10.231.7.1

# ---------------------------------------------------------------- helpers

# net_container TAG NET [IP]: a bundle ($ID, $BUNDLE) whose container sleeps, joined to NET
# (with the fixed address IP), and allowed raw sockets for ping.
net_container() {
	container "$1"
	cfg_args sleep 600
	cfg '.annotations["berth.network"] = $n' --arg n "$2"
	if [ -n "${3:-}" ]; then cfg '.annotations["berth.network.ip"] = $ip' --arg ip "$3"; fi
	cfg '.process.capabilities |= with_entries(.value += ["CAP_NET_RAW"])'
}

# ip_of ID: the address `berth state` reports for ID.
ip_of() {
	local QUIET=1
	b state "$1"
	jq -r '.annotations["berth.network.ip"] // empty' <<<"$OUT" 2>/dev/null
}

# lease_count NET: how many containers hold an address on NET (from `network inspect`).
lease_count() {
	local QUIET=1
	b network inspect "$1"
	jq '.containers | length' <<<"$OUT" 2>/dev/null
}

# host_if_of NET ID: the host end of ID's veth pair, from `network inspect`.
host_if_of() {
	local QUIET=1
	b network inspect "$1"
	jq -r --arg id "$2" '.containers[] | select(.id == $id) | .hostInterface' <<<"$OUT" 2>/dev/null
}

# veths_on BRIDGE: the interfaces enslaved to BRIDGE in the test's host namespace.
veths_on() {
	ip -o link show master "$1" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | xargs
}

link_count() { ip -o link show | wc -l; }

# make_dev NAME ADDR: a virtual interface in the test's host namespace (dummy when the kernel
# has it, else one end of a veth pair), with ADDR, up.
make_dev() {
	ip link add "$1" type dummy 2>/dev/null || ip link add "$1" type veth peer name "${1}p" ||
		die "cannot make a test interface $1"
	ip addr add "$2" dev "$1"
	ip link set "$1" up
}

# in_ctr ID CMD...: run CMD in the container; output in $OUT.
in_ctr() {
	local id=$1
	shift
	b exec "$id" "$@"
}

# ---------------------------------------------------------------- network create, ls, inspect

b network create n1 --subnet "$SUBNET"
assert_ok "network create n1 --subnet $SUBNET"
assert_eq "network create prints the name" "n1" "$OUT"
b network ls
assert_ok "network ls"
assert_match "network ls shows n1 with its subnet, gateway and bridge" "n1 +$SUBNET +$GW +berth-n1" "$OUT"
b network ls --format json
assert_eq "network ls --format json" "n1 $SUBNET $GW berth-n1" \
	"$(jq -r '.[] | "\(.name) \(.subnet) \(.gateway) \(.bridge)"' <<<"$OUT")"
b network inspect n1
assert_ok "network inspect n1"
assert_eq "inspect: subnet, gateway, bridge, no containers" "$SUBNET $GW berth-n1 0" \
	"$(jq -r '"\(.subnet) \(.gateway) \(.bridge) \(.containers | length)"' <<<"$OUT")"
assert_false "no bridge before the first container" ip link show berth-n1

# ---------------------------------------------------------------- two containers

net_container a n1
A=$ID
b run -d --bundle "$BUNDLE" "$A"
assert_ok "run -d a container on n1"
net_container b n1
B=$ID
# (nc's stdin never ends: with /dev/null it would close its side at once, and a client that saw
# that before reading its own stdin would leave without sending.)
cfg_args sh -c 'sleep 600 | nc -l -p 7000 >/tmp/msg'
b run -d --bundle "$BUNDLE" "$B"
assert_ok "run -d a second container on n1"

IP_A=$(ip_of "$A")
IP_B=$(ip_of "$B")
assert_eq "the first container gets the first free address (state annotation)" "10.231.7.2" "$IP_A"
assert_eq "the second container gets the next one" "10.231.7.3" "$IP_B"
b state "$A"
assert_eq "state keeps the berth.network annotation" "n1" "$(jq -r '.annotations["berth.network"]' <<<"$OUT")"

in_ctr "$A" ip -o addr show eth0
assert_contains "eth0 inside has the address with the subnet's prefix" "$OUT" "inet $IP_A/24"
in_ctr "$A" ip route
assert_contains "default route via the gateway inside" "$OUT" "default via $GW dev eth0"
in_ctr "$A" ip -o link show lo
assert_contains "lo is up inside" "$OUT" "UP"

in_ctr "$A" ping -c1 -W2 "$IP_B"
assert_ok "container a pings container b"
in_ctr "$B" ping -c1 -W2 "$IP_A"
assert_ok "container b pings container a"
in_ctr "$A" ping -c1 -W2 "$GW"
assert_ok "container a pings the gateway"

# A TCP message from a to b (b listens with nc since it started; retry while it is not yet up).
for _ in $(seq 1 30); do
	in_ctr "$A" sh -c "echo hello-over-tcp | nc -w 2 $IP_B 7000"
	[ "$RC" -eq 0 ] && break
	sleep 0.2
done
assert_ok "container a sends a TCP message to container b"
for _ in $(seq 1 20); do
	in_ctr "$B" cat /tmp/msg
	[ "$OUT" = "hello-over-tcp" ] && break
	sleep 0.1
done
assert_eq "container b received it" "hello-over-tcp" "$OUT"

# The host side: the bridge with the gateway, one veth per container on it.
HOST_A=$(host_if_of n1 "$A")
HOST_B=$(host_if_of n1 "$B")
assert_match "host end names are bv + 12 hex digits" '^bv[0-9a-f]{12}$' "$HOST_A"
assert_eq "both host ends on the bridge" "$(printf '%s\n' "$HOST_A" "$HOST_B" | sort | xargs)" \
	"$(veths_on berth-n1)"
assert_contains "the bridge has the gateway address" "$(ip -o addr show berth-n1)" "inet $GW/24"

# ---------------------------------------------------------------- a fixed address

net_container fixed n1 10.231.7.50
C=$ID
b run -d --bundle "$BUNDLE" "$C"
assert_ok "run a container with berth.network.ip 10.231.7.50"
assert_eq "the fixed address is honoured" "10.231.7.50" "$(ip_of "$C")"
in_ctr "$A" ping -c1 -W2 10.231.7.50
assert_ok "container a pings the fixed-address container"
assert_eq "inspect lists three containers" "3" "$(lease_count n1)"

# ---------------------------------------------------------------- rm while in use, delete

b network rm n1
assert_rc "network rm is refused while containers use it" 1
assert_contains "the refusal names the users" "$ERR" "in use by 3 containers"
b network inspect n1
assert_ok "the network is still there"

b delete --force "$A"
assert_ok "delete --force container a"
assert_false "delete removed a's host veth $HOST_A" ip link show "$HOST_A"
assert_eq "delete released a's lease" "2" "$(lease_count n1)"
assert_eq "only b and the fixed one remain on the bridge" \
	"$(printf '%s\n' "$HOST_B" "$(host_if_of n1 "$C")" | sort | xargs)" "$(veths_on berth-n1)"

net_container again n1
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "a new container after the delete"
assert_eq "it reuses the released address" "10.231.7.2" "$(ip_of "$ID")"
AGAIN=$ID

# ---------------------------------------------------------------- bad input: refused, nothing left

# refused DESC NEEDLE: `create` of $BUNDLE as $ID fails with NEEDLE and leaves nothing: no state
# dir, cgroup, process or mount, no new interface, no new lease.
refused() {
	local desc=$1 needle=$2 links leases
	links=$(link_count)
	leases=$(lease_count n1)
	snapshot_pids
	b create --bundle "$BUNDLE" "$ID"
	assert_rc "$desc: create fails with exit 1" 1
	assert_contains "$desc: says '$needle'" "$ERR" "$needle"
	assert_left_nothing "$desc" "$ID" "$BUNDLE"
	assert_eq "$desc: no interface made" "$links" "$(link_count)"
	assert_eq "$desc: no lease taken" "$leases" "$(lease_count n1)"
}

net_container outside n1 10.231.8.5
refused "an address outside the subnet" "address 10.231.8.5 is outside subnet $SUBNET of network 'n1'"
net_container leased n1 "$IP_B"
refused "an address already leased" "address $IP_B of network 'n1' is already leased to container \"$B\""
net_container gateway n1 "$GW"
refused "the gateway's address" "is the gateway of network 'n1'"
net_container badip n1 10.231.7
refused "an address that is not one" "not an IP address"
net_container unknown nope
refused "an unknown network" "network 'nope' does not exist"
container iponly
cfg '.annotations["berth.network.ip"] = "10.231.7.9"'
refused "an address without a network" "needs the annotation berth.network"
net_container nonetns n1
cfg '.linux.namespaces |= map(select(.type != "network"))'
refused "a network without a network namespace" "needs a new network namespace"
container longdev
cfg '.linux.netDevices = {"abcdefghijklmnop": {}}'
refused "a 16-byte netDevices name" "invalid interface name"
container longdev2
cfg '.linux.netDevices = {"lo0": {name: "abcdefghijklmnop"}}'
refused "a 16-byte netDevices target name" "invalid interface name"
container nodev
cfg '.linux.netDevices = {"bmissing0": {}}'
refused "a netDevices entry that does not exist" "host interface 'bmissing0' does not exist"

# A failure after the network was set up (a failing createRuntime hook) unwinds all of it: the
# veth pair, the lease, and a netDevices interface goes back to the host with its address.
make_dev bdev1 10.231.12.5/24
net_container hookfail n1
cfg '.linux.netDevices = {"bdev1": {name: "ctr1"}}'
cfg '.hooks = {createRuntime: [{path: "/bin/sh", args: ["sh", "-c", "exit 3"]}]}'
refused "a failing createRuntime hook after the network is up" "createRuntime"
assert_contains "the netDevices interface is back on the host with its address" \
	"$(ip -o addr show bdev1 2>&1)" "inet 10.231.12.5/24"
assert_eq "no veth left on the bridge but the running containers'" \
	"$(printf '%s\n' "$HOST_B" "$(host_if_of n1 "$C")" "$(host_if_of n1 "$AGAIN")" | sort | xargs)" \
	"$(veths_on berth-n1)"
ip link del bdev1

# A foreground run that exits: the address is released by the delete that follows.
net_container fg n1
cfg_args sh -c 'ip -o addr show eth0 | grep -q "inet 10.231.7." && ping -c1 -W2 10.231.7.1 >/dev/null'
LEASES=$(lease_count n1)
b run --bundle "$BUNDLE" "$ID"
assert_ok "a foreground run on n1 has an address and reaches the gateway"
assert_eq "its lease is gone after the run" "$LEASES" "$(lease_count n1)"
assert_false "its state dir is gone" test -e "$ROOT/$ID"

# network create's own bad input: refused, and no network appears.
net_bad() {
	local desc=$1 needle=$2 before
	shift 2
	b network ls -q
	before=$OUT
	b network create "$@"
	assert_failed "network create refuses $desc"
	assert_contains "network create: $desc: says '$needle'" "$ERR" "$needle"
	b network ls -q
	assert_eq "network create: $desc: no network added" "$before" "$OUT"
}
net_bad "an overlapping subnet" "overlaps subnet $SUBNET of network 'n1'" x1 --subnet 10.231.7.128/25
net_bad "an enclosing subnet" "overlaps subnet $SUBNET of network 'n1'" x1 --subnet 10.231.0.0/16
net_bad "a 16-byte bridge name" "must be 1 to 15 bytes long" x1 --subnet 10.231.11.0/24 --bridge abcdefghijklmnop
net_bad "host bits in the subnet" "host bits" x1 --subnet 10.231.11.5/24
net_bad "a gateway outside the subnet" "not a host address" x1 --subnet 10.231.11.0/24 --gateway 10.231.12.1
net_bad "a name that is taken" "network 'n1' already exists" n1 --subnet 10.231.11.0/24
net_bad "a bridge another network uses" "bridge 'berth-n1' is already used" x1 --subnet 10.231.11.0/24 --bridge berth-n1
b network create x1
assert_rc "network create without --subnet is a usage error" 2
assert_contains "it says --subnet is required" "$ERR" "--subnet is required"
b network inspect nope
assert_rc "inspect of an unknown network fails" 1
assert_contains "inspect names it" "$ERR" "network 'nope' does not exist"

# ---------------------------------------------------------------- 20 parallel creates

b network create par --subnet 10.231.10.0/24 --mtu 1400
assert_ok "network create par (MTU 1400)"
N=20
PAR=()
for i in $(seq 1 $N); do
	net_container "par$i" par
	PAR+=("$ID")
done
PAR_PIDS=()
for id in "${PAR[@]}"; do
	env "$MARK" timeout -k 5 "$CMD_TIMEOUT" "$BERTH" --root "$ROOT" create --bundle "$TEST_TMP/bundle-$id" "$id" \
		</dev/null >"$TEST_TMP/par-$id.out" 2>"$TEST_TMP/par-$id.err" &
	PAR_PIDS+=($!)
done
FAILED=0
for pid in "${PAR_PIDS[@]}"; do wait "$pid" || FAILED=$((FAILED + 1)); done
assert_eq "$N parallel creates succeed" "0" "$FAILED$(cat "$TEST_TMP"/par-*.err)"
ADDRS=$(for id in "${PAR[@]}"; do ip_of "$id"; done | sort -u)
assert_eq "$N parallel creates get $N distinct addresses" "$N" "$(grep -c '^10\.231\.10\.' <<<"$ADDRS")"
assert_eq "inspect lists $N leases" "$N" "$(lease_count par)"
assert_eq "$N host ends on the bridge" "$N" "$(veths_on berth-par | wc -w)"
assert_contains "the MTU is applied to the bridge" "$(ip -o link show berth-par)" "mtu 1400"
in_ctr "${PAR[0]}" ip -o link show eth0
assert_contains "the MTU is applied inside" "$OUT" "mtu 1400"
b network inspect par
PAR_HOST=$(jq -r '.containers[].hostInterface' <<<"$OUT" | xargs)
PAR_PIDS=()
for id in "${PAR[@]}"; do
	env "$MARK" timeout -k 5 "$CMD_TIMEOUT" "$BERTH" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1 &
	PAR_PIDS+=($!)
done
FAILED=0
for pid in "${PAR_PIDS[@]}"; do wait "$pid" || FAILED=$((FAILED + 1)); done
assert_eq "$N parallel deletes succeed" "0" "$FAILED"
assert_eq "no lease left after the deletes" "0" "$(lease_count par)"
assert_eq "no veth left on the bridge" "" "$(veths_on berth-par)"
LEFT=""
for h in $PAR_HOST; do
	if ip link show "$h" >/dev/null 2>&1; then LEFT="$LEFT $h"; fi
done
assert_eq "none of the $N host ends is left" "" "$LEFT"
for id in "${PAR[@]}"; do
	if [ -e "$ROOT/$id" ]; then fail "state dir of $id left"; fi
done
b network rm par
assert_ok "network rm par once empty"
assert_false "network rm removed the bridge berth made" ip link show berth-par

# ---------------------------------------------------------------- IPv6

b network create six --subnet fd00:b3:7::/64
assert_ok "network create six --subnet fd00:b3:7::/64"
net_container v6 six
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run a container on an IPv6 network"
assert_eq "it gets fd00:b3:7::2" "fd00:b3:7::2" "$(ip_of "$ID")"
in_ctr "$ID" ip -6 route
assert_contains "IPv6 default route inside" "$OUT" "default via fd00:b3:7::1 dev eth0"
in_ctr "$ID" ping6 -c1 -W2 fd00:b3:7::1
assert_ok "the container pings its IPv6 gateway"
V6=$ID

# ---------------------------------------------------------------- linux.netDevices

make_dev bdev0 10.231.9.5/24
container dev
cfg_args sleep 600
cfg '.linux.netDevices = {"bdev0": {name: "ctr0"}}'
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run a container with linux.netDevices bdev0 -> ctr0"
assert_false "bdev0 left the host namespace" ip link show bdev0
in_ctr "$ID" ip -o addr show ctr0
assert_contains "inside, renamed ctr0, with its address" "$OUT" "inet 10.231.9.5/24"
in_ctr "$ID" ip -o link show ctr0
assert_contains "inside, ctr0 is up" "$OUT" ",UP"
b delete --force "$ID"
assert_ok "delete --force the netDevices container"
assert_true "bdev0 is back in the host namespace" ip link show bdev0
assert_contains "bdev0 is back with its address" "$(ip -o addr show bdev0)" "inet 10.231.9.5/24"
assert_eq "no mount left below the test dir" "" "$(mounts_below "$TEST_TMP" | xargs)"

# The init dies first: the namespace is kept (pinned) until delete hands the device back.
container devdead
cfg_args sleep 600
cfg '.linux.netDevices = {"bdev0": {}}'
snapshot_pids
b run -d --bundle "$BUNDLE" "$ID"
assert_ok "run a container with linux.netDevices bdev0"
status_of "$ID"
kill -9 "$STATE_PID"
wait_status "$ID" stopped
assert_false "bdev0 stays away while the stopped container exists" ip link show bdev0
b delete "$ID"
assert_ok "delete the stopped container"
assert_contains "bdev0 is back after its container's init died" "$(ip -o addr show bdev0)" "inet 10.231.9.5/24"
assert_left_nothing "netDevices container" "$ID" "$BUNDLE"
assert_eq "no pin mount left" "" "$(mounts_below "$TEST_TMP" | xargs)"

# ---------------------------------------------------------------- run --image --net --ip

STORE=$TEST_TMP/store
if bash "$BERTH_SRC/scripts/make-oci-image.sh" "$TEST_TMP/img.tar" >/dev/null 2>&1 &&
	"$BERTH" --storage "$STORE" image import "$TEST_TMP/img.tar" --name netimg:1 >/dev/null; then
	IMGID=bt-net-img-$$
	cap "$BERTH" --root "$ROOT" --storage "$STORE" run --rm --image netimg:1 --name "$IMGID" \
		--cgroups-path "/berth-test/$IMGID" --net n1 --ip 10.231.7.77 \
		sh -c 'ip -4 -o addr show eth0 | awk "{print \$4}"'
	assert_ok "run --image --net n1 --ip 10.231.7.77"
	assert_eq "run --image --ip: eth0 has the fixed address" "10.231.7.77/24" "$OUT"
	cap "$BERTH" --root "$ROOT" --storage "$STORE" run --rm --image netimg:1 --ip 10.231.7.78 true
	assert_failed "run --image --ip without --net is refused"
	assert_contains "run --image --ip without --net says why" "$ERR" "--ip needs --net"
	assert_eq "run --rm released the address" "3" "$(lease_count n1)"
else
	echo "SKIP: run --image --net: no image (make-oci-image.sh or import failed)"
fi

# ---------------------------------------------------------------- teardown

for id in "$B" "$C" "$AGAIN" "$V6"; do
	b delete --force "$id"
	assert_ok "delete --force $id"
done
assert_eq "no lease left on n1" "0" "$(lease_count n1)"
assert_eq "no veth left on berth-n1" "" "$(veths_on berth-n1)"
b network rm n1
assert_ok "network rm n1"
assert_false "the bridge berth-n1 is gone" ip link show berth-n1
b network rm six
assert_ok "network rm six"
b network ls -q
assert_eq "no network left" "" "$OUT"
assert_eq "only the test's own interfaces remain" "bdev0 lo" \
	"$(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -v -x bdev0p | sort | xargs)"

finish
