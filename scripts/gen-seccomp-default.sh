#!/bin/bash
# scripts/gen-seccomp-default.sh [CAPTURED.json] > images/seccomp-default.json
#
# berth's default seccomp profile for `run --image`, generated from the profile containerd really
# puts in a container's config.json (captured by bench/containerd-seccomp.sh into
# tests/data/seccomp/default.json): the same allow-list model as Docker's and containerd's
# defaults, adapted to the capability set berth gives an image's process (images: Docker's default
# set, which has CAP_SYS_CHROOT, hence chroot). Everything not listed fails with EPERM; among
# what stays denied: namespaces (unshare, setns, clone with CLONE_NEW*), mount, keyctl/add_key,
# bpf, reboot, kexec, module loading, swapon, personality other than the usual few, AF_VSOCK sockets;
# clone3 fails with ENOSYS so that libcs fall back to clone, whose flags can be checked.
# The output is sorted and laid out one syscall per line, so a regeneration diffs cleanly.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
in=${1:-$repo/tests/data/seccomp/default.json}
command -v jq >/dev/null || { echo "$0: jq not found" >&2; exit 1; }

jq --indent 1 '
	# the unconditional allow-list, plus what the capability set of an image container needs
	def berth_allow: ((.syscalls[] | select(.action == "SCMP_ACT_ALLOW" and (.args // []) == []) | .names[])
		, "chroot") ;
	{
		defaultAction: "SCMP_ACT_ERRNO",
		defaultErrnoRet: 1,
		architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
		syscalls: (
			[{names: ([berth_allow] | unique), action: "SCMP_ACT_ALLOW"}]
			+ [.syscalls[] | select(.args != null and .args != [])]
			+ [.syscalls[] | select(.action != "SCMP_ACT_ALLOW")]
		)
	}' "$in"
