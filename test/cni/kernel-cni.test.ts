// The CNI chain in the kernel: a node network namespace, Debian's containernetworking-plugins
// (bridge with host-local IPAM) and then microseg's plugin, exec'd as a runtime does
// (test/cni/runtime.ts), against a real `microseg agent` in that namespace following manifest
// files. A new pod behind a default-deny is probed from before its ADD starts until well
// after it returns, from a pod on the same bridge and from the node; nothing may connect.
// Then an allow opens the flow, spoofed ARP and MACs from a pod change nothing, CHECK and DEL
// do their part, and ADD fails when the agent cannot confirm (pod unknown, agent down).
// The bridge chain's microseg is the single executable a node gets (`npm run build:cni`),
// installed with its network list by `microseg cni-install`, as the DaemonSet's init container
// does; the ptp chain runs bin/microseg-cni.js (the checkout's plugin, through Node).
// Root; 198.18.0.0/15 only; every name random; everything removed also on failure.

import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { installCni } from "../../src/cni/install.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import {
  type AgentProcess,
  NODE,
  startAgentProcess,
  until,
  writeManifests,
} from "../agent/kernel-fixtures.ts";
import { CniError, type ConfList, Runtime, type Sandbox } from "./runtime.ts";

const suffix = randomBytes(3).toString("hex");
const nodeNs = `mscni-n-${suffix}`;
const bridge = `msb${suffix}`;
const octet = 100 + (randomBytes(1)[0]! % 150);
const subnet = `198.19.${octet}`;
const plugin = fileURLToPath(new URL("../../bin/microseg-cni.js", import.meta.url));
const buildCni = fileURLToPath(new URL("../../scripts/build-cni.mjs", import.meta.url));
const PORT = 8080;

const dir = mkdtempSync(join(tmpdir(), "mscni-"));
const binDir = join(dir, "bin");
const confDir = join(dir, "net.d");
const executable = join(dir, "sea", "microseg-cni");
const socket = join(dir, "run", "cni.sock");
const manifests = join(dir, "manifests.yaml");

const sandbox = (pod: string, host: number): Sandbox => ({
  containerId: `c-${pod}-${randomBytes(4).toString("hex")}`,
  netns: `mscni-${pod}-${suffix}`,
  namespace: "shop",
  pod,
  ip: `${subnet}.${host}`,
});
const client = sandbox("client", 10);
const web = sandbox("web", 11);
const ghost = sandbox("ghost", 12);
const late = sandbox("late", 13);
// On a routed veth (Debian's ptp plugin), in a subnet of its own.
const routed = { ...sandbox("routed", 10), ip: `198.19.${octet + 1}.10` };
// IPv6 on the bridge (host-local from an fd00::/8 range): a client, a server and a pod that
// tries to pass as either.
const subnet6 = `fd00:${Number.parseInt(suffix.slice(0, 4), 16).toString(16)}:${octet.toString(16)}:`;
const v6 = (pod: string, host: number) => ({ ...sandbox(pod, 0), ip: `${subnet6}:${host}` });
const client6 = v6("client6", 10);
const web6 = v6("web6", 11);
const mallory6 = v6("mallory6", 12);
const sandboxes = [client, web, ghost, late, routed, client6, web6, mallory6];
const UDP_PORT = 9096;

const bridgeOnly = {
  cniVersion: "1.0.0",
  name: `podnet-${suffix}`,
  plugins: [
    {
      type: "bridge",
      bridge,
      isGateway: true,
      ipMasq: false,
      ipam: {
        type: "host-local",
        dataDir: join(dir, "ipam"),
        ranges: [[{ subnet: `${subnet}.0/24`, gateway: `${subnet}.1` }]],
        routes: [{ dst: "0.0.0.0/0" }],
      },
    },
  ],
};
/** The network list as cni-install left it (read in before()). */
let installed: ConfList | undefined;
const conf = (timeoutSeconds: number): ConfList => ({
  ...installed!,
  plugins: installed!.plugins.map((p) => (p.type === "microseg" ? { ...p, timeoutSeconds } : p)),
});

