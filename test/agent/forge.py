"""Hostile workload for the kernel tests: forged packets (scapy) and plain probes, run inside a
network namespace the test created. One command per run; the result is printed as JSON.

  sniff IFACE GRACE PROTO DPORT            -> "ready" line; sniffs until a line (or the end) on
                                              stdin, then GRACE seconds more -> {"seen": n}
  send SRC DST PROTO SPORT DPORT COUNT     -> {"sent": n}      (UDP datagram or TCP SYN)
  hairpin SELF PEER PORT SPORT SECONDS     -> {"echoed": bool} (conntrack poisoning attempt)
  connect PROTO HOST PORT SECONDS          -> {"connected": bool}
  udpflow SELF PEER PORT SPORT SIZE SECONDS -> {"echoed": bool}  (a tracked UDP flow; then SIZE
                                              bytes with DF set, when SIZE > 0)
  unreach SRC DST INNER_SRC INNER_DST SPORT DPORT -> {"sent": 1}  (ICMP port unreachable about
                                              the UDP datagram INNER_SRC:SPORT -> INNER_DST:DPORT)
  sniff IFACE SECONDS icmp DPORT counts ICMP errors about a UDP datagram to DPORT.
"""
import json
import socket
import sys
import time

from scapy.all import (
    ICMP,
    IP,
    TCP,
    UDP,
    AsyncSniffer,
    Ether,
    ICMPv6DestUnreach,
    IPv6,
    Raw,
    UDPerror,
    conf,
    getmacbyip,
    sendp,
)

conf.verb = 0


def send(p, count=1):
    """Out of eth0 to the pod's router (its node), whatever the destination: a packet for the
    pod's own address goes to the node and hairpins back, as the attack needs."""
    gateway = conf.route.route("0.0.0.0")[2]
    sendp(Ether(dst=getmacbyip(gateway)) / p, iface="eth0", count=count)


def packet(src, dst, proto, sport, dport):
    l3 = IPv6(src=src, dst=dst) if ":" in dst else IP(src=src, dst=dst)
    if proto == "udp":
        return l3 / UDP(sport=sport, dport=dport) / Raw(b"forged")
    return l3 / TCP(sport=sport, dport=dport, flags="S", seq=1000)


def matcher(proto, dport):
    if proto == "icmp":
        # scapy reads the header an ICMP error quotes as UDPerror.
        return lambda p: UDPerror in p and p[UDPerror].dport == dport
    layer = UDP if proto == "udp" else TCP
    return lambda p: layer in p and p[layer].dport == dport


def sniff(iface, grace, proto, dport):
    match = matcher(proto, dport)
    sniffer = AsyncSniffer(iface=iface, lfilter=match, store=True,
                           started_callback=lambda: print("ready", flush=True))
    sniffer.start()
    # Until the test's action is done (however long a loaded machine takes), then packets in
    # flight get the grace period.
    sys.stdin.readline()
    time.sleep(grace)
    found = sniffer.stop() or []
    print(json.dumps({"seen": len(found)}), flush=True)


def hairpin(self_addr, peer, port, sport, seconds):
    # A datagram "from" the peer's port to this pod: if it passes, conntrack now holds
    # peer:port -> self:sport, whose reply direction carries self -> peer:port as established.
    family = socket.AF_INET6 if ":" in peer else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((self_addr, sport))
    s.settimeout(seconds)
    send(packet(peer, self_addr, "udp", port, sport))
    time.sleep(0.2)
    s.sendto(b"through the hole", (peer, port))
    echoed = False
    try:
        # The forged datagram itself arrives here too; only the peer's echo counts.
        while not echoed:
            data, _ = s.recvfrom(100)
            echoed = data == b"through the hole"
    except socket.timeout:
        pass
    print(json.dumps({"echoed": echoed}), flush=True)


def udpflow(self_addr, peer, port, sport, size, seconds):
    family = socket.AF_INET6 if ":" in peer else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((self_addr, sport))
    s.settimeout(seconds)
    # IP(V6)_MTU_DISCOVER = IP(V6)_PMTUDISC_DO: DF set, never fragmented by the sender.
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 10, 2)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, 23, 2)
    s.sendto(b"hello", (peer, port))
    try:
        echoed = s.recvfrom(100)[0] == b"hello"
    except socket.timeout:
        echoed = False
    if size > 0:
        try:
            s.sendto(b"x" * size, (peer, port))
        except OSError:
            pass
    print(json.dumps({"echoed": echoed}), flush=True)


def unreach(src, dst, inner_src, inner_dst, sport, dport):
    quoted = UDP(sport=sport, dport=dport) / Raw(b"hello")
    if ":" in dst:
        p = IPv6(src=src, dst=dst) / ICMPv6DestUnreach(code=4) / IPv6(src=inner_src, dst=inner_dst)
    else:
        p = IP(src=src, dst=dst) / ICMP(type=3, code=3) / IP(src=inner_src, dst=inner_dst)
    send(p / quoted)
    print(json.dumps({"sent": 1}), flush=True)


def connect(proto, host, port, seconds):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(family, kind)
    s.settimeout(seconds)
    try:
        if proto == "udp":
            s.sendto(b"probe", (host, port))
            s.recvfrom(100)
        else:
            s.connect((host, port))
        ok = True
    except OSError:
        ok = False
    print(json.dumps({"connected": ok}), flush=True)


def main(argv):
    cmd = argv[0]
    if cmd == "sniff":
        sniff(argv[1], float(argv[2]), argv[3], int(argv[4]))
    elif cmd == "send":
        p = packet(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]))
        send(p, count=int(argv[6]))
        print(json.dumps({"sent": int(argv[6])}), flush=True)
    elif cmd == "hairpin":
        hairpin(argv[1], argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    elif cmd == "connect":
        connect(argv[1], argv[2], int(argv[3]), float(argv[4]))
    elif cmd == "udpflow":
        udpflow(argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5]), float(argv[6]))
    elif cmd == "unreach":
        unreach(argv[1], argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]))
    else:
        raise SystemExit(f"unknown command {cmd}")


main(sys.argv[1:])
