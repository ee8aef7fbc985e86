// Many nodes following one store: `--agents` (20) agent processes, each as on a node of its own
// (bench/distribution-agent.ts, memory dataplane), follow one API server in this process, whose
// store is SQLite; a writer creates pods at `--rate` for `--seconds` (10), open loop (each write
// is sent on time, whatever the previous ones are doing). The rate is 20/s by default, not the
// issue's 100/s: all agents share this machine's 2 cores, and 20 agents at 100 events/s need
// more CPU than that (the bench reports each agent's CPU per event, which gives the cores 100/s
// takes); on a real cluster each agent has its node's cores. Every pod joins the peer
// set of a policy that selects workloads on every node, so every event changes every node's
// table: the worst case of fan-out.
//   event to enforced   from a write's start to each agent reporting its revision in force
//                       (per node), and to the last node doing so (on every node)
//   CPU                 this process (API server, store, the writer) and etcd's, as % of one
//                       core over the events; each agent's
//   memory              each agent's heap and RSS after a full collection, and what it holds
// Then the same with `--pair-agents` (5) on SQLite and on etcd (test/etcd-server.ts) behind
// the API server, in this process: the etcd/SQLite ratio.
// `npm run bench -- distribution [--agents N] [--pair-agents N] [--rate N] [--seconds N]
//  [--pods N] [--scope-agents N] [--scope-pods N] [--scope-only] [--json]`
// Scoping: `--scope-agents` (10) agents over `--scope-pods` (100) pods per node, cluster-shaped
// (what a pod of a Deployment carries), once holding every object whole and once holding other
// nodes' pods as peer views (`microseg agent --server`'s way), same writes: heap, RSS, CPU per
// event and latency side by side; `--scope-only` runs only that pair.
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
  intArg,
  load1,
  median,
  nowMs,
  summarize,
} from "./lib.ts";

const NAMESPACES = 10;
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
): Resource {
  const bare = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: `ns-${ns}`, labels: { app } },
    spec: { nodeName: node, containers: [{ name: "c", ports: [{ containerPort: 80 }] }] },
    status: { phase: "Running", podIP: ip },
  };
  return validResource(shape === "bare" ? bare : clusterShaped(bare));
}

/**
 * What a pod of a Deployment carries in a cluster besides what policy reads (a trimmed
 * `kubectl get pod -o json`: about 3 KB of JSON against the bare pod's 0.3 KB).
 */
