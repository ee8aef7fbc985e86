// The watchers of `bench api`'s fan-out, in a worker thread: 100 agents are 100 processes on
// other nodes, so their decoding must not sit on the server's event loop and be counted as the
// server's fan-out. Posts, per revision that every watcher has seen, when each one saw it (in
// epoch milliseconds, comparable across threads).
import { parentPort, workerData } from "node:worker_threads";
import { ApiClient } from "../src/client/index.ts";

export interface WatchersInput {
  readonly server: string;
  readonly fromRevision: number;
  readonly watchers: number;
}

export interface Arrivals {
  readonly revision: number;
  readonly at: number[];
}

const { server, fromRevision, watchers } = workerData as WatchersInput;
const client = new ApiClient({ server });
const seen = new Map<number, number[]>();
const epochNow = () => performance.timeOrigin + performance.now();

const watches = Array.from({ length: watchers }, () =>
  client.watch(
    { fromRevision },
    {
      onEvent(e) {
        if (e.type === "BOOKMARK") return;
        const at = seen.get(e.revision) ?? [];
        at.push(epochNow());
        seen.set(e.revision, at);
        if (at.length < watchers) return;
        seen.delete(e.revision);
        parentPort?.postMessage({ revision: e.revision, at } satisfies Arrivals);
      },
      onError: () => undefined,
    },
  ),
);

parentPort?.on("message", (m: unknown) => {
  if (m !== "stop") return;
  for (const w of watches) w.stop();
  parentPort?.close();
});
