# shellcheck shell=bash
# tests/vm/guest-pair-lib.sh: the guest side of run-vm-pair.sh, sourced after guest-lib.sh.
#   vm_pair_setup        the shared 9p dir at $BERTH_VM_PAIR, virtio_net and eth0 with BERTH_VM_IP,
#                        sshd from $BERTH_VM_DIR/sshd (copied into this guest's tmpfs overlay:
#                        libwrap, the privsep user and /run/sshd exist only here), then the peer
#                        reachable (ping) and "$BERTH_VM_ROLE.ready" written into the shared dir
#   vm_pair_mark NAME    write NAME into the shared dir; vm_pair_wait NAME [SECS] waits for it
#   PAIR_SSH             the ssh options (array) that reach the peer: key, known_hosts, no config,
#                        one multiplexed connection
#   vm_peer CMD...       cap (guest-lib.sh) of CMD run on the peer over ssh

PAIR_SSH=()

vm_pair_mark() { printf '%s\n' "${2:-}" >"$BERTH_VM_PAIR/$1.tmp" && mv "$BERTH_VM_PAIR/$1.tmp" "$BERTH_VM_PAIR/$1"; }

# vm_pair_wait NAME [SECS]: until the shared dir has NAME (default 300 s); non-zero on timeout.
vm_pair_wait() {
	local i
	for ((i = 0; i < ${2:-300} * 5; i++)); do
		[ -e "$BERTH_VM_PAIR/$1" ] && return 0
		sleep 0.2
	done
	return 1
}

vm_pair_sshd() {
	local s=$BERTH_VM_DIR/sshd
	cp "$s/usr/sbin/sshd" /usr/sbin/sshd || return 1
	mkdir -p /usr/lib/openssh /run/sshd /etc/berth-ssh && chmod 0755 /run/sshd
	cp "$s/usr/lib/openssh/sftp-server" /usr/lib/openssh/ 2>/dev/null
	cp -a "$s"/usr/lib/x86_64-linux-gnu/libwrap.so.0* /usr/lib/x86_64-linux-gnu/ || return 1
	grep -q '^sshd:' /etc/passwd || echo 'sshd:x:105:65534::/run/sshd:/usr/sbin/nologin' >>/etc/passwd
	cp "$BERTH_VM_PAIR/host_$BERTH_VM_ROLE" /etc/berth-ssh/host_key
	cp "$BERTH_VM_PAIR/client" /etc/berth-ssh/client
	cp "$BERTH_VM_PAIR/authorized_keys" "$BERTH_VM_PAIR/known_hosts" /etc/berth-ssh/
	{
		cat "$BERTH_VM_PAIR/sshd_config"
		echo "HostKey /etc/berth-ssh/host_key"
	} >/etc/berth-ssh/sshd_config
	chmod 0600 /etc/berth-ssh/host_key /etc/berth-ssh/client
	# root's ~/.bashrc is the host's (the guest's / is the host's under a tmpfs overlay), and
	# Debian's bash reads it for every command sshd runs: on these machines it starts pyenv,
	# about 8 s under TCG per ssh session. An empty one, in this guest's overlay only.
	: >/root/.bashrc
	/usr/sbin/sshd -f /etc/berth-ssh/sshd_config -E "$BERTH_VM_RESULTS/sshd.log"
}

vm_pair_setup() {
	mkdir -p "$BERTH_VM_PAIR"
	mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=262144 pair "$BERTH_VM_PAIR" ||
		die "cannot mount the pair share"
	vm_modprobe virtio_net || die "virtio_net does not load"
	local dev="" d
	for d in /sys/class/net/*; do [ "${d##*/}" = lo ] || { dev=${d##*/}; break; }; done
	[ -n "$dev" ] || die "no network device"
	if ! ip link set "$dev" up || ! ip addr add "$BERTH_VM_IP/24" dev "$dev"; then die "cannot configure $dev"; fi
	vm_pair_sshd || die "sshd does not start (see sshd.log)"
	PAIR_SSH=(-F /dev/null -i /etc/berth-ssh/client -o UserKnownHostsFile=/etc/berth-ssh/known_hosts
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=60 -o ServerAliveInterval=15
		-o ServerAliveCountMax=8
		# one connection for all of a script's commands: a new ssh session takes about 3 s under TCG
		-o ControlMaster=auto -o ControlPath=/tmp/berth-ssh-%C -o ControlPersist=900
		# aes128-ctr: 64 MB in 13 s against 17 s with the default chacha20-poly1305 (measured)
		-o Ciphers=aes128-ctr)
	local i ok=""
	for ((i = 0; i < 60; i++)); do
		# busybox's ping: iputils is not installed on these machines
		if busybox ping -c 1 -W 1 "$BERTH_VM_PEER_IP" >/dev/null 2>&1; then ok=1; break; fi
		sleep 1
	done
	[ -n "$ok" ] || die "the peer $BERTH_VM_PEER_IP does not answer ping"
	vm_pair_mark "$BERTH_VM_ROLE.ready"
	info "pair: $BERTH_VM_ROLE is $BERTH_VM_IP on $dev, sshd up, peer $BERTH_VM_PEER_IP answers"
}

vm_peer() { cap ssh "${PAIR_SSH[@]}" "root@$BERTH_VM_PEER_IP" "$@"; }
