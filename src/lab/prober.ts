// Runs detached inside one pod netns for the lifetime of the pod: serves the lab's ports and
// probes other pods on request. One long-lived process per pod keeps a probe to a few
// milliseconds, where a process per probe would cost a process start each.
//
// Usage: node --import tsx prober.ts '<ProberConfig JSON>'. Requests arrive as JSON lines on a
// unix socket (protocol.ts), from any number of clients; each reply goes to the connection that
// asked. The socket appears only once every server listens, so connecting is the readiness check.

import { type ChildProcessByStdio, spawn } from "node:child_process";
import dgram from "node:dgram";
import { rmSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type {
  ProbeOutcome,
  ProbeReply,
  ProbeRequest,
  ProberConfig,
  ProberRequest,
  ReadyLine,
  ServeReply,
} from "./protocol.ts";
import type { PortSpec } from "./topology.ts";

const refusedCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EACCES", "EPERM"]);

function outcomeOf(err: NodeJS.ErrnoException): ProbeOutcome {
  return refusedCodes.has(err.code ?? "") ? "refused" : "error";
}

type Reply = (r: ProbeReply | ServeReply) => void;

/** Settles a probe once, whichever of reply, error or timer comes first. */
function settle(
  req: ProbeRequest,
  reply: Reply,
  cleanup: () => void,
): (o: ProbeOutcome, message?: string) => void {
  const started = performance.now();
  let done = false;
  // The timeout is decided after the event loop's next poll: a prober starved of CPU on a
  // loaded machine wakes with the timer due and the answer already waiting, and timers run
  // before I/O callbacks; the answer must win, or an allowed path reads as denied.
  const timer = setTimeout(() => setImmediate(() => finish("timeout")), req.timeoutMs);
  function finish(outcome: ProbeOutcome, message?: string): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    cleanup();
    const r: ProbeReply = {
      id: req.id,
      outcome,
      ms: Math.round((performance.now() - started) * 1000) / 1000,
    };
    if (message) r.message = message;
    reply(r);
  }
  return finish;
}

function probeTcp(req: ProbeRequest, reply: Reply): void {
  const sock = net.connect({ host: req.host, port: req.port });
  const finish = settle(req, reply, () => sock.destroy());
  sock.once("connect", () => finish("connected"));
  sock.once("error", (e: NodeJS.ErrnoException) => finish(outcomeOf(e), e.code));
}

// UDP probes take their source ports in turn from below the kernel's ephemeral range, so a
// port comes back only after thousands of probes: a conntrack entry that an earlier, allowed
// probe left behind can never let a later probe through after the policy changed.
const udpPorts = { first: 20000, count: 12000 };
let nextUdpPort = udpPorts.first + Math.floor(Math.random() * udpPorts.count);

function takeUdpPort(): number {
  const port = nextUdpPort;
  nextUdpPort = udpPorts.first + ((port - udpPorts.first + 1) % udpPorts.count);
  return port;
}

/** A UDP socket bound to the next free rotating port; a few tries, as another may hold one. */
async function boundUdpSocket(type: "udp4" | "udp6"): Promise<dgram.Socket> {
  let last: Error | undefined;
  for (let attempt = 0; attempt < 8; attempt++) {
    const sock = dgram.createSocket(type);
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind({ port: takeUdpPort(), exclusive: true }, () => {
          sock.off("error", reject);
          resolve();
        });
      });
      return sock;
    } catch (e) {
      last = e as Error;
      sock.close();
    }
  }
  throw last;
}

async function probeUdp(req: ProbeRequest, reply: Reply): Promise<void> {
  let sock: dgram.Socket;
  try {
    sock = await boundUdpSocket(net.isIPv6(req.host) ? "udp6" : "udp4");
  } catch (e) {
    reply({ id: req.id, outcome: "error", ms: 0, message: (e as Error).message });
    return;
  }
  const finish = settle(req, reply, () => sock.close());
  sock.once("message", () => finish("connected"));
  // A connected UDP socket turns an ICMP port or host unreachable into an error.
  sock.once("error", (e: NodeJS.ErrnoException) => finish(outcomeOf(e), e.code));
  sock.connect(req.port, req.host, () => sock.send(`probe ${req.id}`));
}

