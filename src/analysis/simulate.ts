// What a change would break: the change applied on top of the current set, every recorded flow
// judged by the same evaluator before and after, and the reachability matrix cells that change.
// The same function backs `microseg simulate` and the UI's preview.
import type { FlowRecord } from "../flows/index.ts";
import {
  checkResourceSet,
  parseResource,
  type Resource,
  type ResourceIssue,
  resourceKey,
} from "../model/index.ts";
import { buildWorld, type PortProtocol, type Protocol, type World } from "../policy/index.ts";
import { type ObservedFlow, observedFlows, replayFlow } from "./flow-replay.ts";
import { declaredPorts, type MatrixCell, reachabilityMatrix } from "./matrix.ts";

export interface FlowVerdictChange {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** What the kernel recorded (allow, deny, log). */
  readonly recorded: readonly string[];
  readonly records: number;
  readonly connections: number;
  readonly before: boolean;
  readonly after: boolean;
}

export interface CellChange {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly before: boolean;
  readonly after: boolean;
}

export interface Simulation {
  readonly flows: {
    readonly newlyDenied: readonly FlowVerdictChange[];
    readonly newlyAllowed: readonly FlowVerdictChange[];
    readonly unchanged: number;
    /** Recorded flows with a side that is no longer there (or never was, folded owners). */
    readonly unjudged: number;
  };
  readonly cells: {
    readonly newlyDenied: readonly CellChange[];
    readonly newlyAllowed: readonly CellChange[];
  };
}

/** A simulation over the live store, as `POST /api/v1/simulate` answers it. */
export interface LiveSimulation extends Simulation {
  readonly apiVersion: string;
  readonly kind: "Simulation";
  /** The store revision the change was laid on. */
  readonly revision: number;
  /** The start of the window of recorded flows (RFC 3339). */
  readonly since: string;
  /** Recorded flow records read. */
  readonly records: number;
}

/** The change's objects replace those of the same key and add the rest. */
export function applyChange(current: readonly Resource[], change: readonly Resource[]): Resource[] {
  const byKey = new Map(current.map((r) => [resourceKey(r), r]));
  for (const r of change) byKey.set(resourceKey(r), r);
  return [...byKey.values()];
}

/** An issue of the change's item `index`, its path as apply writes it (`items[2].spec.tier`). */
const itemIssue = (index: number, issue: ResourceIssue): ResourceIssue => ({
  code: issue.code,
  path: issue.path ? `items[${index}].${issue.path}` : `items[${index}]`,
  message: issue.message,
});

/**
 * A change as a caller sent it (decoded JSON): every object by its kind's schema, then the set
 * rules (no object twice, a policy's tier exists) over the change on top of the current set,
 * so a policy may name a tier the store holds. Only the change's own issues are reported.
 */
export function validateChange(
  current: readonly Resource[],
  objects: readonly unknown[],
): { ok: true; change: Resource[] } | { ok: false; issues: ResourceIssue[] } {
  const change: Resource[] = [];
  const issues: ResourceIssue[] = [];
  objects.forEach((object, i) => {
    const parsed = parseResource(object);
    if (parsed.ok) change.push(parsed.value);
    else issues.push(...parsed.issues.map((issue) => itemIssue(i, issue)));
  });
  if (issues.length > 0) return { ok: false, issues };
  const replaced = new Set(change.map(resourceKey));
  const kept = current.filter((r) => !replaced.has(resourceKey(r)));
  const set = checkResourceSet([...kept, ...change]);
  const own = set.issues
    .filter((issue) => issue.index >= kept.length)
    .map((issue) => itemIssue(issue.index - kept.length, issue));
  return own.length > 0 ? { ok: false, issues: own } : { ok: true, change };
}

