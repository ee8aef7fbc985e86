// One agent of `bench distribution`, in a process of its own as on a node of its own: it follows
// the API server, or a store directly (argv: an http:// URL or a store URL, node name, and
// "scoped" to hold other nodes' pods as peer views, as `microseg agent --server` does), with the
// memory dataplane (the enforcement path
// up to the nftables transaction), and tells the parent over IPC, for every status, the
// revision in force and when (epoch milliseconds, comparable across processes). Timestamps are
// taken here, so the IPC hop is not counted. On "report" it answers with its memory after a
// full collection, its CPU time and what it holds; on "stop" it stops and exits.
import { Agent, jsonLogger } from "../src/agent/index.ts";
import { ApiClient } from "../src/client/index.ts";
import { DEFAULT_ENFORCEMENT } from "../src/dataplane/nftables/index.ts";
import { type Datastore, DatastoreSource, openDatastore } from "../src/datastore/index.ts";
import type { Resource } from "../src/model/index.ts";
import { MemoryNftables } from "../src/nft/index.ts";
import { peerView } from "../src/policy/index.ts";
import { memoryAfterGc } from "./lib.ts";

export type AgentMessage =
  | { readonly type: "status"; readonly revision: number; readonly at: number }
  | {
      readonly type: "report";
      readonly heapMb: number;
      readonly rssMb: number;
      readonly cpuMs: number;
      readonly resources: number;
      readonly endpoints: number;
    };

const [server, node, scope] = process.argv.slice(2);
if (!server || !node || !process.send) {
  throw new Error("usage: forked with IPC, arguments SERVER-OR-STORE NODE");
}
const send = (m: AgentMessage) => process.send?.(m);

/** As `microseg agent --server` follows: peer views on the wire (from the API) and held. */
function scopedSource(from: ApiClient | Datastore): DatastoreSource {
  if (scope !== "scoped") return new DatastoreSource(from);
  const project = (r: Resource) => peerView(r, node!);
  return new DatastoreSource(from instanceof ApiClient ? from.forNode(node!) : from, { project });
}

const agent = new Agent({
  node,
  source: scopedSource(
    server.startsWith("http") ? new ApiClient({ server }) : await openDatastore(server),
  ),
  nft: new MemoryNftables(),
  enforcement: { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["wl*"] },
  log: jsonLogger({ level: "error" }),
  resyncIntervalMs: 0,
});
agent.onStatus((s) =>
  send({ type: "status", revision: s.revision, at: performance.timeOrigin + performance.now() }),
);

process.on("message", (m: unknown) => {
  if (m === "report") {
    const mem = memoryAfterGc();
    const cpu = process.cpuUsage();
    const s = agent.status();
    send({
      type: "report",
      heapMb: mem.heapMb,
      rssMb: mem.rssMb,
      cpuMs: (cpu.user + cpu.system) / 1000,
      resources: s.resources,
      endpoints: s.endpoints,
    });
  } else if (m === "stop") {
    void agent.stop().then(() => process.exit(0));
  }
});
await agent.start();
