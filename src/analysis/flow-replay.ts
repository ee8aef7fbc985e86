// Recorded flow records as flows the policy layer can judge again: each side by its address
// when the record kept one, else by its workload's identity (records folded by owner drop
// the addresses). Records of the two reporters (source and destination) for one connection
// fold into one observed flow.
import { type FlowRecord, ownerName } from "../flows/index.ts";
import { tryParseAddress } from "../net/cidr.ts";
import {
  type Endpoint,
  type Flow,
  type FlowPeer,
  normalizeProtocol,
  type Protocol,
  type World,
} from "../policy/index.ts";
import { byFromToPort } from "./matrix.ts";

/** One (source, destination, port, protocol) seen in the records, with its evidence. */
export interface ObservedFlow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** Recorded actions (allow, deny, log) as the kernel reported them. */
  readonly actions: readonly string[];
  /**
   * Whether connections went through: the destination's node allowed them, or nothing denied
   * them anywhere. A source's allow alone is not enough: its egress passed, and the
   * destination's ingress may still have dropped the packet.
   */
  readonly delivered: boolean;
  readonly records: number;
  readonly connections: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The record the flow is judged from. */
  readonly sample: FlowRecord;
}

type Side = "source" | "dest";

/** A side's name in output: `namespace/name` for workloads, the address otherwise. */
export function sideName(r: FlowRecord, side: Side): string {
  const f = r.fields;
  const name = f[`${side}_name`];
  const ns = f[`${side}_namespace`];
  if (name) return ns ? `${ns}/${name}` : name;
  return f[`${side}_ip`];
}

export function observedFlows(records: readonly FlowRecord[]): ObservedFlow[] {
  const byKey = new Map<
    string,
    {
      from: string;
      to: string;
      port: number;
      protocol: Protocol;
      actions: Set<string>;
      allowedAtDestination: boolean;
      records: number;
      connections: number;
      firstSeen: number;
      lastSeen: number;
      sample: FlowRecord;
    }
  >();
  for (const r of records) {
    const port = Number(r.fields.dest_port);
    if (!r.fields.proto || !Number.isInteger(port)) continue;
    const protocol = normalizeProtocol(r.fields.proto);
    const from = sideName(r, "source");
    const to = sideName(r, "dest");
    const key = `${from}\u0000${to}\u0000${port}\u0000${protocol}`;
    let o = byKey.get(key);
    if (!o) {
      o = {
        from,
        to,
        port,
        protocol,
        actions: new Set(),
        allowedAtDestination: false,
        records: 0,
        connections: 0,
        firstSeen: r.firstSeen,
        lastSeen: r.lastSeen,
        sample: r,
      };
      byKey.set(key, o);
    }
    o.actions.add(r.fields.action);
    if (r.fields.action === "allow" && r.fields.reporter === "dst") o.allowedAtDestination = true;
    o.records++;
    // Both reporters count the same connection: keep the larger count, not the sum.
    o.connections = Math.max(o.connections, r.connections);
    o.firstSeen = Math.min(o.firstSeen, r.firstSeen);
    o.lastSeen = Math.max(o.lastSeen, r.lastSeen);
  }
  return [...byKey.values()]
    .map(({ allowedAtDestination, ...o }) => ({
      ...o,
      actions: [...o.actions].sort(),
      delivered: allowedAtDestination || (o.actions.has("allow") && !o.actions.has("deny")),
    }))
    .sort(byFromToPort);
}

/** A controller's template workload (`deployment/web`) and the owner name its pods share. */
const TEMPLATE = /^(deployment|replicaset|statefulset|daemonset|job|cronjob)\/(.+)$/;

/** Does the workload `w` stand for the pod (or owner, `web-*`) a record names? */
function owns(w: Endpoint, name: string): boolean {
  const owner = ownerName(name);
  const t = TEMPLATE.exec(w.name);
  if (!t) return owner.endsWith("-*") && ownerName(w.name) === owner;
  const [, kind, controller] = t;
  if (owner === `${controller}-*`) return true;
  // A StatefulSet's pods are `<name>-<ordinal>`.
  return (
    kind === "statefulset" &&
    name.startsWith(`${controller}-`) &&
    /^\d+$/.test(name.slice(controller!.length + 1))
  );
}

/**
 * The workload a record names: the pod itself, else the owner's: records folded by owner
 * (`web-*`, addresses dropped) and pods of a controller the set holds as its template are
 * judged as a workload of that owner (replicas share its labels).
 */
function workloadNamed(world: World, ns: string, name: string): Endpoint | undefined {
  const exact = world.cluster.endpoint(ns ? `${ns}/${name}` : name);
  if (exact) return exact;
  const namespace = ns || undefined;
  return world.cluster.workloads().find((w) => w.namespace === namespace && owns(w, name));
}

function peer(world: World, r: FlowRecord, side: Side): FlowPeer | undefined {
  const address = tryParseAddress(r.fields[`${side}_ip`]);
  const name = r.fields[`${side}_name`];
  const kind = r.fields[`${side}_kind`];
  const byAddress = address ? world.cluster.peerAt(address) : undefined;
  // An address no workload of the set holds, recorded with a workload's name: the name says more.
  if (byAddress && (byAddress.endpoint || !name || kind === "net")) return byAddress;
  const endpoint = name ? workloadNamed(world, r.fields[`${side}_namespace`], name) : undefined;
  return endpoint ? world.cluster.peerOf(endpoint) : undefined;
}

/** The flow a record stands for in this world; undefined when a side is in it no more. */
export function replayFlow(world: World, o: ObservedFlow): Flow | undefined {
  const source = peer(world, o.sample, "source");
  const destination = peer(world, o.sample, "dest");
  if (!source || !destination) return undefined;
  return { source, destination, port: o.port, protocol: o.protocol };
}
