#!/usr/bin/env python3
"""SCTP reachability for the lab, on kernels with or without SCTP sockets.

Node has no SCTP sockets, and kernels built without CONFIG_IP_SCTP have none at all, while
nftables and conntrack still see and filter SCTP. This peer speaks just enough SCTP over raw
IP sockets to test a path the way an SCTP port scan does: a probe sends an INIT chunk and
succeeds when the INIT-ACK comes back; the server side answers INITs on its declared ports.
Packets carry real CRC32c checksums and tags, so conntrack tracks them as an SCTP association.

Runs inside a pod netns, started by prober.ts. stdin carries JSON lines: probe requests
({id, host, port, timeoutMs}) and {"serve": [ports]}, which replaces the set of ports to answer.
stdout gets {"ready": true} once the sockets are open, then one reply per probe ({id, outcome,
ms}). Exits when stdin closes.
"""

import json
import os
import random
import select
import socket
import struct
import sys
import time

SCTP = 132
INIT, INIT_ACK = 1, 2
STATE_COOKIE = 7


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def packet(sport, dport, vtag, chunk):
    body = struct.pack("!HHII", sport, dport, vtag, 0) + chunk
    # The checksum field is the only little-endian field of the header (RFC 9260, appendix A).
    return body[:8] + struct.pack("<I", crc32c(body)) + body[12:]


def init_chunk(chunk_type, tag, tsn, params=b""):
    return struct.pack("!BBHIIHHI", chunk_type, 0, 20 + len(params), tag, 65535, 1, 1, tsn) + params


def parse(data):
    """(sport, dport, vtag, chunk type, initiate tag) of a well-formed INIT/INIT-ACK, else None."""
    if len(data) < 32:
        return None
    sport, dport, vtag = struct.unpack("!HHI", data[:8])
    given = struct.unpack("<I", data[8:12])[0]
    if crc32c(data[:8] + b"\0\0\0\0" + data[12:]) != given:
        return None
    chunk_type = data[12]
    tag = struct.unpack("!I", data[16:20])[0]
    return sport, dport, vtag, chunk_type, tag


def reply(outcome, req_id, started, message=None):
    line = {"id": req_id, "outcome": outcome, "ms": round((time.monotonic() - started) * 1000, 3)}
    if message:
        line["message"] = message
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main():
    ports = set()
    sports = SourcePorts()
    socks = {
        socket.AF_INET: socket.socket(socket.AF_INET, socket.SOCK_RAW, SCTP),
        socket.AF_INET6: socket.socket(socket.AF_INET6, socket.SOCK_RAW, SCTP),
    }
    pending = {}  # our initiate tag -> (request id, family, packed host, our port, their port, start, deadline)
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    buf = b""
    while True:
        now = time.monotonic()
        for tag, p in list(pending.items()):
            if p[6] <= now:
                del pending[tag]
                reply("timeout", p[0], p[5])
        wait = min((p[6] for p in pending.values()), default=now + 60) - now
        readable, _, _ = select.select([0, *socks.values()], [], [], max(wait, 0))
        for r in readable:
            if r == 0:
                chunk = os.read(0, 65536)
                if not chunk:
                    return
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    msg = json.loads(line)
                    if "serve" in msg:
                        ports.clear()
                        ports.update(int(p) for p in msg["serve"])
                    else:
                        start_probe(msg, socks, pending, sports.take())
                continue
            family = r.family
            data, addr = r.recvfrom(65535)
            if family == socket.AF_INET:
                data = data[(data[0] & 0x0F) * 4 :]  # raw IPv4 sockets deliver the IP header too
            handle_packet(r, family, data, addr[0], ports, pending)


class SourcePorts:
    """Source ports in turn, so a tuple comes back only after thousands of probes: conntrack
    state an earlier probe left can never decide a later one."""

    FIRST, COUNT = 33000, 28000

    def __init__(self):
        self.next = self.FIRST + random.randrange(self.COUNT)

    def take(self):
        port = self.next
        self.next = self.FIRST + (port - self.FIRST + 1) % self.COUNT
        return port


def start_probe(req, socks, pending, sport):
    started = time.monotonic()
    family = socket.AF_INET6 if ":" in req["host"] else socket.AF_INET
    tag = random.randint(1, 0xFFFFFFFF)
    while tag in pending:
        tag = random.randint(1, 0xFFFFFFFF)
    pkt = packet(sport, req["port"], 0, init_chunk(INIT, tag, random.getrandbits(32)))
    try:
        socks[family].sendto(pkt, (req["host"], 0))
    except OSError as e:
        reply("error", req["id"], started, str(e))
        return
    deadline = started + req["timeoutMs"] / 1000
    host = socket.inet_pton(family, req["host"])
    pending[tag] = (req["id"], family, host, sport, req["port"], started, deadline)


def handle_packet(sock, family, data, src, ports, pending):
    parsed = parse(data)
    if not parsed:
        return
    sport, dport, vtag, chunk_type, tag = parsed
    if chunk_type == INIT and vtag == 0 and dport in ports:
        cookie = struct.pack("!HH", STATE_COOKIE, 12) + os.urandom(8)
        ack = init_chunk(INIT_ACK, random.randint(1, 0xFFFFFFFF), random.getrandbits(32), cookie)
        sock.sendto(packet(dport, sport, tag, ack), (src, 0))
    elif chunk_type == INIT_ACK and vtag in pending:
        req_id, fam, host, our_port, their_port, started, _ = pending[vtag]
        if fam == family and host == socket.inet_pton(family, src) and (dport, sport) == (our_port, their_port):
            del pending[vtag]
            reply("connected", req_id, started)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