function flowChanges(before: World, after: World, flows: readonly ObservedFlow[]) {
  const newlyDenied: FlowVerdictChange[] = [];
  const newlyAllowed: FlowVerdictChange[] = [];
  let unchanged = 0;
  let unjudged = 0;
  for (const o of flows) {
    const was = replayFlow(before, o);
    const now = replayFlow(after, o);
    if (!was || !now) {
      unjudged++;
      continue;
    }
    const b = before.evaluator.evaluate(was).allowed;
    const a = after.evaluator.evaluate(now).allowed;
    if (a === b) {
      unchanged++;
      continue;
    }
    const change: FlowVerdictChange = {
      from: o.from,
      to: o.to,
      port: o.port,
      protocol: o.protocol,
      recorded: o.actions,
      records: o.records,
      connections: o.connections,
      before: b,
      after: a,
    };
    (a ? newlyAllowed : newlyDenied).push(change);
  }
  return { newlyDenied, newlyAllowed, unchanged, unjudged };
}

function ports(before: World, after: World): PortProtocol[] {
  const seen = new Map<string, PortProtocol>();
  for (const w of [before, after])
    for (const p of declaredPorts(w.cluster.workloads())) seen.set(`${p.protocol}/${p.port}`, p);
  return [...seen.values()];
}

function cellChanges(before: World, after: World) {
  const pp = ports(before, after);
  const key = (c: MatrixCell) => `${c.from}\u0000${c.to}\u0000${c.port}\u0000${c.protocol}`;
  const was = new Map(
    reachabilityMatrix(before.cluster, before.evaluator, pp).results.map((c) => [key(c), c]),
  );
  const newlyDenied: CellChange[] = [];
  const newlyAllowed: CellChange[] = [];
  for (const c of reachabilityMatrix(after.cluster, after.evaluator, pp).results) {
    const b = was.get(key(c));
    if (!b || b.allowed === c.allowed) continue;
    const change = { from: c.from, to: c.to, port: c.port, protocol: c.protocol };
    if (c.allowed) newlyAllowed.push({ ...change, before: false, after: true });
    else newlyDenied.push({ ...change, before: true, after: false });
  }
  return { newlyDenied, newlyAllowed };
}

export function simulate(
  current: readonly Resource[],
  change: readonly Resource[],
  records: readonly FlowRecord[],
): Simulation {
  const before = buildWorld(current);
  const after = buildWorld(applyChange(current, change));
  return {
    flows: flowChanges(before, after, observedFlows(records)),
    cells: cellChanges(before, after),
  };
}

/** Changes grouped by destination workload and port, as a reader scans them. */
function grouped(changes: readonly CellChange[] | readonly FlowVerdictChange[]): string[] {
  const groups = new Map<string, string[]>();
  for (const c of changes) {
    const key = `${c.to} ${c.port}/${c.protocol}`;
    const list = groups.get(key) ?? [];
    const evidence = "connections" in c ? ` (${c.connections} connections recorded)` : "";
    list.push(`${c.from}${evidence}`);
    groups.set(key, list);
  }
  return [...groups].map(([to, froms]) => `    to ${to} from ${froms.join(", ")}`);
}

export function formatSimulation(s: Simulation): string {
  const f = s.flows;
  const lines = [
    `recorded flows: ${f.newlyDenied.length} newly denied, ${f.newlyAllowed.length} newly allowed, ${f.unchanged} unchanged, ${f.unjudged} not judged (a side is gone)`,
  ];
  if (f.newlyDenied.length) lines.push("  newly denied:", ...grouped(f.newlyDenied));
  if (f.newlyAllowed.length) lines.push("  newly allowed:", ...grouped(f.newlyAllowed));
  const c = s.cells;
  lines.push(
    `matrix: ${c.newlyDenied.length} cells newly denied, ${c.newlyAllowed.length} newly allowed`,
  );
  if (c.newlyDenied.length) lines.push("  newly denied:", ...grouped(c.newlyDenied));
  if (c.newlyAllowed.length) lines.push("  newly allowed:", ...grouped(c.newlyAllowed));
  return `${lines.join("\n")}\n`;
}
