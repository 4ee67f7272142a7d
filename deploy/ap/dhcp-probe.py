#!/usr/bin/env python3
"""A minimal DHCPv4 client for deploy/ap/test-netns.sh (Debian has no DHCP client installed by default):
DISCOVER -> OFFER -> REQUEST -> ACK on one interface, broadcast flag set, standard library only.
Prints the lease as KEY=value lines (ADDRESS, NETMASK, ROUTER, DNS, LEASE_SECONDS, SERVER).
Usage: dhcp-probe.py IFNAME   (run as root inside the phone's network namespace)
Exit codes: 0 lease acknowledged; 1 no offer/ack within the time limit or a NAK."""
import os
import random
import socket
import struct
import sys
import time

MAGIC = b"\x63\x82\x53\x63"


def mac_of(ifname):
    with open(f"/sys/class/net/{ifname}/address") as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def packet(xid, mac, msg_type, extra=b""):
    head = struct.pack("!BBBBIHH4s4s4s4s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4)
    chaddr = mac + b"\0" * 10
    opts = bytes([53, 1, msg_type]) + extra + bytes([55, 4, 1, 3, 6, 51, 255])
    return head + chaddr + b"\0" * 192 + MAGIC + opts


def options(data):
    opts, i = {}, 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, n = data[i], data[i + 1]
        opts[code] = data[i + 2 : i + 2 + n]
        i += 2 + n
    return opts


def wait_for(sock, xid, want, deadline, send):
    """Sends, then waits for an answer of type `want`, sending again every second (the server may still
    be starting)."""
    send()
    resend = time.time() + 1
    while time.time() < deadline:
        sock.settimeout(max(0.05, min(resend, deadline) - time.time()))
        try:
            data, _ = sock.recvfrom(2048)
        except socket.timeout:
            if time.time() >= resend:
                send()
                resend = time.time() + 1
            continue
        if len(data) < 240 or data[0] != 2 or struct.unpack("!I", data[4:8])[0] != xid or data[236:240] != MAGIC:
            continue
        opts = options(data)
        kind = opts.get(53, b"\0")[0]
        if kind == 6:
            sys.exit("DHCP server said NAK")
        if kind == want:
            return socket.inet_ntoa(data[16:20]), opts
    sys.exit(f"no DHCP answer of type {want} in time")


def main():
    ifname = sys.argv[1]
    mac = mac_of(ifname)
    xid = random.getrandbits(32)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.bind(("0.0.0.0", 68))
    deadline = time.time() + 15
    bcast = ("255.255.255.255", 67)
    offered, opts = wait_for(s, xid, 2, deadline, lambda: s.sendto(packet(xid, mac, 1), bcast))
    server = opts[54]
    req = packet(xid, mac, 3, bytes([50, 4]) + socket.inet_aton(offered) + bytes([54, 4]) + server)
    addr, opts = wait_for(s, xid, 5, deadline, lambda: s.sendto(req, bcast))
    print(f"ADDRESS={addr}")
    print(f"NETMASK={socket.inet_ntoa(opts[1])}")
    print(f"ROUTER={socket.inet_ntoa(opts[3][:4])}")
    print(f"DNS={socket.inet_ntoa(opts[6][:4])}")
    print(f"LEASE_SECONDS={struct.unpack('!I', opts[51])[0]}")
    print(f"SERVER={socket.inet_ntoa(server)}")
    print(f"MAC={mac.hex(':')}")


if __name__ == "__main__":
    main()
