// The lab's side of one prober: a connection to its control socket that matches replies to
// requests by id. Any process can connect, so `lab probe` reaches probers that `lab up` started.

import net from "node:net";
import { createInterface } from "node:readline";
import type { ProbeReply, ProbeRequest, ServeReply } from "./protocol.ts";
import type { PortSpec } from "./topology.ts";

// A prober that stops answering must not hang the lab: a reply is given up on this long after
// the probe's own timeout.
const replyGraceMs = 3000;

type Pending = (r: ProbeReply | ServeReply | undefined) => void;

export class ProberClient {
  readonly #sock: net.Socket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  private constructor(sock: net.Socket) {
    this.#sock = sock;
    sock.on("error", () => {});
    sock.once("close", () => {
      this.#closed = true;
      for (const settle of this.#pending.values()) settle(undefined);
    });
    createInterface({ input: sock }).on("line", (line) => {
      const reply = JSON.parse(line) as ProbeReply | ServeReply;
      this.#pending.get(reply.id)?.(reply);
    });
  }

  static connect(socket: string, timeoutMs = 2000): Promise<ProberClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socket);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`no answer on ${socket} after ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once("connect", () => {
        clearTimeout(timer);
        resolve(new ProberClient(sock));
      });
      sock.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /**
   * Connects once the prober listens: it opens its socket after its servers, so a refused or
   * missing socket means not ready yet. Gives up when `alive` turns false or after `timeoutMs`.
   */
  static async whenReady(
    socket: string,
    alive: () => boolean,
    timeoutMs: number,
  ): Promise<ProberClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        // The connect may take all the time that is left: on a loaded machine this process can
        // stall for seconds, and a stalled loop runs the timer before the connect's callback.
        return await ProberClient.connect(socket, Math.max(2000, deadline - Date.now()));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ECONNREFUSED") throw e;
        if (!alive()) throw new Error("exited before it was ready");
        if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  #request<R extends ProbeReply | ServeReply>(
    body: Omit<ProbeRequest, "id"> | { op: "serve"; ports: PortSpec[] },
    waitMs: number,
    failed: (id: number, why: string) => R,
  ): Promise<R> {
    const id = this.#nextId++;
    if (this.#closed) return Promise.resolve(failed(id, "prober connection closed"));
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), waitMs);
      const settle: Pending = (r) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(
          (r as R | undefined) ??
            failed(id, this.#closed ? "prober went away" : "prober did not reply"),
        );
      };
      this.#pending.set(id, settle);
      this.#sock.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  probe(req: Omit<ProbeRequest, "id" | "op">): Promise<ProbeReply> {
    return this.#request({ ...req, op: "probe" }, req.timeoutMs + replyGraceMs, (id, message) => ({
      id,
      outcome: "error",
      ms: 0,
      message,
    }));
  }

  /** Replaces the ports the prober serves; throws when it could not open them. */
  async serve(ports: PortSpec[]): Promise<void> {
    const reply = await this.#request({ op: "serve", ports }, 10_000, (id, error) => ({
      id,
      served: [],
      error,
    }));
    if (reply.error) throw new Error(reply.error);
  }

  close(): void {
    this.#sock.destroy();
  }
}