const pod = (name: string, app: string): Resource =>
  validResource({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "shop", labels: { app } },
    spec: { nodeName: NODE, containers: [{ name: "c", ports: [{ containerPort: PORT }] }] },
  });

const policy = (name: string, spec: Record<string, unknown>): Resource =>
  validResource({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: "shop" },
    spec,
  });

const base: Resource[] = [
  validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }),
  pod("client", "client"),
  pod("web", "web"),
  pod("late", "late"),
  pod("routed", "routed"),
  pod("client6", "client6"),
  pod("web6", "web6"),
  pod("mallory6", "mallory6"),
  policy("web6-from-client6", {
    podSelector: { matchLabels: { app: "web6" } },
    ingress: [
      {
        from: [{ podSelector: { matchLabels: { app: "client6" } } }],
        ports: [{ port: PORT }, { port: UDP_PORT, protocol: "UDP" }],
      },
    ],
  }),
  policy("web-deny-all", {
    podSelector: { matchLabels: { app: "web" } },
    policyTypes: ["Ingress"],
  }),
  policy("routed-deny-all", {
    podSelector: { matchLabels: { app: "routed" } },
    policyTypes: ["Ingress"],
  }),
];
const allowClient = policy("web-from-client", {
  podSelector: { matchLabels: { app: "web" } },
  ingress: [
    { from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: PORT }] },
  ],
});

const allowClientToRouted = policy("routed-from-client", {
  podSelector: { matchLabels: { app: "routed" } },
  ingress: [
    { from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: PORT }] },
  ],
});

const ptpConf = {
  cniVersion: "1.0.0",
  name: `routed-${suffix}`,
  plugins: [
    {
      type: "ptp",
      ipMasq: false,
      ipam: {
        type: "host-local",
        dataDir: join(dir, "ipam-ptp"),
        ranges: [[{ subnet: `198.19.${octet + 1}.0/24` }]],
        routes: [{ dst: "0.0.0.0/0" }],
      },
    },
    { type: "microseg-js", socket, timeoutSeconds: 20 },
  ],
};

/** The same bridge with an IPv6 range, and the installed microseg. */
const conf6 = (): ConfList => {
  const [bridgePlugin, microseg] = conf(20).plugins as [
    Record<string, unknown>,
    ConfList["plugins"][number],
  ];
  return {
    cniVersion: "1.0.0",
    name: `podnet6-${suffix}`,
    plugins: [
      {
        ...bridgePlugin,
        type: "bridge",
        ipam: {
          type: "host-local",
          dataDir: join(dir, "ipam6"),
          ranges: [[{ subnet: `${subnet6}:/64`, gateway: `${subnet6}:1` }]],
          routes: [{ dst: "::/0" }],
        },
      },
      microseg,
    ],
  };
};

// A loaded machine leaves thousands of the first test's connections in conntrack's listing
// (over 1 MB, execFileSync's default limit; seen as ENOBUFS in the DEL test).
const inNs = (ns: string, cmd: string, ...args: string[]) =>
  execFileSync("ip", ["netns", "exec", ns, cmd, ...args], {
    encoding: "utf8",
    stdio: "pipe",
    maxBuffer: 256 * 1024 * 1024,
  });

/** Lines a process prints, as they come. */
class Lines {
  readonly lines: string[] = [];
  constructor(readonly child: ChildProcess) {
    let rest = "";
    child.stdout!.on("data", (b: Buffer) => {
      const parts = (rest + b.toString()).split("\n");
      rest = parts.pop() ?? "";
      this.lines.push(...parts);
    });
  }
  count(line: string): number {
    return this.lines.filter((l) => l === line).length;
  }
}

