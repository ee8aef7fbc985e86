// The lab's side of one pod prober: starts it inside the pod netns and matches replies to
// requests by id.

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ProbeReply, ProbeRequest, ProberConfig, ReadyLine } from "./protocol.ts";

const proberScript = fileURLToPath(new URL("./prober.ts", import.meta.url));
const tsxLoader = import.meta.resolve("tsx");

// A prober that stops answering must not hang the lab: a reply is given up on this long after
// the probe's own timeout.
const replyGraceMs = 3000;

export class ProberClient {
  readonly pid: number;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, (r: ProbeReply) => void>();
  #nextId = 1;
  #stderr = "";
  #exited = false;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    this.pid = child.pid ?? -1;
  }

  /** Starts the prober in `netns` and resolves once its servers listen. */
  static start(
    netns: string,
    config: ProberConfig,
    startTimeoutMs = 15_000,
  ): Promise<ProberClient> {
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        netns,
        process.execPath,
        "--import",
        tsxLoader,
        proberScript,
        JSON.stringify(config),
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    const client = new ProberClient(child);
    child.stderr.on("data", (b: Buffer) => {
      client.#stderr = (client.#stderr + b.toString()).slice(-4000);
    });
    return new Promise((resolve, reject) => {
      let ready = false;
      const fail = (why: string) =>
        reject(new Error(`prober in ${netns} ${why}: ${client.#stderr.trim()}`));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        fail(`not ready after ${startTimeoutMs} ms`);
      }, startTimeoutMs);
      child.once("error", (e) => {
        clearTimeout(timer);
        fail(`could not start (${e.message})`);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        client.#exited = true;
        for (const [id, settle] of client.#pending) {
          settle({ id, outcome: "error", ms: 0, message: `prober exited with ${code}` });
        }
        if (!ready) fail(`exited with ${code}`);
      });
      createInterface({ input: child.stdout }).on("line", (line) => {
        const msg = JSON.parse(line) as ProbeReply | ReadyLine;
        if ("ready" in msg) {
          ready = true;
          clearTimeout(timer);
          resolve(client);
        } else {
          client.#pending.get(msg.id)?.(msg);
        }
      });
    });
  }

  probe(req: Omit<ProbeRequest, "id">): Promise<ProbeReply> {
    const id = this.#nextId++;
    if (this.#exited)
      return Promise.resolve({ id, outcome: "error", ms: 0, message: "prober exited" });
    return new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          settle({
            id,
            outcome: "error",
            ms: req.timeoutMs + replyGraceMs,
            message: "prober did not reply",
          }),
        req.timeoutMs + replyGraceMs,
      );
      const settle = (r: ProbeReply) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(r);
      };
      this.#pending.set(id, settle);
      this.#child.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** Closing stdin tells the prober to stop; it exits and its SCTP peer with it. */
  close(): void {
    this.#child.stdin.end();
  }
}
