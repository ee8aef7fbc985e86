// The worker thread behind a session (session.ts): enters the target network namespace once,
// opens one libnftables context there and serves requests in order until it is terminated.

import { parentPort, workerData } from "node:worker_threads";
import { LibNftables } from "./libnftables.ts";
import { enterNetns } from "./netns.ts";
import { readRuleHandles } from "./rule-handles.ts";
import type {
  WorkerClose,
  WorkerData,
  WorkerHandlesRequest,
  WorkerReply,
  WorkerRequest,
} from "./worker-protocol.ts";

const port = parentPort!;
const { netns } = workerData as WorkerData;

function open(): LibNftables | undefined {
  try {
    if (netns) enterNetns(netns);
    return new LibNftables();
  } catch (e) {
    const reply: WorkerReply = {
      kind: "fatal",
      message: e instanceof Error ? e.message : String(e),
    };
    port.postMessage(reply);
    return undefined;
  }
}

const nft = open();
if (nft) {
  port.postMessage({ kind: "ready" } satisfies WorkerReply);
  port.on("message", (req: WorkerRequest | WorkerHandlesRequest | WorkerClose) => {
    if (req.op === "close") {
      nft.free();
      port.close();
      return;
    }
    if (req.op === "handles") {
      port.postMessage({ kind: "result", id: req.id, ...handles(req) } satisfies WorkerReply);
      return;
    }
    const result = nft.run(req.script, { dryRun: req.op === "check", json: req.op === "list" });
    port.postMessage({ kind: "result", id: req.id, ...result } satisfies WorkerReply);
  });
}

function handles(req: WorkerHandlesRequest): { rc: number; output: string; error: string } {
  try {
    const read = readRuleHandles(req.family, req.table, req.chains);
    return { rc: 0, output: JSON.stringify([...read]), error: "" };
  } catch (e) {
    return { rc: 1, output: "", error: e instanceof Error ? e.message : String(e) };
  }
}
