# An ICMP (or ICMPv6, for an IPv6 address) echo session for kernel tests: one id, a request
# every 0.2 s to argv[1] until killed, a line per reply. Raw sockets (root in a namespace the
# test made); no ping binary needed. The kernel fills in ICMPv6 checksums itself.
import os
import select
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def main(dst):
    ident = os.getpid() & 0xFFFF
    v6 = ":" in dst
    if v6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    echo, echo_reply = (128, 129) if v6 else (8, 0)
    seq = 0
    while True:
        seq += 1
        request = struct.pack("!BBHHH", echo, 0, 0, ident, seq) + b"microseg"
        if not v6:
            request = request[:2] + struct.pack("!H", checksum(request)) + request[4:]
        sock.sendto(request, (dst, 0))
        until = time.time() + 0.2
        while True:
            ready, _, _ = select.select([sock], [], [], max(0.0, until - time.time()))
            if not ready:
                break
            packet, _ = sock.recvfrom(1500)
            # An IPv4 raw socket reads the IP header too; an ICMPv6 one only the message.
            header = 0 if v6 else (packet[0] & 0x0F) * 4
            kind, _, _, got, number = struct.unpack("!BBHHH", packet[header : header + 8])
            if kind == echo_reply and got == ident:
                print("reply", number, flush=True)


main(sys.argv[1])
