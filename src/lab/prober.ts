// Runs inside one pod netns for the lifetime of a lab: serves the pod's declared ports and
// probes other pods on request. One long-lived process per pod keeps a probe to a few
// milliseconds, where a process per probe would cost a process start each.
//
// Usage: node --import tsx prober.ts '<ProberConfig JSON>'; requests on stdin, replies on stdout,
// both JSON lines (protocol.ts). Exits when stdin closes.

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { ProbeOutcome, ProbeReply, ProbeRequest, ProberConfig } from "./protocol.ts";

const refusedCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EACCES", "EPERM"]);

function outcomeOf(err: NodeJS.ErrnoException): ProbeOutcome {
  return refusedCodes.has(err.code ?? "") ? "refused" : "error";
}

function send(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Settles a probe once, whichever of reply, error or timer comes first. */
function settle(
  req: ProbeRequest,
  cleanup: () => void,
): (o: ProbeOutcome, message?: string) => void {
  const started = performance.now();
  let done = false;
  const timer = setTimeout(() => finish("timeout"), req.timeoutMs);
  function finish(outcome: ProbeOutcome, message?: string): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    cleanup();
    const reply: ProbeReply = {
      id: req.id,
      outcome,
      ms: Math.round((performance.now() - started) * 1000) / 1000,
    };
    if (message) reply.message = message;
    send(reply);
  }
  return finish;
}

function probeTcp(req: ProbeRequest): void {
  const sock = net.connect({ host: req.host, port: req.port });
  const finish = settle(req, () => sock.destroy());
  sock.once("connect", () => finish("connected"));
  sock.once("error", (e: NodeJS.ErrnoException) => finish(outcomeOf(e), e.code));
}

function probeUdp(req: ProbeRequest): void {
  const sock = dgram.createSocket(net.isIPv6(req.host) ? "udp6" : "udp4");
  const finish = settle(req, () => sock.close());
  sock.once("message", () => finish("connected"));
  // A connected UDP socket turns an ICMP port or host unreachable into an error.
  sock.once("error", (e: NodeJS.ErrnoException) => finish(outcomeOf(e), e.code));
  sock.connect(req.port, req.host, () => sock.send(`probe ${req.id}`));
}

function serveTcp(port: number): Promise<net.Server> {
  const server = net.createServer((conn) => {
    conn.on("error", () => {});
    conn.end();
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

/** Starts the SCTP peer and resolves once it reports its sockets open. */
function startSctpPeer(
  config: ProberConfig,
  onReply: (line: string) => void,
): Promise<ChildProcessWithoutNullStreams> {
  const ports = config.ports.filter((p) => p.protocol === "SCTP").map((p) => p.port);
  const script = join(import.meta.dirname, "sctp-peer.py");
  const child = spawn(config.python, [script, ports.join(",")], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
    process.stderr.write(b);
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`sctp peer exited with ${code}: ${stderr}`)));
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line.includes('"ready"')) resolve(child);
      else onReply(line);
    });
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as ProberConfig;
  const servers: { close(): unknown }[] = [];
  for (const { port, protocol } of config.ports) {
    if (protocol === "TCP") servers.push(await serveTcp(port));
    if (protocol === "UDP") servers.push(await serveUdp(port));
  }
  const sctp = await startSctpPeer(config, (line) => process.stdout.write(`${line}\n`));
  send({ ready: true });
  const requests = createInterface({ input: process.stdin });
  requests.on("line", (line) => {
    const req = JSON.parse(line) as ProbeRequest;
    if (req.protocol === "TCP") probeTcp(req);
    else if (req.protocol === "UDP") probeUdp(req);
    else sctp.stdin.write(`${line}\n`);
  });
  requests.on("close", () => {
    for (const s of servers) s.close();
    sctp.kill();
    process.exit(0);
  });
}

main().catch((e: Error) => {
  process.stderr.write(`prober: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
