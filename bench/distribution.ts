// Many nodes following one store: `--agents` (20) agent processes, each as on a node of its own
// (bench/distribution-agent.ts, memory dataplane), follow one API server in this process, whose
// store is SQLite; a writer sends pod events at `--rate` for `--seconds` (10), open loop (each
// write is sent on time, whatever the previous ones are doing). `--status-share` (0.5) of them
// are status-only updates of a seeded pod (a restart: readiness and restart count, what about
// half of a cluster's pod writes are), the rest creations; every created pod joins the peer set
// of a policy that selects workloads on every node, so every creation changes every node's
// table (the worst case of fan-out). Pods are `--shape` cluster (what a Deployment's pod
// carries; bare for the policy fields only). Run once with scoped agents (peersOf on the wire,
// peer views held: the product's) and once with agents holding everything whole.
// The rate is 20/s by default, not the 100/s (`--rate 100`): all agents share this
// machine's 2 cores, and 20 agents at 100 events/s need more CPU than that (the bench reports
// each agent's CPU per event, which gives the cores 100/s takes); on a real cluster each agent
// has its node's cores.
//   event to enforced   from a creation's start to each agent reporting its revision in force
//                       (per node), and to the last node doing so (on every node)
//   CPU                 this process (API server, store, the writer) and etcd's, as % of one
//                       core over the events; each agent's
//   memory              each agent's heap and RSS after a full collection, and what it holds
//   wire                bytes and lines the API server wrote to each agent's watch over the
//                       events, and the updates it held back (the view unchanged)
// Then the same with `--pair-agents` (5) on SQLite and on etcd (test/etcd-server.ts) behind
// the API server, in this process: the etcd/SQLite ratio (creations only, bare pods).
// `npm run bench -- distribution [--agents N] [--pair-agents N] [--rate N] [--seconds N]
//  [--pods N] [--status-share F] [--shape cluster|bare] [--bar-only] [--scope-agents N]
//  [--scope-pods N] [--scope-only] [--json]`; `--bar-only` runs only the scoped/whole pair.
// Scoping: `--scope-agents` (10) agents over `--scope-pods` (100) pods per node, cluster-shaped
// (what a pod of a Deployment carries), once holding every object whole and once holding other
// nodes' pods as peer views (`microseg agent --server`'s way), same writes: heap, RSS, CPU per
// event and latency side by side; `--scope-only` runs only that pair.
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { globalAgent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient } from "../src/client/index.ts";
import { openDatastore } from "../src/datastore/index.ts";
import { type Resource, validResource } from "../src/model/index.ts";
import { peerView } from "../src/policy/index.ts";
import { startServer } from "../src/server/index.ts";
import { startEtcd } from "../test/etcd-server.ts";
import type { AgentMessage } from "./distribution-agent.ts";
import {
  type BenchArgs,
  type BenchReport,
  type BenchRow,
  intArg,
  load1,
  median,
  nowMs,
  summarize,
} from "./lib.ts";

const NAMESPACES = 10;
const WRITER_SOCKETS = 32;
const epochNow = () => performance.timeOrigin + nowMs();

/** Pods as the bench writes them: bare, or as a cluster serves them (`cluster`). */
type PodShape = "bare" | "cluster";

function pod(
  name: string,
  ns: number,
  node: string,
  app: string,
  ip: string,
  shape: PodShape = "bare",
  restarts = 0,
): Resource {
  const bare = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: `ns-${ns}`,
      labels: { app },
      // A bare pod's status-only update: something no peer view keeps.
      ...(shape === "bare" && restarts > 0 ? { annotations: { restarts: String(restarts) } } : {}),
    },
    spec: { nodeName: node, containers: [{ name: "c", ports: [{ containerPort: 80 }] }] },
    status: { phase: "Running", podIP: ip },
  };
  return validResource(shape === "bare" ? bare : clusterShaped(bare, restarts));
}

/**
 * What a pod of a Deployment carries in a cluster besides what policy reads (a trimmed
 * `kubectl get pod -o json`: about 3 KB of JSON against the bare pod's 0.3 KB).
 */