function clusterShaped(p: {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
}) {
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
      conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
        type,
        status: "True",
        lastTransitionTime: time,
      })),
      containerStatuses: [
        {
          name: "c",
          ready: true,
          started: true,
          restartCount: 0,
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
}

interface RunOptions {
  readonly storeUrl: string;
  readonly etcdPid?: number;
  /** Agents follow the store itself (as Felix follows etcd), not the API server. */
  readonly direct?: boolean;
  /** Agents hold other nodes' pods as peer views (the product's agent does); true by default. */
  readonly scoped?: boolean;
  readonly shape?: PodShape;
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
  const client = new ApiClient({ server: server.url });
  const procs: AgentProcess[] = [];
  try {
    await client.applySet(seed(agents, pods, shape));
    const seeded = await client.revision();
    for (let n = 0; n < agents; n++)
      procs.push(new AgentProcess(o.direct ? storeUrl : server.url, `node-${n}`, o.scoped ?? true));
    await Promise.all(procs.map((p) => p.reached(seeded, 300_000)));
    const before = await Promise.all(procs.map((p) => p.report()));

    const events = rate * seconds;
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
    for (let i = 0; i < events; i++) {
      const wait = t0 + (i * 1000) / rate - nowMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const start = epochNow();
      const p = pod(
        `client-${i}`,
        i % NAMESPACES,
        `node-${i % agents}`,
        "client",
        ip(19, i),
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
    const sentMs = nowMs() - t0;
    const last = Math.max(...done.map((w) => w.revision));
    await Promise.all(procs.map((p) => p.reached(last, 120_000)));
    const windowMs = nowMs() - t0;
    const cpu = process.cpuUsage(cpu0);
    const etcdMs = etcdPid === undefined ? undefined : procCpuMs(etcdPid) - etcd0;
    const after = await Promise.all(procs.map((p) => p.report()));

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

export default async function bench(args: BenchArgs): Promise<BenchReport> {
  const agents = intArg(args, "agents", 20);
  const pairAgents = intArg(args, "pair-agents", 5);
  const rate = intArg(args, "rate", 20);
  const seconds = intArg(args, "seconds", 10);
  const pods = intArg(args, "pods", 10);
  const loadBefore = load1();
  const dir = mkdtempSync(join(tmpdir(), "microseg-bench-distribution-"));
  if (args["scope-only"]) {
    try {
      const scope = await scopeRuns(dir, args, rate, seconds);
      const loadAfter = load1();
      return {
        figures: { loadBefore, loadAfter, rate, seconds, ...scope.figures },
        rows: [
          {
            metric: "load average (1 min)",
            value: `${loadBefore} -> ${loadAfter}`,
            note: "2 cores",
          },
          ...scope.rows,
        ],
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const etcd = await startEtcd();
  try {
    const common = { pods, rate, seconds };
    const many = await run({ ...common, agents, storeUrl: `sqlite:${join(dir, "many.db")}` });
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
    const r2 = (n: number) => Number(n.toFixed(2));
    const figures: Record<string, number | string> = { loadBefore, loadAfter, rate, seconds };
    const put = (prefix: string, f: RunFigures) => {
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
        ...(f.etcdCpu === undefined ? {} : { [`${prefix}EtcdCpuPct`]: r2(f.etcdCpu) }),
      });
    };
    put("many", many);
    put("sqlite", sqlite);
    put("etcd", onEtcd);
    put("etcdDirect", direct);
    Object.assign(figures, scope.figures);
    const ratio = (a: number, b: number) => `etcd/SQLite ${(a / b).toFixed(2)}x`;
    return {
      figures,
      rows: [
        { metric: "load average (1 min)", value: `${loadBefore} -> ${loadAfter}`, note: "2 cores" },
        {
          metric: "events",
          value: many.events,
          note: `${r2(many.achievedRate)}/s written and acknowledged (asked ${rate}/s), each changes every node`,
        },
        {
          metric: "event to enforced on every node p50",
          value: many.everyNode.p50,
          unit: "ms",
          note: `${agents} agent processes, SQLite behind the API server`,
        },
        { metric: "  p99", value: many.everyNode.p99, unit: "ms" },
        { metric: "  max", value: many.everyNode.max, unit: "ms" },
        { metric: "event to enforced per node p50", value: many.perNode.p50, unit: "ms" },
        { metric: "  p99", value: many.perNode.p99, unit: "ms" },
        {
          metric: "write acknowledged p50",
          value: many.acknowledged.p50,
          unit: "ms",
          note: "the store's share, before any fan-out",
        },
        { metric: "  p99", value: many.acknowledged.p99, unit: "ms" },
        {
          metric: "API server + store CPU",
          value: many.serverCpu,
          unit: "% of a core",
          note: "this process, the writer included",
        },
        { metric: "agent CPU (median)", value: many.agentCpu, unit: "% of a core" },
        {
          metric: "  per event",
          value: many.agentCpuPerEventMs,
          unit: "ms",
          note: `all ${agents} agents at 100/s: ${r2((many.agentCpuPerEventMs * 100 * agents) / 1000)} cores`,
        },
        { metric: "agent heap (median)", value: many.agentHeapMb, unit: "MB", note: "after GC" },
        { metric: "agent RSS (median)", value: many.agentRssMb, unit: "MB" },
        {
          metric: "objects one agent holds",
          value: many.agentResources,
          note: `of ${many.storeObjects} in the store; ${many.agentEndpoints} endpoints its own`,
        },
        {
          metric: "  agent heap per object taken in",
          value: many.agentHeapPerObjectKb,
          unit: "KB",
          note: "growth over the events / objects added (median agent)",
        },
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