const python = (ns: string, code: string, ...args: string[]) =>
  new Lines(
    spawn("ip", ["netns", "exec", ns, "python3", "-u", "-c", code, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );

// Prints "1" for every connection that opens and "0" for every one that does not, forever.
// The IPv6 one waits longer: a loaded machine may take more than 0.15 s.
const prober = (family: "AF_INET" | "AF_INET6", timeoutS: number) => `
import socket, sys
while True:
    s = socket.socket(socket.${family}); s.settimeout(${timeoutS})
    try:
        s.connect((sys.argv[1], int(sys.argv[2]))); print("1")
    except OSError:
        print("0")
    finally:
        s.close()
`;
const PROBER = prober("AF_INET", 0.15);
const PROBER6 = prober("AF_INET6", 2);
// TCP and UDP on ::; prints "accepted" per connection and "udp SOURCE PAYLOAD" per datagram.
const SERVER6 = `
import socket, sys, threading
l = socket.socket(socket.AF_INET6); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("::", int(sys.argv[1]))); l.listen(64)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::", int(sys.argv[2])))
print("listening")
def tcp():
    held = []
    while True:
        c, _ = l.accept(); held.append(c); print("accepted")
threading.Thread(target=tcp, daemon=True).start()
while True:
    data, addr = u.recvfrom(64); print("udp", addr[0], data.decode())
`;
// Datagrams from a chosen source address.
const SENDER6 = `
import socket, sys
src, dst, port, payload = sys.argv[1:5]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind((src, 0))
for _ in range(5): s.sendto(payload.encode(), (dst, int(port)))
print("sent")
`;
// An unsolicited neighbour advertisement (override flag) to all nodes, from SRC, claiming
// TARGET is at MAC; "nonce+tlla" puts another option before the link-layer address.
const ADVERTISER = `
import socket, struct, sys
iface, src, target, mac, options = sys.argv[1:6]
idx = socket.if_nametoindex(iface)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.bind((src, 0, 0, idx if src.startswith("fe80") else 0))
opt = b"\x02\x01" + bytes.fromhex(mac.replace(":", ""))
if options == "nonce+tlla": opt = b"\x0e\x01" + b"\x01" * 6 + opt
msg = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + socket.inet_pton(socket.AF_INET6, target) + opt
for _ in range(3): s.sendto(msg, ("ff02::1", 0, 0, idx))
print("sent")
`;
// Accepts on 0.0.0.0 and prints "accepted" per connection; a held connection stays open.
const SERVER = `
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1]))); l.listen(64); print("listening")
held = []
while True:
    c, _ = l.accept(); held.append(c); print("accepted")
`;
// Opens one connection, says so, and keeps it open.
const HOLDER = `
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5); print("open")
while True: time.sleep(1)
`;
// From inside a pod: an ARP request to the gateway claiming another pod's address (the node
// would map that address to the sender's MAC), and a frame from another pod's MAC (the bridge
// would learn that MAC on the sender's port). Raw AF_PACKET: the pod's kernel is not asked.
const SPOOFER = `
import socket, struct, sys
iface, my_mac, victim_ip, victim_mac, gateway = sys.argv[1:6]
mac = lambda m: bytes.fromhex(m.replace(":", ""))
ip4 = socket.inet_aton
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind((iface, 0))
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac(my_mac) + ip4(victim_ip) + b"\\0" * 6 + ip4(gateway)
for _ in range(3):
    s.send(b"\\xff" * 6 + mac(my_mac) + b"\\x08\\x06" + arp)
    s.send(b"\\xff" * 6 + mac(victim_mac) + b"\\x88\\xb5" + b"\\0" * 46)
print("sent")
`;

function macOf(ns: string): string {
  return inNs(ns, "cat", "/sys/class/net/eth0/address").trim();
}

let agent: AgentProcess | undefined;
const running: ChildProcess[] = [];
const track = (l: Lines) => {
  running.push(l.child);
  return l;
};

function startAgent(): AgentProcess {
  return startAgentProcess(nodeNs, [
    "-f",
    manifests,
    "--cni-socket",
    socket,
    "--workload-iface",
    bridge,
    "veth*",
    "--no-flows",
    "--resync-interval",
    "0",
    "--metrics-listen",
    "127.0.0.1:0",
  ]);
}

const runtime = (timeoutSeconds = 20) => new Runtime(binDir, nodeNs, conf(timeoutSeconds));

describe("CNI chain: bridge + host-local, then microseg", { timeout: 240_000 }, () => {
  before(async () => {
    mkdirSync(binDir, { recursive: true });
    for (const p of ["bridge", "ptp", "host-local"])
      symlinkSync(`/usr/lib/cni/${p}`, join(binDir, p));
    symlinkSync(plugin, join(binDir, "microseg-js"));
    execFileSync(process.execPath, [buildCni, "--out", executable], { stdio: "pipe" });
    mkdirSync(confDir);
    writeFileSync(join(confDir, "10-podnet.conflist"), JSON.stringify(bridgeOnly));
    const r = await installCni({ binDir, confDir, plugin: executable, socket, timeoutSeconds: 20 });
    installed = JSON.parse(readFileSync(r.conflist, "utf8")) as ConfList;
    execFileSync("ip", ["netns", "add", nodeNs]);
    inNs(nodeNs, "ip", "link", "set", "lo", "up");
    // No br_netfilter on this node (this kernel has it built in and on): bridged frames then
    // never meet the inet table, so the bridge table alone must hold them.
    inNs(
      nodeNs,
      "sysctl",
      "-q",
      "-w",
      "net.ipv4.ip_forward=1",
      "net.bridge.bridge-nf-call-iptables=0",
      "net.bridge.bridge-nf-call-ip6tables=0",
      "net.bridge.bridge-nf-call-arptables=0",
    );
    for (const s of sandboxes) {
      execFileSync("ip", ["netns", "add", s.netns]);
      inNs(s.netns, "ip", "link", "set", "lo", "up");
    }
    writeManifests(manifests, base);
    agent = startAgent();
    await until(
      "the CNI socket",
      () => agent!.logs.some((l) => l.msg === "cni socket listening"),
      60_000,
    );
  });

  after(async () => {
    for (const c of running) c.kill("SIGKILL");
    if (agent) {
      agent.child.kill("SIGTERM");
      await agent.exited;
    }
    for (const s of sandboxes) execFileSync("ip", ["netns", "del", s.netns], { stdio: "ignore" });
    execFileSync("ip", ["netns", "del", nodeNs], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  });

  it("the installed list chains microseg after the bridge", () => {
    assert.deepEqual(
      installed!.plugins.map((p) => p.type),
      ["bridge", "microseg"],
    );
  });

  for (const type of ["microseg", "microseg-js"])
    it(`VERSION says 1.0.0 (${type === "microseg" ? "the single executable" : "through Node"})`, async () => {
      const run = await runtime().exec(type, "VERSION", undefined, "");
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), {
        cniVersion: "1.0.0",
        supportedVersions: ["1.0.0"],
      });
    });

  it("the installed microseg is the single executable, not a script", () => {
    const head = Buffer.alloc(4);
    const fd = openSync(join(binDir, "microseg"), "r");
    readSync(fd, head);
    closeSync(fd);
    assert.deepEqual([...head], [0x7f, 0x45, 0x4c, 0x46], "an ELF file");
  });

  it("the socket is root's alone", () => {
    assert.equal(statSync(socket).mode & 0o777, 0o600);
  });

  it("a new pod behind a default-deny is never reachable, from before its ADD until after", async () => {
    const rt = runtime();
    const result = (await rt.add(client)) as { ips: Array<{ address: string }> };
    assert.equal(result.ips[0]?.address, `${client.ip}/24`);
    const server = track(python(web.netns, SERVER, String(PORT)));
    await until("web's server", () => server.count("listening") === 1);
    const fromPod = track(python(client.netns, PROBER, web.ip!, String(PORT)));
    const fromNode = track(python(nodeNs, PROBER, web.ip!, String(PORT)));
    const attempts = () => Math.min(fromPod.lines.length, fromNode.lines.length);
    await until("probes before ADD", () => attempts() >= 5);
    let bridged = -1;
    await rt.add(web, (type) => {
      if (type === "bridge") bridged = attempts();
    });
    const added = attempts();
    await until("probes after ADD", () => attempts() >= added + 20, 60_000);
    assert.ok(
      bridged >= 5,
      "probes ran while the bridge plugin's link existed and microseg's ADD ran",
    );
    assert.equal(fromPod.count("1"), 0, "a connection from the client pod opened");
    assert.equal(fromNode.count("1"), 0, "a connection from the node opened");
    assert.equal(server.count("accepted"), 0);

    writeManifests(manifests, [...base, allowClient]);
    await until("the allowed flow", () => fromPod.count("1") > 0, 30_000);
    const opened = fromNode.lines.length;
    await until("more probes from the node", () => fromNode.lines.length >= opened + 10);
    assert.equal(fromNode.count("1"), 0, "the node is not allowed by the policy");
    fromPod.child.kill("SIGKILL");
    fromNode.child.kill("SIGKILL");
  });

  it("a pod cannot claim another pod's address or MAC on the bridge", async () => {
    // The node learns the client's MAC by sending to it.
    const clientMac = macOf(client.netns);
    const neighbour = () => inNs(nodeNs, "ip", "neigh", "show", client.ip!, "dev", bridge);
    inNs(
      nodeNs,
      "python3",
      "-c",
      `import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("${client.ip}", 9))`,
    );
    await until("the node's ARP entry of the client", () => neighbour().includes(clientMac));
    const spoof = track(
      python(web.netns, SPOOFER, "eth0", macOf(web.netns), client.ip!, clientMac, `${subnet}.1`),
    );
    await until("spoofed frames sent", () => spoof.count("sent") === 1);
    assert.match(neighbour(), new RegExp(clientMac), "the node's ARP entry was poisoned");
    const fdb = inNs(nodeNs, "bridge", "fdb", "show", "br", bridge);
    const webPort = fdb
      .split("\n")
      .find((l) => l.startsWith(macOf(web.netns)))
      ?.split(" ")[2];
    assert.ok(webPort, `web's port in the fdb:\n${fdb}`);
    assert.ok(
      !fdb.split("\n").some((l) => l.startsWith(clientMac) && l.includes(`dev ${webPort} `)),
      `the bridge learnt the client's MAC on web's port:\n${fdb}`,
    );
  });

  it("a pod that goes to another pod directly at L2 is dropped by the bridge table", async () => {
    // As if the plugin had not isolated the ports: only the bridge table stands in the way.
    const ports = inNs(nodeNs, "ip", "-o", "link", "show", "master", bridge)
      .split("\n")
      .flatMap((l) => /^\d+: ([^@:]+)/.exec(l)?.[1] ?? []);
    assert.equal(ports.length, 2, `ports of ${bridge}: ${ports.join(", ")}`);
    for (const port of ports)
      inNs(nodeNs, "ip", "link", "set", "dev", port, "type", "bridge_slave", "isolated", "off");
    // Both ends skip the node: each maps the other's address to the other's own MAC.
    const pairs = [
      [client, web],
      [web, client],
    ] as const;
    const neigh = (verb: string, from: Sandbox, to: Sandbox) =>
      inNs(
        from.netns,
        "ip",
        "neigh",
        verb,
        to.ip!,
        ...(verb === "del" ? [] : ["lladdr", macOf(to.netns)]),
        "dev",
        "eth0",
      );
    for (const [from, to] of pairs) neigh("replace", from, to);
    const server = track(python(web.netns, SERVER, "9091"));
    await until("web's second server", () => server.count("listening") === 1);
    const direct = track(python(client.netns, PROBER, web.ip!, "9091"));
    await until("direct probes", () => direct.lines.length >= 10);
    direct.child.kill("SIGKILL");
    assert.equal(direct.count("1"), 0, "the client reached web's denied port at L2");
    assert.equal(server.count("accepted"), 0);
    for (const [from, to] of pairs) neigh("del", from, to);
  });

  it("a pod on a routed veth (ptp) is closed until enforced and bound to its veth", async () => {
    const rt = new Runtime(binDir, nodeNs, ptpConf);
    const server = track(python(routed.netns, SERVER, String(PORT)));
    await until("routed's server", () => server.count("listening") === 1);
    const fromPod = track(python(client.netns, PROBER, routed.ip, String(PORT)));
    const fromNode = track(python(nodeNs, PROBER, routed.ip, String(PORT)));
    const attempts = () => Math.min(fromPod.lines.length, fromNode.lines.length);
    await until("probes before ADD", () => attempts() >= 5);
    const result = (await rt.add(routed)) as {
      interfaces: Array<{ name: string; sandbox?: string }>;
    };
    const veth = result.interfaces.find((i) => !i.sandbox)?.name;
    const added = attempts();
    await until("probes after ADD", () => attempts() >= added + 20, 60_000);
    assert.equal(fromPod.count("1") + fromNode.count("1") + server.count("accepted"), 0);
    const pairs = inNs(nodeNs, "nft", "list", "set", "inet", "microseg", "src4");
    assert.match(pairs, new RegExp(`"${veth}" \\. ${routed.ip.replaceAll(".", "\\.")}`));
    writeManifests(manifests, [...base, allowClient, allowClientToRouted]);
    await until("the allowed flow to the routed pod", () => fromPod.count("1") > 0, 30_000);
    fromPod.child.kill("SIGKILL");
    fromNode.child.kill("SIGKILL");
    assert.equal(fromNode.count("1"), 0);
    await rt.del(routed);
    assert.doesNotMatch(
      inNs(nodeNs, "nft", "list", "set", "inet", "microseg", "src4"),
      new RegExp(routed.ip.replaceAll(".", "\\.")),
    );
  });

  it("IPv6 pods on the bridge: allowed traffic flows through the node, a denied pod is dropped", async () => {
    const rt = new Runtime(binDir, nodeNs, conf6());
    for (const s of [client6, web6, mallory6]) {
      const result = (await rt.add(s)) as { ips: Array<{ address: string }> };
      assert.equal(result.ips[0]?.address, `${s.ip}/64`);
    }
    const server = track(python(web6.netns, SERVER6, String(PORT), String(UDP_PORT)));
    await until("web6's server", () => server.count("listening") === 1);
    const allowed = track(python(client6.netns, PROBER6, web6.ip, String(PORT)));
    const denied = track(python(mallory6.netns, PROBER6, web6.ip, String(PORT)));
    await until("a first connection from client6", () => allowed.count("1") > 0, 60_000);
    const first = allowed.lines.indexOf("1");
    // A redirect from the node (pods sent to each other directly) would break the next ones.
    await until("more connections", () => allowed.lines.length >= first + 15, 60_000);
    await until("attempts from mallory6", () => denied.lines.length >= 3, 60_000);
    for (const l of [allowed, denied, server]) l.child.kill("SIGKILL");
    assert.deepEqual(
      allowed.lines.slice(first, first + 15).filter((l) => l !== "1"),
      [],
      "every connection after the first opened",
    );
    assert.equal(denied.count("1"), 0, "mallory6 reached web6");
    const neighbours = inNs(nodeNs, "ip", "-6", "neigh", "show", "proxy", "dev", bridge);
    for (const s of [client6, web6, mallory6]) assert.match(neighbours, new RegExp(s.ip));
  });

  it("a pod cannot send from another pod's IPv6 address", async () => {
    const server = track(python(web6.netns, SERVER6, String(PORT), String(UDP_PORT)));
    await until("web6's second server", () => server.count("listening") === 1);
    // Control: the same datagrams from client6 itself arrive.
    const legit = track(
      python(client6.netns, SENDER6, client6.ip, web6.ip, String(UDP_PORT), "legit"),
    );
    await until("client6's datagrams", () => legit.count("sent") === 1);
    await until("a datagram from client6", () => server.count(`udp ${client6.ip} legit`) > 0);
    // mallory6 takes client6's address and sends straight to the node's MAC: only the bridge
    // table can tell (at L3 both come in on the bridge).
    inNs(mallory6.netns, "ip", "addr", "add", `${client6.ip}/128`, "dev", "eth0", "nodad");
    const nodeMac = inNs(nodeNs, "cat", `/sys/class/net/${bridge}/address`).trim();
    inNs(mallory6.netns, "ip", "-6", "neigh", "replace", web6.ip, "lladdr", nodeMac, "dev", "eth0");
    const spoof = track(
      python(mallory6.netns, SENDER6, client6.ip, web6.ip, String(UDP_PORT), "spoofed"),
    );
    await until("mallory6's datagrams", () => spoof.count("sent") === 1);
    const marker = track(
      python(client6.netns, SENDER6, client6.ip, web6.ip, String(UDP_PORT), "after"),
    );
    await until("client6's datagrams after", () => marker.count("sent") === 1);
    await until("a datagram from client6 after", () => server.count(`udp ${client6.ip} after`) > 0);
    assert.equal(
      server.lines.filter((l) => l.endsWith(" spoofed")).length,
      0,
      "a spoofed datagram arrived",
    );
    inNs(mallory6.netns, "ip", "addr", "del", `${client6.ip}/128`, "dev", "eth0");
    inNs(mallory6.netns, "ip", "-6", "neigh", "del", web6.ip, "dev", "eth0");
  });

  it("a pod cannot advertise another pod's IPv6 address, nor its own at another MAC", async () => {
    const neighbour = (s: Sandbox) =>
      inNs(nodeNs, "ip", "-6", "neigh", "show", s.ip!, "dev", bridge);
    const [webMac, malloryMac] = [macOf(web6.netns), macOf(mallory6.netns)];
    // The node has learnt both from the traffic above (their solicitations of the gateway and
    // its own of web6, to forward client6's packets); it cannot send to them itself, as
    // policy does not allow the node.
    await until(
      "the node's entries of web6 and mallory6",
      () => neighbour(web6).includes(webMac) && neighbour(mallory6).includes(malloryMac),
    );
    const linkLocal = /inet6 (fe80::[0-9a-f:]+)/.exec(
      inNs(mallory6.netns, "ip", "-6", "addr", "show", "dev", "eth0", "scope", "link"),
    )?.[1];
    assert.ok(linkLocal, "mallory6's link-local address");
    for (const [src, target, mac, options] of [
      [mallory6.ip, web6.ip, malloryMac, "tlla"],
      [linkLocal, web6.ip, malloryMac, "tlla"],
      [mallory6.ip, mallory6.ip, webMac, "tlla"],
      [mallory6.ip, mallory6.ip, webMac, "nonce+tlla"],
    ] as const) {
      const sent = track(python(mallory6.netns, ADVERTISER, "eth0", src, target, mac, options));
      await until("advertisements sent", () => sent.count("sent") === 1);
    }
    assert.match(neighbour(web6), new RegExp(webMac), "the node's entry of web6 was poisoned");
    assert.match(
      neighbour(mallory6),
      new RegExp(malloryMac),
      "mallory6 moved its address to web6's MAC",
    );
  });

  it("a pod's duplicate address detection is not answered by the node's proxy for it", async () => {
    const addresses = () => inNs(web6.netns, "ip", "-6", "addr", "show", "dev", "eth0");
    // The bridge plugin turns detection off in the pod; a pod may turn it on again.
    inNs(
      web6.netns,
      "sysctl",
      "-q",
      "-w",
      "net.ipv6.conf.eth0.accept_dad=1",
      "net.ipv6.conf.eth0.dad_transmits=1",
    );
    inNs(web6.netns, "ip", "addr", "del", `${web6.ip}/64`, "dev", "eth0");
    inNs(web6.netns, "ip", "addr", "add", `${web6.ip}/64`, "dev", "eth0");
    assert.match(addresses(), /tentative/, "detection runs");
    await until(
      "web6's address out of detection",
      () => /dadfailed/.test(addresses()) || !/tentative/.test(addresses()),
      30_000,
    );
    assert.doesNotMatch(addresses(), /dadfailed/);
    assert.match(addresses(), new RegExp(`${web6.ip}/64`));
  });

  it("DEL of an IPv6 pod takes its proxy entry away", async () => {
    await new Runtime(binDir, nodeNs, conf6()).del(mallory6);
    const neighbours = inNs(nodeNs, "ip", "-6", "neigh", "show", "proxy", "dev", bridge);
    assert.doesNotMatch(neighbours, new RegExp(mallory6.ip));
    assert.match(neighbours, new RegExp(web6.ip));
  });

  it("CHECK passes for an enforced pod", async () => {
    await runtime().check(web);
  });

  it("DEL removes the pod's state and its connection entries", async () => {
    const holder = track(python(client.netns, HOLDER, web.ip!, String(PORT)));
    await until("a held connection", () => holder.count("open") === 1);
    const tracked = () => inNs(nodeNs, "conntrack", "-L", "-d", web.ip!).trim();
    assert.match(tracked(), /ESTABLISHED/);
    await runtime().del(web);
    assert.equal(tracked(), "");
    const bridgeSets = inNs(nodeNs, "nft", "list", "table", "bridge", "microseg");
    assert.doesNotMatch(bridgeSets, new RegExp(web.ip!.replaceAll(".", "\\.")));
    const inet = inNs(nodeNs, "nft", "list", "set", "inet", "microseg", "src4");
    assert.doesNotMatch(inet, new RegExp(web.ip!.replaceAll(".", "\\.")));
    await assert.rejects(runtime().check(web), CniError);
  });

  it("ADD fails when the agent does not confirm in time (the pod is not in its source)", async () => {
    const e = await runtime(1)
      .add(ghost)
      .catch((x: unknown) => x);
    assert.ok(e instanceof CniError, String(e));
    assert.equal(e.run.type, "microseg");
    assert.equal(e.error.code, 100);
    assert.match(e.error.msg ?? "", /pod shop\/ghost is not in the agent's source/);
  });

  it("the agent's metrics have the ADD-to-enforced histogram", async () => {
    const port = agent!.logs.find((l) => l.msg === "metrics listening")?.port;
    const text = inNs(
      nodeNs,
      process.execPath,
      "-e",
      `fetch("http://127.0.0.1:${port}/metrics").then(r => r.text()).then(t => process.stdout.write(t))`,
    );
    assert.match(text, /microseg_cni_add_to_enforced_seconds_count 6\b/);
    assert.match(text, /microseg_cni_requests_total\{op="add",result="ok"\} 6\b/);
    assert.match(text, /microseg_cni_requests_total\{op="add",result="100"\} 1\b/);
  });

  it("an agent restart keeps reported pods bound", async () => {
    agent!.child.kill("SIGTERM");
    await agent!.exited;
    agent = startAgent();
    const a = agent;
    await until(
      "the CNI socket again",
      () => a.logs.some((l) => l.msg === "cni socket listening"),
      60_000,
    );
    await runtime().check(client);
    const bridgeTable = inNs(nodeNs, "nft", "list", "set", "bridge", "microseg", "src4");
    assert.match(bridgeTable, new RegExp(client.ip!.replaceAll(".", "\\.")));
  });

  it("ADD fails when the agent is down", async () => {
    agent!.child.kill("SIGTERM");
    await agent!.exited;
    agent = undefined;
    const e = await runtime()
      .add(late)
      .catch((x: unknown) => x);
    assert.ok(e instanceof CniError, String(e));
    assert.equal(e.error.code, 11);
    assert.match(e.error.msg ?? "", /not reachable/);
  });
});
