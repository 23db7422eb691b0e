#!/bin/bash
# tests/vm/run-vm-pair.sh [OPTIONS] SCRIPT: boot two guests at the same time (run-vm.sh each),
# joined by a virtual Ethernet link whose host side is two UDP sockets on 127.0.0.1 (QEMU
# `-netdev socket,udp=,localaddr=`; the TCP listen/connect form passed no packets here), each
# running SCRIPT. Nothing listens on the host beyond those two loopback UDP sockets.
#
# Guest "a" is 169.254.77.1, guest "b" 169.254.77.2 (link-local: the addresses exist only on the
# link between the two guests). SCRIPT runs in both with
#   BERTH_VM_ROLE=a|b  BERTH_VM_IP  BERTH_VM_PEER_IP  BERTH_VM_PAIR=/berth-pair (mounted by
#   vm_pair_setup of guest-pair-lib.sh: a 9p share both guests write, to hand files over and to
#   synchronise their scripts)
# and every --env. Each guest gets an sshd (Debian's openssh-server, fetched by prepare-sshd.sh
# with apt-get download + dpkg -x: never installed or started on the host) with a host key made
# here; the client key and known_hosts for both are in the shared directory.
#
# Options: --timeout SECS (each VM, default 600), --memory SIZE (default 1536M), --env NAME=VALUE,
# --results DIR (kept; DIR/a, DIR/b are the guests' results shares, DIR/pair the shared one,
# where the caller may put files for both guests first;
# default a temporary directory removed at the end unless --keep), --keep, --vm-dir DIR.
# Exit status: guest a's (0 pass, 1 fail, 77 skip), 1 when guest b failed, 2 when either VM
# failed (stall, crash, timeout: run-vm.sh's verdict), 77 when the VM or sshd cannot be had.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
timeout_s=600
memory=1536M
results=""
keep=${BERTH_VM_KEEP:-}
vm_dir=${BERTH_VM_DIR:-$repo/build/vm}
envs=()
script=""

msg() { printf 'run-vm-pair: %s\n' "$*" >&2; }
usage() {
	sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--memory) memory=${2:?}; shift 2 ;;
	--env) envs+=(--env "${2:?}"); shift 2 ;;
	--results) results=${2:?}; shift 2 ;;
	--keep) keep=1; shift ;;
	--vm-dir) vm_dir=${2:?}; shift 2 ;;
	-h | --help) usage ;;
	-*) msg "unknown option $1"; usage ;;
	*) [ -z "$script" ] || usage; script=$1; shift ;;
	esac
done
if [ -z "$script" ] || [ ! -f "$script" ]; then usage; fi

bash "$here/prepare.sh" "$vm_dir" || exit $?
bash "$here/prepare-sshd.sh" "$vm_dir" || exit $?

if [ -n "$results" ]; then
	keep=1
	mkdir -p "$results" || exit 2
	results=$(realpath "$results")
else
	results=$(mktemp -d /tmp/berth-vm-pair.XXXXXX) || exit 2
fi
# shellcheck disable=SC2064 # expand now
[ -n "$keep" ] || trap "rm -rf --one-file-system '$results'" EXIT
pair=$results/pair
# The caller may have put files for both guests into DIR/pair already: only this run's keys and
# marks are replaced.
mkdir -p "$pair" "$results/a" "$results/b" || exit 2
rm -f "$pair"/host_? "$pair"/host_?.pub "$pair"/client "$pair"/client.pub "$pair"/*.ready "$pair"/*.done
chmod 0755 "$results" "$pair"

# ---------------------------------------------------------------- keys (made here, for this run)
keygen() { ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1" </dev/null >/dev/null || exit 2; }
keygen "$pair/host_a" berth-vm-a
keygen "$pair/host_b" berth-vm-b
keygen "$pair/client" berth-vm-client
cp "$pair/client.pub" "$pair/authorized_keys"
{
	printf '169.254.77.1 %s\n' "$(cut -d' ' -f1,2 "$pair/host_a.pub")"
	printf '169.254.77.2 %s\n' "$(cut -d' ' -f1,2 "$pair/host_b.pub")"
} >"$pair/known_hosts"
cat >"$pair/sshd_config" <<'CONF'
# the guests' sshd (guest-pair-lib.sh copies it to /etc/berth-ssh and sets HostKey there)
ListenAddress 0.0.0.0:22
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile /etc/berth-ssh/authorized_keys
UsePAM no
UseDNS no
PidFile /run/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
CONF

# ---------------------------------------------------------------- the two VMs
# Two free UDP ports on the loopback address.
port_free() { ! ss -Huln "sport = :$1" 2>/dev/null | grep -q .; }
base=$((20000 + RANDOM % 20000))
while ! port_free "$base" || ! port_free $((base + 1)); do base=$((20000 + RANDOM % 20000)); done
pa=$base
pb=$((base + 1))

boot() { # ROLE MY_PORT PEER_PORT MAC IP PEER_IP
	bash "$here/run-vm.sh" "$script" --results "$results/$1" --vm-dir "$vm_dir" --timeout "$timeout_s" \
		--memory "$memory" "${envs[@]}" \
		--env "BERTH_VM_ROLE=$1" --env "BERTH_VM_IP=$5" --env "BERTH_VM_PEER_IP=$6" \
		--env "BERTH_VM_PAIR=/berth-pair" \
		--qemu-arg -netdev --qemu-arg "socket,id=link,udp=127.0.0.1:$3,localaddr=127.0.0.1:$2" \
		--qemu-arg -device --qemu-arg "virtio-net-device,netdev=link,mac=$4" \
		--qemu-arg -fsdev --qemu-arg "local,id=pair,path=$pair,security_model=none" \
		--qemu-arg -device --qemu-arg "virtio-9p-device,fsdev=pair,mount_tag=pair" \
		>"$results/$1.out" 2>&1
}
boot a "$pa" "$pb" 52:54:00:77:00:01 169.254.77.1 169.254.77.2 &
apid=$!
boot b "$pb" "$pa" 52:54:00:77:00:02 169.254.77.2 169.254.77.1 &
bpid=$!
wait "$apid"
ra=$?
wait "$bpid"
rb=$?
for r in a b; do
	printf -- '==== guest %s\n' "$r"
	cat "$results/$r.out"
done
msg "guest a exit $ra, guest b exit $rb${keep:+; results in $results}"
if [ "$ra" -eq 2 ] || [ "$rb" -eq 2 ]; then exit 2; fi
if [ "$rb" -ne 0 ] && [ "$rb" -ne 77 ]; then exit 1; fi
exit "$ra"
