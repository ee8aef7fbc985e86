// Packet record -> flow log: both sides' identities as of the packet's time (address history),
// the deciding tier/policy/rule from the NFLOG prefix, the explanation of implicit denies, and
// the staged program's verdict. Pure: reads the FlowContext, does no I/O.
import { logKey } from "../dataplane/nftables/log-prefix.ts";
import { policyId } from "../engine/index.ts";
import { parseAddress } from "../net/cidr.ts";
import {
  type Direction,
  type Endpoint,
  type Flow,
  normalizeProtocol,
  type Policy,
  type World,
} from "../policy/index.ts";
import {
  ENDPOINT_TO_HOST_REASON,
  isolatingPolicies,
  policyLabel,
  policyLabelOfId,
  STARTUP_REASON,
  tierDefaultReason,
  unknownAddressReason,
} from "./attribution.ts";
import type { FlowContext } from "./flow-context.ts";
import { emptyFields, type FlowAction, type FlowLog, type StagedVerdict } from "./flow-log.ts";
import type { PacketLog } from "./packet-log.ts";
import { protoName } from "./protocols.ts";

interface WorldIndex {
  /** Policy id and its hashed form (long ids in prefixes) -> policy. */
  readonly policies: Map<string, Policy>;
  /** Hashed tier names -> name. */
  readonly tiers: Map<string, string>;
  /** Ids of the staged program's policies that the enforced program does not have as they are. */
  readonly staged: Set<string>;
}

const indexes = new WeakMap<World, WorldIndex>();

function indexOf(world: World): WorldIndex {
  let idx = indexes.get(world);
  if (idx) return idx;
  const policies = new Map<string, Policy>();
  const tiers = new Map<string, string>();
  const enforced = new Set<Policy>();
  for (const tier of world.program.tiers) {
    tiers.set(logKey(tier.name), tier.name);
    for (const p of tier.policies) {
      const id = policyId(p.ref);
      policies.set(id, p);
      policies.set(logKey(id), p);
      enforced.add(p);
    }
  }
  const staged = new Set<string>();
  for (const tier of world.staged?.program.tiers ?? []) {
    for (const p of tier.policies) if (!enforced.has(p)) staged.add(policyId(p.ref));
  }
  idx = { policies, tiers, staged };
  indexes.set(world, idx);
  return idx;
}

type Side = "source" | "dest";

const sideKeys = (side: Side) =>
  ({
    ip: `${side}_ip`,
    port: `${side}_port`,
    portName: `${side}_port_name`,
    kind: `${side}_kind`,
    namespace: `${side}_namespace`,
    name: `${side}_name`,
    sa: `${side}_service_account`,
    node: `${side}_node`,
  }) as const;
const SIDE_KEYS = { source: sideKeys("source"), dest: sideKeys("dest") };

interface SideFields {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly sa: string;
  readonly node: string;
}

/** The identity fields of one side; cached per endpoint object (endpoints are immutable). */
const sideCache = new WeakMap<Endpoint, SideFields>();

function sideFields(ep: Endpoint | undefined, netName: string | undefined): SideFields {
  if (!ep)
    return {
      kind: netName ? "NetworkSet" : "net",
      namespace: "",
      name: netName ?? "",
      sa: "",
      node: "",
    };
  let f = sideCache.get(ep);
  if (!f) {
    f = {
      kind: ep.kind,
      namespace: ep.namespace ?? "",
      name: ep.name,
      sa: ep.labels["projectcalico.org/serviceaccount"] ?? "",
      node: ep.node ?? "",
    };
    sideCache.set(ep, f);
  }
  return f;
}

export class Enricher {
  constructor(private readonly ctx: FlowContext) {}