function clusterShaped(
  p: {
    metadata: Record<string, unknown>;
    spec: Record<string, unknown>;
    status: Record<string, unknown>;
  },
  restarts: number,
) {
  const time = "2026-12-02T10:00:00Z";
  const fields = (keys: string[]) => Object.fromEntries(keys.map((k) => [`f:${k}`, {}]));
  return {
    ...p,
    metadata: {
      ...p.metadata,
      labels: { ...(p.metadata.labels as object), "pod-template-hash": "7d4b9c8f6d" },
      annotations: { "kubectl.kubernetes.io/restartedAt": time, "prometheus.io/scrape": "true" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "web-7d4b9c8f6d",
          uid: "u",
          controller: true,
        },
      ],
      managedFields: [
        {
          manager: "kube-controller-manager",
          operation: "Update",
          time,
          fieldsV1: fields([
            "metadata",
            "spec",
            "labels",
            "ownerReferences",
            "containers",
            "volumes",
          ]),
        },
        {
          manager: "kubelet",
          operation: "Update",
          subresource: "status",
          time,
          fieldsV1: fields([
            "conditions",
            "containerStatuses",
            "hostIP",
            "phase",
            "podIP",
            "podIPs",
            "startTime",
          ]),
        },
      ],
    },
    spec: {
      ...p.spec,
      serviceAccountName: "default",
      containers: [
        {
          name: "c",
          image: "registry.example/web:1.25.3",
          ports: [{ containerPort: 80, protocol: "TCP" }],
          env: [
            { name: "MODE", value: "production" },
            { name: "LOG_LEVEL", value: "info" },
          ],
          resources: {
            limits: { cpu: "500m", memory: "256Mi" },
            requests: { cpu: "100m", memory: "64Mi" },
          },
          volumeMounts: [
            {
              name: "kube-api-access",
              mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
              readOnly: true,
            },
          ],
          terminationMessagePath: "/dev/termination-log",
          imagePullPolicy: "IfNotPresent",
        },
      ],
      volumes: [
        {
          name: "kube-api-access",
          projected: {
            sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }],
          },
        },
      ],
      tolerations: [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
      ],
      restartPolicy: "Always",
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
    },
    status: {
      ...p.status,
      podIPs: [{ ip: p.status.podIP }],
      hostIP: "198.19.0.1",
      startTime: time,
      qosClass: "Burstable",
      // A status-only update (a container restarted): readiness flips, the restart count moves.
      conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
        type,
        status: restarts % 2 === 1 && type.includes("Ready") ? "False" : "True",
        lastTransitionTime: time,
      })),
      containerStatuses: [
        {
          name: "c",
          ready: true,
          started: true,
          restartCount: restarts,
          image: "registry.example/web:1.25.3",
          imageID: `registry.example/web@sha256:${"ab".repeat(32)}`,
          containerID: `containerd://${"cd".repeat(32)}`,
          state: { running: { startedAt: time } },
        },
      ],
    },
  };
}

/** Namespaces, `pods` web pods on each node, and in each namespace a policy over them. */
function seed(nodes: number, pods: number, shape: PodShape): Resource[] {
  const out: Resource[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    out.push(validResource({ apiVersion: "v1", kind: "Namespace", metadata: { name: `ns-${n}` } }));
    out.push(
      validResource({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "from-clients", namespace: `ns-${n}` },
        spec: {
          podSelector: { matchLabels: { app: "web" } },
          ingress: [
            { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "client" } } }] },
          ],
        },
      }),
    );
  }
  for (let n = 0; n < nodes; n++) {
    for (let p = 0; p < pods; p++) {
      const i = n * pods + p;
      out.push(pod(`web-${i}`, i % NAMESPACES, `node-${n}`, "web", ip(18, i), shape));
    }
  }
  return out;
}

const ip = (second: number, i: number) => `198.${second}.${(i >> 8) & 255}.${i & 255}`;

/** Clock ticks of user and system time of a process, from /proc (etcd's CPU). */
function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLK_TCK;
}
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

type Report = Extract<AgentMessage, { type: "report" }>;

