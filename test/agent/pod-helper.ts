// Runs inside a test pod's network namespace: echo servers on the TCP and UDP ports given in
// argv[2] (JSON {tcp, udp}), and probes on request. Requests arrive on stdin and replies leave
// on stdout, one JSON object per line, matched by id:
//   {id, op: "tcp"|"udp", host, port, timeoutMs} -> {id, connected}
//   {id, op: "open", host, port, timeoutMs}      -> {id, connected}   (keeps the connection)
//   {id, op: "send", conn, data, timeoutMs}      -> {id, echoed}      (over a kept connection)

import { createSocket } from "node:dgram";
import { connect, createServer, type Socket } from "node:net";
import { createInterface } from "node:readline";

interface Request {
  id: number;
  op: "tcp" | "udp" | "open" | "send";
  host: string;
  port: number;
  timeoutMs: number;
  conn?: number;
  data?: string;
}

const ports = JSON.parse(process.argv[2] ?? "{}") as { tcp?: number[]; udp?: number[] };
for (const port of ports.tcp ?? []) {
  createServer((s) => {
    s.on("data", (d) => s.write(d));
    s.on("error", () => {});
  }).listen({ port, host: "::", ipv6Only: false });
}
for (const port of ports.udp ?? []) {
  const sock = createSocket({ type: "udp6", ipv6Only: false });
  sock.on("message", (msg, from) => sock.send(msg, from.port, from.address));
  sock.bind(port, "::");
}

const kept = new Map<number, Socket>();
const reply = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);

function tcp(r: Request, keep: boolean): void {
  const s = connect({ host: r.host, port: r.port });
  const done = (connected: boolean) => {
    clearTimeout(timer);
    if (connected && keep) kept.set(r.id, s);
    else s.destroy();
    reply({ id: r.id, connected });
  };
  const timer = setTimeout(() => done(false), r.timeoutMs);
  s.once("connect", () => done(true));
  s.once("error", () => done(false));
}

function udp(r: Request): void {
  const s = createSocket(r.host.includes(":") ? "udp6" : "udp4");
  const done = (connected: boolean) => {
    clearTimeout(timer);
    s.close();
    reply({ id: r.id, connected });
  };
  const timer = setTimeout(() => done(false), r.timeoutMs);
  s.once("message", () => done(true));
  s.once("error", () => done(false));
  s.send("ping", r.port, r.host);
}

function send(r: Request): void {
  const s = kept.get(r.conn ?? -1);
  if (!s) {
    reply({ id: r.id, echoed: false });
    return;
  }
  const timer = setTimeout(() => {
    s.off("data", onData);
    reply({ id: r.id, echoed: false });
  }, r.timeoutMs);
  const onData = (d: Buffer) => {
    clearTimeout(timer);
    reply({ id: r.id, echoed: d.toString() === r.data });
  };
  s.once("data", onData);
  s.write(r.data ?? "");
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const r = JSON.parse(line) as Request;
  if (r.op === "tcp" || r.op === "open") tcp(r, r.op === "open");
  else if (r.op === "udp") udp(r);
  else send(r);
});
process.stdin.on("end", () => process.exit(0));
reply({ id: 0, ready: true });
