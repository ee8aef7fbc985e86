// The watchers of `bench api`'s fan-out, in a worker thread: 100 agents are 100 processes on
// other nodes, so their work must not sit on the server's event loop and be counted as the
// server's fan-out. Each watcher is a bare HTTP stream of the agents' all-kinds watch: an
// event counts as delivered when its line's bytes have arrived, before any decoding, because
// decoding happens on each agent in parallel, while here one thread would do it 100 times in a
// row and put the last watcher behind 99 others' parsing (the bench times one decode apart).
// Posts, per revision every watcher has received, when each one did (epoch milliseconds,
// comparable across threads).
import { get } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import { WATCH_ALL_PATH } from "../src/client/index.ts";

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
const seen = new Map<number, number[]>();
const epochNow = () => performance.timeOrigin + performance.now();
const REVISION = /"resourceVersion":"(\d+)"/;

function arrived(revision: number, at: number): void {
  const times = seen.get(revision) ?? [];
  times.push(at);
  seen.set(revision, times);
  if (times.length < watchers) return;
  seen.delete(revision);
  parentPort?.postMessage({ revision, at: times } satisfies Arrivals);
}

const url = `${server}${WATCH_ALL_PATH}?watch=1&resourceVersion=${fromRevision}`;
const requests = Array.from({ length: watchers }, () => {
  let partial = "";
  const req = get(url, (res) => {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      const at = epochNow();
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const m = REVISION.exec(line);
        if (m && !line.startsWith('{"type":"BOOKMARK"')) arrived(Number(m[1]), at);
      }
    });
  });
  req.on("error", () => undefined);
  return req;
});

parentPort?.on("message", (m: unknown) => {
  if (m !== "stop") return;
  for (const r of requests) r.destroy();
  parentPort?.close();
});
