#!/bin/bash
# tests/fuzz/make-netlink-corpus.sh [DIR]: regenerate the seed corpus of fuzz_netlink (default
# tests/fuzz/corpus/netlink/). Needs root (unshare -n) and iproute2: in a fresh network namespace
# it makes a few links and addresses, then python3 sends real rtnetlink requests and writes the
# raw reply bytes (every datagram of one exchange, concatenated) to one file per exchange:
#   link-dump, addr-dump    RTM_GETLINK / RTM_GETADDR dumps, ending in NLMSG_DONE
#   link-get                one RTM_NEWLINK answer and its ACK
#   ack                     an NLMSG_ERROR with error 0
#   error-ext-ack           an NLMSG_ERROR with the extended-ack text (NLMSGERR_ATTR_MSG)
#   error-noent             an NLMSG_ERROR for a missing link, the request echoed
#   done-error              a dump ended by NLMSG_DONE carrying -EINTR (synthetic)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$repo/tests/fuzz/corpus/netlink}
mkdir -p "$out"
out=$(cd "$out" && pwd)

exec unshare -n bash -s "$out" <<'EOF'
set -euo pipefail
ip link set lo up
ip link add br-fz0 type bridge
ip link set br-fz0 mtu 1400 alias "fuzz bridge" up
ip link add ve-fz0 type veth peer name ve-fz1
ip link set ve-fz0 master br-fz0 up
ip addr add 10.88.0.1/24 dev br-fz0
ip addr add 10.88.1.1 peer 10.88.1.2/32 dev ve-fz1
ip addr add fd00:88::1/64 dev br-fz0 nodad
python3 - "$1" <<'PY'
import os, socket, struct, sys

out = sys.argv[1]
NETLINK_ROUTE, NETLINK_CAP_ACK, NETLINK_EXT_ACK, SOL_NETLINK = 0, 10, 11, 270
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_GETADDR = 16, 17, 18, 22
IFLA_IFNAME, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 18, 1

def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)

def exchange(name, mtype, flags, payload, ext_ack=True, seq=1):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
    if ext_ack:
        s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    s.bind((0, 0))
    s.send(struct.pack("=LHHLL", 16 + len(payload), mtype, NLM_F_REQUEST | NLM_F_ACK | flags, seq, 0) + payload)
    data = b""
    while True:
        d = s.recv(32768)
        data += d
        off, done = 0, False
        while off + 16 <= len(d):
            n, t = struct.unpack_from("=LH", d, off)
            if t in (NLMSG_ERROR, NLMSG_DONE):
                done = True
            off += (n + 3) & ~3
        if done:
            break
    s.close()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    return data

ifinfo = struct.pack("=BxHiII", 0, 0, 0, 0, 0)
exchange("link-dump", RTM_GETLINK, NLM_F_DUMP, ifinfo)
exchange("addr-dump", RTM_GETADDR, NLM_F_DUMP, struct.pack("=BBBBI", 0, 0, 0, 0, 0))
exchange("link-get", RTM_GETLINK, 0, ifinfo + attr(IFLA_IFNAME, b"br-fz0\0"), seq=7)
exchange("ack", RTM_NEWLINK, 0, ifinfo + attr(IFLA_IFNAME, b"lo\0"))
exchange("error-ext-ack", RTM_NEWLINK, 0x400 | 0x200,  # NLM_F_CREATE | NLM_F_EXCL
         ifinfo + attr(IFLA_IFNAME, b"fz-bad0\0") + attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"nosuchkind\0")))
exchange("error-noent", RTM_DELLINK, 0, ifinfo + attr(IFLA_IFNAME, b"no-such0\0"), ext_ack=False)

# A dump that failed part-way: one RTM_NEWLINK of the real dump, then NLMSG_DONE with -EINTR.
dump = open(os.path.join(out, "link-dump"), "rb").read()
first = dump[: (struct.unpack_from("=L", dump)[0] + 3) & ~3]
done = struct.pack("=LHHLLi", 20, NLMSG_DONE, 2, 1, 0, -4)
with open(os.path.join(out, "done-error"), "wb") as f:
    f.write(first + done)
PY
EOF