  /** Undefined for a record that is not microseg's (another rule's prefix). */
  enrich(p: PacketLog): FlowLog | undefined {
    if (!p.prefix) return undefined;
    const world = this.ctx.world;
    const idx = indexOf(world);
    const src = this.ctx.ownerAt(p.sourceIp, p.time);
    const dst = this.ctx.ownerAt(p.destIp, p.time);
    const srcSet = src ? undefined : this.#networkSet(world, p.sourceIp);
    const dstSet = dst ? undefined : this.#networkSet(world, p.destIp);
    const proto = protoName(p.protocol);
    const fields = emptyFields();
    fields.proto = proto;
    this.#side(fields, "source", src ?? srcSet, p.sourceIp, p.sourcePort, p.protocol);
    this.#side(fields, "dest", dst ?? dstSet, p.destIp, p.destPort, p.protocol);
    if (!src && srcSet) fields.source_kind = srcSet.kind;
    if (!dst && dstSet) fields.dest_kind = dstSet.kind;

    const { action, direction, tier: rawTier, policy: rawPolicy, rule } = p.prefix;
    if (direction) fields.reporter = direction === "egress" ? "src" : "dst";
    const tier = rawTier && (idx.tiers.get(rawTier) ?? rawTier);
    if (tier) fields.tier = tier;
    const subject = direction === "egress" ? src : direction === "ingress" ? dst : undefined;
    let flowAction: FlowAction;
    let reason: string;
    let isolatedBy: string[] = [];
    switch (action) {
      case "D":
      case "L":
      case "A": {
        flowAction = action === "D" ? "deny" : action === "L" ? "log" : "allow";
        const policy = rawPolicy ? idx.policies.get(rawPolicy) : undefined;
        fields.policy = policy
          ? policyLabel(policy.ref)
          : rawPolicy
            ? policyLabelOfId(rawPolicy)
            : "";
        fields.rule = rule === undefined ? "" : String(rule);
        const verb = { D: "denied", L: "logged", A: "allowed" }[action];
        reason = `${verb} by tier ${tier ?? "?"}, policy ${fields.policy || "?"}, rule ${fields.rule || "?"} (${direction ?? "?"})`;
        break;
      }
      case "T": {
        flowAction = "deny";
        const dir: Direction = direction ?? "ingress";
        isolatedBy = subject ? this.#isolatedBy(world, tier ?? "", subject, dir) : [];
        fields.policy = isolatedBy[0] ?? "";
        reason = tierDefaultReason(
          tier ?? "?",
          dir,
          isolatedBy,
          { ip: p.destIp, port: p.destPort, proto },
          subject !== undefined,
        );
        break;
      }
      case "S":
        flowAction = "deny";
        fields.reporter = "src";
        reason = unknownAddressReason(p.sourceIp, p.inInterface);
        break;
      case "H":
        flowAction = "deny";
        fields.reporter = "src";
        reason = ENDPOINT_TO_HOST_REASON;
        break;
      case "B":
        flowAction = "deny";
        reason = STARTUP_REASON;
        break;
    }
    fields.action = flowAction;
    const staged = world.staged && this.#staged(world, idx, p, src, dst);
    return {
      time: p.time,
      fields,
      sourceLabels: src?.labels ?? srcSet?.labels ?? {},
      destLabels: dst?.labels ?? dstSet?.labels ?? {},
      packets: 1,
      bytes: p.bytes,
      connections: p.opensConnection ? 1 : 0,
      reason,
      isolatedBy,
      ...(staged ? { staged } : {}),
    };
  }

  /** Per world, endpoint, tier and direction: the same answer for every record of a flow. */
  readonly #isolation = new WeakMap<World, WeakMap<Endpoint, Map<string, string[]>>>();

  #isolatedBy(world: World, tier: string, subject: Endpoint, dir: Direction): string[] {
    let byEndpoint = this.#isolation.get(world);
    if (!byEndpoint) {
      byEndpoint = new WeakMap();
      this.#isolation.set(world, byEndpoint);
    }
    let byTier = byEndpoint.get(subject);
    if (!byTier) {
      byTier = new Map();
      byEndpoint.set(subject, byTier);
    }
    const key = `${dir}\u0000${tier}`;
    let found = byTier.get(key);
    if (!found) {
      found = isolatingPolicies(world.program, tier, subject, dir).map((x) => policyLabel(x.ref));
      byTier.set(key, found);
    }
    return found;
  }

  #networkSet(world: World, ip: string): Endpoint | undefined {
    return world.cluster.networkSetsContaining(parseAddress(ip))[0];
  }

  #side(
    fields: Record<string, string>,
    side: Side,
    ep: Endpoint | undefined,
    ip: string,
    port: number | undefined,
    protocol: number,
  ): void {
    const isSet = ep?.kind === "NetworkSet" || ep?.kind === "GlobalNetworkSet";
    const f = sideFields(isSet ? undefined : ep, isSet ? ep?.name : undefined);
    const k = SIDE_KEYS[side];
    fields[k.ip] = ip;
    fields[k.port] = port === undefined ? "" : String(port);
    fields[k.kind] = f.kind;
    fields[k.namespace] = isSet ? (ep?.namespace ?? "") : f.namespace;
    fields[k.name] = f.name;
    fields[k.sa] = f.sa;
    fields[k.node] = f.node;
    if (ep && !isSet && port !== undefined) {
      const proto = normalizeProtocol(protocol);
      const named = ep.ports.find((np) => np.port === port && np.protocol === proto);
      if (named) fields[k.portName] = named.name;
    }
  }

  #staged(
    world: World,
    idx: WorldIndex,
    p: PacketLog,
    src: Endpoint | undefined,
    dst: Endpoint | undefined,
  ): StagedVerdict | undefined {
    const staged = world.staged;
    if (!staged) return undefined;
    const flow: Flow = {
      source: { address: parseAddress(p.sourceIp), ...(src ? { endpoint: src } : {}) },
      destination: { address: parseAddress(p.destIp), ...(dst ? { endpoint: dst } : {}) },
      protocol: normalizeProtocol(p.protocol),
      ...(p.destPort !== undefined ? { port: p.destPort } : {}),
      ...(p.sourcePort !== undefined ? { sourcePort: p.sourcePort } : {}),
      ...(p.icmpType !== undefined ? { icmp: { type: p.icmpType } } : {}),
    };
    const verdict = staged.evaluator.evaluate(flow);
    if (verdict.allowed) return { action: "allow", policies: [] };
    const denied = verdict.egress.allowed ? verdict.ingress : verdict.egress;
    const d = denied.decision;
    const subject = denied.direction === "egress" ? src : dst;
    let policies: string[] = [];
    if (d.kind === "rule") {
      if (idx.staged.has(policyId(d.policy))) policies = [policyLabel(d.policy)];
    } else if (d.kind === "tier-default" && subject) {
      policies = isolatingPolicies(staged.program, d.tier, subject, denied.direction)
        .filter((x) => idx.staged.has(policyId(x.ref)))
        .map((x) => policyLabel(x.ref));
    }
    return { action: "deny", policies };
  }
}