function serveTcp(port: number): Promise<net.Server> {
  // Echoes what it receives: a probe only connects, a held connection can show it still
  // carries data.
  const server = net.createServer((conn) => {
    conn.on("error", () => {});
    conn.pipe(conn);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: "::", ipv6Only: false }, () => resolve(server));
  });
}

function serveUdp(port: number): Promise<dgram.Socket> {
  const sock = dgram.createSocket({ type: "udp6", ipv6Only: false });
  sock.on("message", (msg, from) => sock.send(msg, from.port, from.address));
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, "::", () => resolve(sock));
  });
}

/** The SCTP peer: answers INITs on the SCTP ports and runs SCTP probes. */
class SctpPeer {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #pending = new Map<number, { id: number; reply: Reply }>();
  #nextId = 1;

  private constructor(child: ChildProcessByStdio<Writable, Readable, null>) {
    this.#child = child;
  }

  static start(python: string): Promise<SctpPeer> {
    const child = spawn(python, [join(import.meta.dirname, "sctp-peer.py")], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const peer = new SctpPeer(child);
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => {
        // Without its peer the prober would answer SCTP probes wrongly; better gone.
        process.stderr.write(`prober: sctp peer exited with ${code}\n`);
        process.exit(1);
      });
      createInterface({ input: child.stdout }).on("line", (line) => {
        const msg = JSON.parse(line) as ProbeReply | ReadyLine;
        if ("ready" in msg) return resolve(peer);
        const waiting = peer.#pending.get(msg.id);
        peer.#pending.delete(msg.id);
        waiting?.reply({ ...msg, id: waiting.id });
      });
    });
  }

  probe(req: ProbeRequest, reply: Reply): void {
    const id = this.#nextId++;
    this.#pending.set(id, { id: req.id, reply });
    this.#child.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
  }

  serve(ports: number[]): void {
    this.#child.stdin.write(`${JSON.stringify({ serve: ports })}\n`);
  }
}

/** The servers of one prober, brought in line with a wanted set of ports. */
class Servers {
  readonly #open = new Map<string, { close(): unknown }>();
  readonly #sctp: SctpPeer;
  #served: PortSpec[] = [];

  constructor(sctp: SctpPeer) {
    this.#sctp = sctp;
  }

  async serve(ports: PortSpec[]): Promise<PortSpec[]> {
    const wanted = new Map(ports.map((p) => [`${p.protocol}/${p.port}`, p]));
    for (const [key, server] of this.#open) {
      if (!wanted.has(key)) {
        server.close();
        this.#open.delete(key);
      }
    }
    for (const [key, { port, protocol }] of wanted) {
      if (this.#open.has(key)) continue;
      if (protocol === "TCP") this.#open.set(key, await serveTcp(port));
      if (protocol === "UDP") this.#open.set(key, await serveUdp(port));
    }
    this.#sctp.serve(ports.filter((p) => p.protocol === "SCTP").map((p) => p.port));
    this.#served = [...wanted.values()];
    return this.#served;
  }
}

function handle(line: string, reply: Reply, servers: Servers, sctp: SctpPeer): void {
  const req = JSON.parse(line) as ProberRequest;
  if (req.op === "serve") {
    servers.serve(req.ports).then(
      (served) => reply({ id: req.id, served }),
      (e: Error) => reply({ id: req.id, served: [], error: e.message }),
    );
  } else if (req.protocol === "TCP") probeTcp(req, reply);
  else if (req.protocol === "UDP") void probeUdp(req, reply);
  else sctp.probe(req, reply);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as ProberConfig;
  const sctp = await SctpPeer.start(config.python);
  const servers = new Servers(sctp);
  await servers.serve(config.ports);
  rmSync(config.socket, { force: true });
  const control = net.createServer((conn) => {
    conn.on("error", () => {});
    const reply: Reply = (r) => {
      if (conn.writable) conn.write(`${JSON.stringify(r)}\n`);
    };
    createInterface({ input: conn }).on("line", (line) => {
      try {
        handle(line, reply, servers, sctp);
      } catch (e) {
        process.stderr.write(`prober: bad request ${line}: ${(e as Error).message}\n`);
      }
    });
  });
  control.listen(config.socket, () => process.stdout.write(`prober ready on ${config.socket}\n`));
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
}

main().catch((e: Error) => {
  process.stderr.write(`prober: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