/** The API server's watch counters (its /metrics): bytes and events written, updates held. */
async function wireCounters(
  server: string,
): Promise<{ bytes: number; events: number; held: number }> {
  const text = await (await fetch(`${server}/metrics`)).text();
  const sum = (name: string) =>
    [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  return {
    bytes: sum("microseg_api_watch_bytes_total"),
    events: sum("microseg_api_watch_events_total"),
    held: sum("microseg_api_watch_held_total"),
  };
}

/** An agent process: its statuses in arrival order, and its answers to "report". */
class AgentProcess {
  readonly statuses: { revision: number; at: number }[] = [];
  readonly #child: ChildProcess;
  #reached: { revision: number; resolve: () => void } | undefined;
  #report: ((r: Report) => void) | undefined;

  constructor(server: string, node: string, scoped: boolean) {
    const script = fileURLToPath(new URL("./distribution-agent.ts", import.meta.url));
    this.#child = fork(script, [server, node, scoped ? "scoped" : "whole"], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    this.#child.on("message", (m: AgentMessage) => {
      if (m.type === "report") this.#report?.(m);
      else {
        this.statuses.push({ revision: m.revision, at: m.at });
        if (this.#reached && m.revision >= this.#reached.revision) this.#reached.resolve();
      }
    });
  }

  get revision(): number {
    return this.statuses.at(-1)?.revision ?? 0;
  }

  /** Resolves when the agent reports `revision` in force: on its status event, no polling. */
  reached(revision: number, timeoutMs: number): Promise<void> {
    if (this.revision >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`bench distribution: revision ${revision} not enforced`)),
        timeoutMs,
      );
      this.#reached = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          this.#reached = undefined;
          resolve();
        },
      };
    });
  }

  report(): Promise<Report> {
    return new Promise((resolve) => {
      this.#report = resolve;
      this.#child.send("report");
    });
  }

  /** First status at or past `revision`, in epoch ms. */
  enforcedAt(revision: number): number {
    let lo = 0;
    let hi = this.statuses.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.statuses[mid]!.revision >= revision) hi = mid;
      else lo = mid + 1;
    }
    const s = this.statuses[lo];
    if (!s || s.revision < revision) throw new Error(`bench distribution: ${revision} not seen`);
    return s.at;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = once(this.#child, "exit");
    this.#child.send("stop");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

interface RunFigures {
  readonly agents: number;
  readonly events: number;
  readonly achievedRate: number;
  readonly perNode: { p50: number; p99: number };
  /** From a write's start to its response: the store's share, before any fan-out. */
  readonly acknowledged: { p50: number; p99: number };
  readonly everyNode: { p50: number; p99: number; max: number };
  /** % of one core over the events window. */
  readonly serverCpu: number;
  readonly etcdCpu: number | undefined;
  readonly agentCpu: number;
  /** An agent's CPU time per event (ms): what a rate costs each node. */
  readonly agentCpuPerEventMs: number;
  readonly agentHeapMb: number;
  readonly agentRssMb: number;
  readonly agentResources: number;
  /** Heap growth per object the agent took in during the events (KB). */
  readonly agentHeapPerObjectKb: number;
  readonly agentEndpoints: number;
  readonly storeObjects: number;
  /** A written pod as stored, JSON bytes (median): the body of its watch event. */
  readonly objectBytes: number;
  /** Its peer view (what `peersOf` sends other nodes, less the resourceVersion). */
  readonly viewBytes: number;
  /** Creations (each changes every node's table) and status-only updates among the events. */
  readonly creations: number;
  readonly statusUpdates: number;
  /** What the API server wrote to one agent's watch over the events (mean over agents). */
  readonly wireBytesPerAgent: number;
  readonly wireEventsPerAgent: number;
  /** Updates held back from one agent because its view of the pod was unchanged. */
  readonly heldPerAgent: number;
}

interface RunOptions {
  readonly storeUrl: string;
  readonly etcdPid?: number;
  /** Agents follow the store itself (as Felix follows etcd), not the API server. */
  readonly direct?: boolean;
  /** Agents hold other nodes' pods as peer views (the product's agent does); true by default. */
  readonly scoped?: boolean;
  readonly shape?: PodShape;
  /** Share of the events that are status-only updates of a seeded pod (0 by default). */
  readonly statusShare?: number;
  readonly agents: number;
  readonly pods: number;
  readonly rate: number;
  readonly seconds: number;
}

async function run(o: RunOptions): Promise<RunFigures> {
  const { storeUrl, etcdPid, agents, pods, rate, seconds } = o;
  const shape = o.shape ?? "bare";
  const store = await openDatastore(storeUrl);
  const server = await startServer({ store, port: 0 });
  // Open-loop writes past what this machine carries queue behind the store for longer than the
  // client's default 30 s: they are waited for (on at most WRITER_SOCKETS connections, so the
  // queue is the writer's, not a listen backlog that resets), and the achieved rate says so.
  const client = new ApiClient({ server: server.url, timeoutMs: 600_000 });
  globalAgent.maxSockets = WRITER_SOCKETS;
  const procs: AgentProcess[] = [];
  try {
    await client.applySet(seed(agents, pods, shape));
    const seeded = await client.revision();
    for (let n = 0; n < agents; n++)
      procs.push(new AgentProcess(o.direct ? storeUrl : server.url, `node-${n}`, o.scoped ?? true));
    await Promise.all(procs.map((p) => p.reached(seeded, 300_000)));
    const before = await Promise.all(procs.map((p) => p.report()));

    const events = rate * seconds;
    const share = o.statusShare ?? 0;
    const seededPods = agents * pods;
    const wire0 = await wireCounters(server.url);
    const cpu0 = process.cpuUsage();
    const etcd0 = etcdPid === undefined ? 0 : procCpuMs(etcdPid);
    const t0 = nowMs();
    const writes: Promise<{
      start: number;
      ack: number;
      revision: number;
      bytes: number;
      viewBytes: number;
    }>[] = [];
    const updates: Promise<number>[] = [];
    let created = 0;
    for (let i = 0; i < events; i++) {
      const wait = t0 + (i * 1000) / rate - nowMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Evenly spread: event i is status-only when the running share steps past a whole one.
      if (seededPods > 0 && Math.floor((i + 1) * share) > Math.floor(i * share)) {
        const k = updates.length % seededPods;
        const restarts = Math.floor(updates.length / seededPods) + 1;
        const web = pod(
          `web-${k}`,
          k % NAMESPACES,
          `node-${Math.floor(k / pods)}`,
          "web",
          ip(18, k),
          shape,
          restarts,
        );
        updates.push(client.applySet([web]).then((r) => r.revision));
        continue;
      }
      const c = created++;
      const start = epochNow();
      const p = pod(
        `client-${c}`,
        c % NAMESPACES,
        `node-${c % agents}`,
        "client",
        ip(19, c),
        shape,
      );
      writes.push(
        client.create(p).then((c) => ({
          start,
          ack: epochNow() - start,
          revision: Number(c.metadata.resourceVersion),
          bytes: JSON.stringify(c).length,
          viewBytes: JSON.stringify(peerView(c, "node-elsewhere")).length,
        })),
      );
    }
    const done = await Promise.all(writes);
    const updated = await Promise.all(updates);
    const sentMs = nowMs() - t0;
    const last = Math.max(...done.map((w) => w.revision), ...updated);
    await Promise.all(procs.map((p) => p.reached(last, 120_000)));
    const windowMs = nowMs() - t0;
    const cpu = process.cpuUsage(cpu0);
    const etcdMs = etcdPid === undefined ? undefined : procCpuMs(etcdPid) - etcd0;
    const after = await Promise.all(procs.map((p) => p.report()));
    const wire1 = await wireCounters(server.url);

    const perNode: number[] = [];
    const everyNode: number[] = [];
    for (const w of done) {
      const at = procs.map((p) => p.enforcedAt(w.revision) - w.start);
      perNode.push(...at);
      everyNode.push(Math.max(...at));
    }
    const pct = (ms: number) => (ms / windowMs) * 100;
    return {
      agents,
      events,
      achievedRate: events / (sentMs / 1000),
      perNode: summarize(perNode),
      acknowledged: summarize(done.map((w) => w.ack)),
      everyNode: summarize(everyNode),
      serverCpu: pct((cpu.user + cpu.system) / 1000),
      etcdCpu: etcdMs === undefined ? undefined : pct(etcdMs),
      agentCpu: median(after.map((a, i) => pct(a.cpuMs - before[i]!.cpuMs))),
      agentCpuPerEventMs: median(after.map((a, i) => (a.cpuMs - before[i]!.cpuMs) / events)),
      agentHeapMb: median(after.map((a) => a.heapMb)),
      agentRssMb: median(after.map((a) => a.rssMb)),
      agentResources: median(after.map((a) => a.resources)),
      agentHeapPerObjectKb: median(
        after.map(
          (a, i) => ((a.heapMb - before[i]!.heapMb) * 1024) / (a.resources - before[i]!.resources),
        ),
      ),
      agentEndpoints: median(after.map((a) => a.endpoints)),
      storeObjects: (await store.snapshot()).items.length,
      objectBytes: median(done.map((w) => w.bytes)),
      viewBytes: median(done.map((w) => w.viewBytes)),
      creations: done.length,
      statusUpdates: updated.length,
      // Every watcher of this server is one of the agents (none in the direct runs).
      wireBytesPerAgent: (wire1.bytes - wire0.bytes) / agents,
      wireEventsPerAgent: (wire1.events - wire0.events) / agents,
      heldPerAgent: (wire1.held - wire0.held) / agents,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await server.close();
    await store.close();
  }
}

/**
 * The same writes to agents holding every object whole and to agents holding other nodes' pods
 * as peer views, pods cluster-shaped, on SQLite behind the API server: what scoping saves.
 */
async function scopeRuns(
  dir: string,
  args: BenchArgs,
  rate: number,
  seconds: number,
): Promise<Pick<BenchReport, "figures" | "rows">> {
  const agents = intArg(args, "scope-agents", 10);
  const pods = intArg(args, "scope-pods", 100);
  const common = { agents, pods, rate, seconds, shape: "cluster" as const };
  const whole = await run({
    ...common,
    storeUrl: `sqlite:${join(dir, "whole.db")}`,
    scoped: false,
  });
  const scoped = await run({ ...common, storeUrl: `sqlite:${join(dir, "scoped.db")}` });
  const r2 = (n: number) => Number(n.toFixed(2));
  const x = (a: number, b: number) => `whole ${r2(b)}, scoped/whole ${(a / b).toFixed(2)}x`;
  const figures: Record<string, number> = {};
  for (const [prefix, f] of [
    ["whole", whole],
    ["scoped", scoped],
  ] as const) {
    Object.assign(figures, {
      [`${prefix}AgentHeapMb`]: r2(f.agentHeapMb),
      [`${prefix}AgentRssMb`]: r2(f.agentRssMb),
      [`${prefix}AgentHeapPerObjectKb`]: r2(f.agentHeapPerObjectKb),
      [`${prefix}AgentCpuPerEventMs`]: r2(f.agentCpuPerEventMs),
      [`${prefix}AgentResources`]: f.agentResources,
      [`${prefix}EveryNodeP50Ms`]: r2(f.everyNode.p50),
      [`${prefix}EveryNodeP99Ms`]: r2(f.everyNode.p99),
      [`${prefix}ObjectBytes`]: f.objectBytes,
    });
  }
  return {
    figures,
    rows: [
      {
        metric: `scoping: ${agents} agents, ${agents * pods} cluster-shaped pods`,
        value: scoped.agentHeapMb,
        unit: "MB heap",
        note: `scoped agent (median, after GC); ${x(scoped.agentHeapMb, whole.agentHeapMb)}`,
      },
      {
        metric: "  heap per pod taken in",
        value: scoped.agentHeapPerObjectKb,
        unit: "KB",
        note: `${x(scoped.agentHeapPerObjectKb, whole.agentHeapPerObjectKb)}; ${(agents - 1) / agents} of them other nodes'`,
      },
      {
        metric: "  RSS",
        value: scoped.agentRssMb,
        unit: "MB",
        note: x(scoped.agentRssMb, whole.agentRssMb),
      },
      {
        metric: "  objects held",
        value: scoped.agentResources,
        note: `whole ${whole.agentResources}: every object kept, peers as views`,
      },
      {
        metric: "  agent CPU per event",
        value: scoped.agentCpuPerEventMs,
        unit: "ms",
        note: x(scoped.agentCpuPerEventMs, whole.agentCpuPerEventMs),
      },
      {
        metric: "  every node p50 / p99",
        value: `${r2(scoped.everyNode.p50)} / ${r2(scoped.everyNode.p99)}`,
        unit: "ms",
        note: `whole ${r2(whole.everyNode.p50)} / ${r2(whole.everyNode.p99)}`,
      },
      {
        metric: "  watch event body",
        value: scoped.objectBytes,
        unit: "bytes",
        note: `a written pod as stored (JSON); as other nodes get it (peersOf) ${scoped.viewBytes}`,
      },
    ],
  };
}

const r2 = (n: number) => Number(n.toFixed(2));

/** One run's figures under `prefix` in the JSON. */
function putFigures(figures: Record<string, number | string>, prefix: string, f: RunFigures): void {
  Object.assign(figures, {
    [`${prefix}Agents`]: f.agents,
    [`${prefix}AchievedRate`]: r2(f.achievedRate),
    [`${prefix}PerNodeP50Ms`]: r2(f.perNode.p50),
    [`${prefix}PerNodeP99Ms`]: r2(f.perNode.p99),
    [`${prefix}AcknowledgedP50Ms`]: r2(f.acknowledged.p50),
    [`${prefix}AcknowledgedP99Ms`]: r2(f.acknowledged.p99),
    [`${prefix}EveryNodeP50Ms`]: r2(f.everyNode.p50),
    [`${prefix}EveryNodeP99Ms`]: r2(f.everyNode.p99),
    [`${prefix}EveryNodeMaxMs`]: r2(f.everyNode.max),
    [`${prefix}ServerCpuPct`]: r2(f.serverCpu),
    [`${prefix}AgentCpuPct`]: r2(f.agentCpu),
    [`${prefix}AgentCpuPerEventMs`]: r2(f.agentCpuPerEventMs),
    [`${prefix}AgentHeapMb`]: r2(f.agentHeapMb),
    [`${prefix}AgentRssMb`]: r2(f.agentRssMb),
    [`${prefix}AgentResources`]: f.agentResources,
    [`${prefix}AgentHeapPerObjectKb`]: r2(f.agentHeapPerObjectKb),
    [`${prefix}AgentEndpoints`]: f.agentEndpoints,
    [`${prefix}StoreObjects`]: f.storeObjects,
    [`${prefix}Creations`]: f.creations,
    [`${prefix}StatusUpdates`]: f.statusUpdates,
    [`${prefix}WireBytesPerAgent`]: Math.round(f.wireBytesPerAgent),
    [`${prefix}WireEventsPerAgent`]: r2(f.wireEventsPerAgent),
    [`${prefix}HeldPerAgent`]: r2(f.heldPerAgent),
    ...(f.etcdCpu === undefined ? {} : { [`${prefix}EtcdCpuPct`]: r2(f.etcdCpu) }),
  });
}

/**
 * The bar: `--agents` (20) agent processes on one store (SQLite behind the API server)
 * under `--rate` pod events/s, `--status-share` (0.5) of them status-only updates of a seeded
 * pod, the rest creations that change every node's table; pods `--shape` (cluster) as a
 * Deployment's. Once with scoped agents (the product's: peersOf on the wire, views held), once
 * with agents holding everything whole, same process.
 */
async function barRuns(
  dir: string,
  args: BenchArgs,
  common: { agents: number; pods: number; rate: number; seconds: number },
): Promise<Pick<BenchReport, "figures" | "rows"> & { scoped: RunFigures }> {
  const statusShare = Number(args["status-share"] ?? 0.5);
  if (!(statusShare >= 0 && statusShare < 1))
    throw new Error(`--status-share: ${args["status-share"]} is not from 0 to below 1`);
  const shape = (args.shape ?? "cluster") as PodShape;
  if (shape !== "cluster" && shape !== "bare") throw new Error(`--shape: cluster or bare`);
  const o = { ...common, statusShare, shape };
  const scoped = await run({ ...o, storeUrl: `sqlite:${join(dir, "many.db")}` });
  const whole = await run({
    ...o,
    storeUrl: `sqlite:${join(dir, "many-whole.db")}`,
    scoped: false,
  });
  const figures: Record<string, number | string> = { statusShare, shape };
  putFigures(figures, "many", scoped);
  putFigures(figures, "manyWhole", whole);
  // The bar's names, for the scoped agents (the product) and the whole ones beside them.
  for (const [suffix, f] of [
    ["", scoped],
    ["Whole", whole],
  ] as const) {
    Object.assign(figures, {
      [`eventToEnforcedEveryNodeP99Ms${suffix}`]: r2(f.everyNode.p99),
      [`eventToEnforcedEveryNodeP50Ms${suffix}`]: r2(f.everyNode.p50),
      [`storeAndApiCpuPct${suffix}`]: r2(f.serverCpu),
      [`perAgentHeapMb${suffix}`]: r2(f.agentHeapMb),
      [`perAgentRssMb${suffix}`]: r2(f.agentRssMb),
      [`perAgentCpuPct${suffix}`]: r2(f.agentCpu),
      [`perAgentWireBytes${suffix}`]: Math.round(f.wireBytesPerAgent),
    });
  }
  const x = (a: number, b: number) => `whole ${r2(b)}, scoped/whole ${(a / b).toFixed(2)}x`;
  const { agents, rate } = common;
  const rows: BenchRow[] = [
    {
      metric: "events",
      value: scoped.events,
      note: `${r2(scoped.achievedRate)}/s written and acknowledged (asked ${rate}/s): ${scoped.creations} creations (each changes every node), ${scoped.statusUpdates} status-only updates; ${shape} pods`,
    },
    {
      metric: "event to enforced on every node p50",
      value: r2(scoped.everyNode.p50),
      unit: "ms",
      note: `${agents} scoped agent processes, SQLite behind the API server; ${x(scoped.everyNode.p50, whole.everyNode.p50)}`,
    },
    {
      metric: "  p99",
      value: r2(scoped.everyNode.p99),
      unit: "ms",
      note: x(scoped.everyNode.p99, whole.everyNode.p99),
    },
    { metric: "  max", value: r2(scoped.everyNode.max), unit: "ms" },
    { metric: "event to enforced per node p50", value: r2(scoped.perNode.p50), unit: "ms" },
    { metric: "  p99", value: r2(scoped.perNode.p99), unit: "ms" },
    {
      metric: "write acknowledged p50",
      value: r2(scoped.acknowledged.p50),
      unit: "ms",
      note: `the store's share, before any fan-out; p99 ${r2(scoped.acknowledged.p99)}`,
    },
    {
      metric: "store + API server CPU",
      value: r2(scoped.serverCpu),
      unit: "% of a core",
      note: `this process, the writer included; ${x(scoped.serverCpu, whole.serverCpu)}`,
    },
    {
      metric: "agent CPU (median)",
      value: r2(scoped.agentCpu),
      unit: "% of a core",
      note: x(scoped.agentCpu, whole.agentCpu),
    },
    {
      metric: "  per event",
      value: r2(scoped.agentCpuPerEventMs),
      unit: "ms",
      note: `${x(scoped.agentCpuPerEventMs, whole.agentCpuPerEventMs)}; all ${agents} at 100/s: ${r2((scoped.agentCpuPerEventMs * 100 * agents) / 1000)} cores`,
    },
    {
      metric: "agent heap (median)",
      value: r2(scoped.agentHeapMb),
      unit: "MB",
      note: `after GC; ${x(scoped.agentHeapMb, whole.agentHeapMb)}`,
    },
    {
      metric: "agent RSS (median)",
      value: r2(scoped.agentRssMb),
      unit: "MB",
      note: x(scoped.agentRssMb, whole.agentRssMb),
    },
    {
      metric: "objects one agent holds",
      value: scoped.agentResources,
      note: `of ${scoped.storeObjects} in the store; ${scoped.agentEndpoints} endpoints its own`,
    },
    {
      metric: "  agent heap per object taken in",
      value: r2(scoped.agentHeapPerObjectKb),
      unit: "KB",
      note: `growth over the events / objects added (median agent); ${x(scoped.agentHeapPerObjectKb, whole.agentHeapPerObjectKb)}`,
    },
    {
      metric: "watch bytes per agent",
      value: Math.round(scoped.wireBytesPerAgent),
      unit: "bytes",
      note: `over the events; ${x(scoped.wireBytesPerAgent, whole.wireBytesPerAgent)}`,
    },
    {
      metric: "  lines per agent",
      value: r2(scoped.wireEventsPerAgent),
      note: `events and bookmarks; whole ${r2(whole.wireEventsPerAgent)}; held back (view unchanged) ${r2(scoped.heldPerAgent)}`,
    },
  ];
  return { figures, rows, scoped };
}

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const agents = intArg(args, "agents", 20);
  const pairAgents = intArg(args, "pair-agents", 5);
  const rate = intArg(args, "rate", 20);
  const seconds = intArg(args, "seconds", 10);
  const pods = intArg(args, "pods", 10);
  const loadBefore = load1();
  const dir = mkdtempSync(join(tmpdir(), "microseg-bench-distribution-"));
  const loadRow = (after: number): BenchRow => ({
    metric: "load average (1 min)",
    value: `${loadBefore} -> ${after}`,
    note: "2 cores",
  });
  if (args["scope-only"] || args["bar-only"]) {
    try {
      const part = args["scope-only"]
        ? await scopeRuns(dir, args, rate, seconds)
        : await barRuns(dir, args, { agents, pods, rate, seconds });
      const loadAfter = load1();
      return {
        figures: { loadBefore, loadAfter, rate, seconds, ...part.figures },
        rows: [loadRow(loadAfter), ...part.rows],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const etcd = await startEtcd();
  try {
    const common = { pods, rate, seconds };
    const bar = await barRuns(dir, args, { ...common, agents });
    const sqlite = await run({
      ...common,
      agents: pairAgents,
      storeUrl: `sqlite:${join(dir, "pair.db")}`,
    });
    const onEtcd = await run({
      ...common,
      agents: pairAgents,
      storeUrl: etcd.url,
      etcdPid: etcd.pid,
    });
    // A fresh prefix, so the direct run starts from an empty store as the others do.
    const direct = await run({
      ...common,
      agents: pairAgents,
      storeUrl: `${etcd.url}/direct`,
      etcdPid: etcd.pid,
      direct: true,
    });
    const scope = await scopeRuns(dir, args, rate, seconds);
    const loadAfter = load1();
    const figures: Record<string, number | string> = { loadBefore, loadAfter, rate, seconds };
    Object.assign(figures, bar.figures);
    putFigures(figures, "sqlite", sqlite);
    putFigures(figures, "etcd", onEtcd);
    putFigures(figures, "etcdDirect", direct);
    Object.assign(figures, scope.figures);
    const ratio = (a: number, b: number) => `etcd/SQLite ${(a / b).toFixed(2)}x`;
    return {
      figures,
      rows: [
        loadRow(loadAfter),
        ...bar.rows,
        {
          metric: `${pairAgents} agents, etcd: every node p50`,
          value: onEtcd.everyNode.p50,
          unit: "ms",
          note: `SQLite ${r2(sqlite.everyNode.p50)} ms, ${ratio(onEtcd.everyNode.p50, sqlite.everyNode.p50)}`,
        },
        {
          metric: "  p99",
          value: onEtcd.everyNode.p99,
          unit: "ms",
          note: `SQLite ${r2(sqlite.everyNode.p99)} ms, ${ratio(onEtcd.everyNode.p99, sqlite.everyNode.p99)}`,
        },
        {
          metric: "  API server CPU",
          value: onEtcd.serverCpu,
          unit: "% of a core",
          note: `SQLite (store included) ${r2(sqlite.serverCpu)}, ${ratio(onEtcd.serverCpu, sqlite.serverCpu)}`,
        },
        { metric: "  etcd CPU", value: onEtcd.etcdCpu ?? Number.NaN, unit: "% of a core" },
        {
          metric: `${pairAgents} agents on etcd directly: every node p50`,
          value: direct.everyNode.p50,
          unit: "ms",
          note: `through the API server ${r2(onEtcd.everyNode.p50)} ms, direct/API ${(direct.everyNode.p50 / onEtcd.everyNode.p50).toFixed(2)}x`,
        },
        {
          metric: "  p99",
          value: direct.everyNode.p99,
          unit: "ms",
          note: `through the API server ${r2(onEtcd.everyNode.p99)} ms, direct/API ${(direct.everyNode.p99 / onEtcd.everyNode.p99).toFixed(2)}x`,
        },
        {
          metric: "  etcd CPU",
          value: direct.etcdCpu ?? Number.NaN,
          unit: "% of a core",
          note: `through the API server ${r2(onEtcd.etcdCpu ?? Number.NaN)}; API server (no agent watches it) ${r2(direct.serverCpu)}`,
        },
        ...scope.rows,
      ],
    };
  } finally {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
