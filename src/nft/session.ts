// A long-lived libnftables context on a worker thread of its own, entered into the target's
// network namespace once: the kernel's nftables without a process per transaction. Requests
// are answered in order; the thread is started on first use, does not keep the process alive
// while idle, and is replaced when it dies or a request overruns its time.
//
// Small scripts (a pod event's transaction: a dozen commands, a few KiB) are committed on the
// calling thread instead, through a second context opened in the target's namespace, when the
// worker has nothing pending (so requests still take effect in order). Their commit takes about
// 1 ms; the hop to the worker and back cost as much again at the median and, with the two
// threads' wake-ups on a loaded 2-core node, most of a pod event's tail (event to live element
// at 50k pods, p99: 5.6 ms through the worker, 3.7 ms inline). The price: a kernel call that
// hangs blocks the calling thread, where the worker would be replaced after `timeoutMs`.

import { Worker } from "node:worker_threads";
import { NftError } from "./errors.ts";
import { LibNftables, type RunResult } from "./libnftables.ts";
import { inNetns } from "./netns.ts";
import type {
  WorkerClose,
  WorkerData,
  WorkerHandlesRequest,
  WorkerReply,
  WorkerRequest,
} from "./worker-protocol.ts";

export interface NftTarget {
  /** Network namespace (as `ip netns` names it) to work in; the caller's own when unset. */
  netns?: string;
  /** Gives up on a request after this long (the worker is then replaced); 30 s by default. */
  timeoutMs?: number;
}

interface Pending {
  resolve(result: RunResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Scripts up to this many characters run on the calling thread (see above). */
const INLINE_LENGTH = 64 * 1024;

// By its path from the checkout's root, which the bundle (dist/cli/, as deep as src/nft/) finds
// too: the worker runs its source through tsx, which a worker thread does not inherit.
const workerUrl = new URL("../../src/nft/worker.ts", import.meta.url).href;
const workerBoot = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl)}); });`;

export class NftSession {
  readonly #target: NftTarget;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #inline: LibNftables | undefined;
  #nextId = 1;

  constructor(target: NftTarget = {}) {
    this.#target = target;
  }

  /** Runs the script; resolves with libnftables' answer, whatever its return code. */
  request(op: WorkerRequest["op"], script: string): Promise<RunResult> {
    if (op !== "list" && script.length <= INLINE_LENGTH && this.#pending.size === 0) {
      try {
        const nft = this.#inline ?? this.#openInline();
        return Promise.resolve(nft.run(script, { dryRun: op === "check" }));
      } catch (e) {
        return Promise.reject(this.#unusable(e instanceof Error ? e.message : String(e)));
      }
    }
    return this.#send((id) => ({ id, op, script }));
  }

  #openInline(): LibNftables {
    const { netns } = this.#target;
    this.#inline = netns ? inNetns(netns, () => new LibNftables()) : new LibNftables();
    return this.#inline;
  }

  /** Reads rule handles over netlink on the worker (see rule-handles.ts). */
  requestHandles(req: Omit<WorkerHandlesRequest, "id" | "op">): Promise<RunResult> {
    return this.#send((id) => ({ id, op: "handles", ...req }));
  }

  #send(message: (id: number) => WorkerRequest | WorkerHandlesRequest): Promise<RunResult> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    const timeoutMs = this.#target.timeoutMs ?? 30_000;
    return new Promise<RunResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#stop(worker, `libnftables${this.#where()} did not answer within ${timeoutMs} ms`);
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      worker.postMessage(message(id));
    });
  }

  /**
   * Frees the inline context and ends the worker thread once it has answered what is pending; a
   * later request opens or starts them again.
   */
  async close(): Promise<void> {
    this.#inline?.free();
    this.#inline = undefined;
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    worker.ref();
    worker.postMessage({ op: "close" } satisfies WorkerClose);
    await exited;
  }

  #start(): Worker {
    const worker = new Worker(workerBoot, {
      eval: true,
      workerData: { netns: this.#target.netns } satisfies WorkerData,
    });
    worker.on("message", (reply: WorkerReply) => {
      if (reply.kind === "fatal") this.#stop(worker, reply.message);
      if (reply.kind !== "result") return;
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      clearTimeout(pending.timer);
      pending.resolve(reply);
    });
    worker.on("error", (e) => this.#stop(worker, e.message));
    worker.on("exit", (code) => this.#stop(worker, `worker exited with code ${code}`));
    // After the listeners: adding a message listener refs the worker again.
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  /** Fails every pending request and forgets the worker (terminating it). */
  #stop(worker: Worker, why: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    void worker.terminate();
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(this.#unusable(why));
      this.#pending.delete(id);
    }
  }

  #unusable(why: string): NftError {
    return new NftError("exec", `cannot use libnftables${this.#where()}: ${why}`);
  }

  #where(): string {
    return this.#target.netns ? ` in netns ${this.#target.netns}` : "";
  }
}
