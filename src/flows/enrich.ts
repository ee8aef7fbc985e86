// Packet record -> flow log: both sides' identities as of the packet's time (address history),
// the deciding tier/policy/rule from the NFLOG prefix, the explanation of implicit denies, and
// the staged program's verdict. Pure: reads the FlowContext, does no I/O.
import { type LogAction, logKey, type ParsedLogPrefix } from "../dataplane/nftables/log-prefix.ts";
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
import type { Labels } from "../selector/index.ts";
import {
  allowedByDefaultReason,
  ENDPOINT_TO_HOST_REASON,
  endpointName,
  isolatingPolicies,
  policyLabel,
  policyLabelOfId,
  STARTUP_REASON,
  selectingPolicies,
  tierDefaultReason,
  unknownAddressReason,
} from "./attribution.ts";
import type { FlowContext } from "./flow-context.ts";
import type { FlowAction, FlowFields, FlowLog, StagedVerdict } from "./flow-log.ts";
import type { PacketLog } from "./packet-log.ts";
import { protoName } from "./protocols.ts";

const NONE: readonly string[] = [];
const NO_LABELS: Labels = {};

interface WorldIndex {
  /** Policy id and its hashed form (long ids in prefixes) -> policy. */
  readonly policies: Map<string, Policy>;
  /** Hashed tier names -> name. */
  readonly tiers: Map<string, string>;
  /** Ids of the staged program's policies that the enforced program does not have as they are. */
  readonly staged: Set<string>;
  /** Raw prefix -> what it says in this world. */
  readonly decisions: Map<string, Decision>;
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
  idx = { policies, tiers, staged, decisions: new Map() };
  indexes.set(world, idx);
  return idx;
}

/**
 * What one prefix says, resolved against one world: the same for every record that carries it,
 * so records pay a map lookup, not a parse and a string build. Answers that depend on the
 * endpoint (who isolates it, why it was allowed by default) are cached per endpoint beside it.
 */
interface Decision {
  readonly action: LogAction;
  readonly flowAction: FlowAction;
  readonly direction: Direction | undefined;
  readonly reporter: string;
  readonly tier: string;
  readonly policy: string;
  readonly rule: string;
  /** The reason when it does not depend on the packet or the endpoint. */
  readonly reason: string;
  readonly perEndpoint: WeakMap<Endpoint, readonly string[]>;
}

const VERBS = { D: "denied", L: "logged", A: "allowed" } as const;
const FLOW_ACTIONS: Record<LogAction, FlowAction> = {
  D: "deny",
  L: "log",
  A: "allow",
  N: "allow",
  T: "deny",
  S: "deny",
  H: "deny",
  B: "deny",
};

function decide(idx: WorldIndex, p: ParsedLogPrefix): Decision {
  const { action, direction } = p;
  const tier = p.tier ? (idx.tiers.get(p.tier) ?? p.tier) : "";
  let policy = "";
  let rule = "";
  let reason = "";
  if (action === "D" || action === "L" || action === "A") {
    const known = p.policy ? idx.policies.get(p.policy) : undefined;
    policy = known ? policyLabel(known.ref) : p.policy ? policyLabelOfId(p.policy) : "";
    rule = p.rule === undefined ? "" : String(p.rule);
    reason = `${VERBS[action]} by tier ${tier || "?"}, policy ${policy || "?"}, rule ${rule || "?"} (${direction ?? "?"})`;
  } else if (action === "H") reason = ENDPOINT_TO_HOST_REASON;
  else if (action === "B") reason = STARTUP_REASON;
  const reporter =
    action === "S" || action === "H"
      ? "src"
      : direction === "egress"
        ? "src"
        : direction === "ingress"
          ? "dst"
          : "";
  return {
    action,
    flowAction: FLOW_ACTIONS[action],
    direction,
    reporter,
    tier,
    policy,
    rule,
    reason,
    perEndpoint: new WeakMap(),
  };
}

interface SideFields {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly sa: string;
  readonly node: string;
}

const OUTSIDE: SideFields = { kind: "net", namespace: "", name: "", sa: "", node: "" };

/** The identity fields of one side; cached per endpoint object (endpoints are immutable). */
const sideCache = new WeakMap<Endpoint, SideFields>();

const isNetworkSet = (ep: Endpoint) => ep.kind === "NetworkSet" || ep.kind === "GlobalNetworkSet";

function sideFields(ep: Endpoint | undefined): SideFields {
  if (!ep) return OUTSIDE;
  let f = sideCache.get(ep);
  if (!f) {
    const set = isNetworkSet(ep);
    f = {
      kind: ep.kind,
      namespace: ep.namespace ?? "",
      name: ep.name,
      sa: set ? "" : (ep.labels["projectcalico.org/serviceaccount"] ?? ""),
      node: set ? "" : (ep.node ?? ""),
    };
    sideCache.set(ep, f);
  }
  return f;
}

/** The endpoint's name for the port, or "" (network sets name none). */
function portName(ep: Endpoint | undefined, port: number | undefined, protocol: number): string {
  if (!ep || port === undefined || ep.ports.length === 0 || isNetworkSet(ep)) return "";
  const proto = normalizeProtocol(protocol);
  return ep.ports.find((np) => np.port === port && np.protocol === proto)?.name ?? "";
}

/** Port numbers as text, made once each: every record carries two. */
const portTexts: string[] = [];
function portText(port: number | undefined): string {
  if (port === undefined) return "";
  const known = portTexts[port];
  if (known !== undefined) return known;
  const text = String(port);
  if (Number.isInteger(port) && port >= 0 && port < 65536) portTexts[port] = text;
  return text;
}

export class Enricher {
  /** Reads a FlowContext (or anything with its world and owners: the bench's baseline). */
  constructor(private readonly ctx: Pick<FlowContext, "world" | "ownerAt">) {}

  /** Undefined for a record that is not microseg's (another rule's prefix). */
  enrich(p: PacketLog): FlowLog | undefined {
    if (!p.prefix) return undefined;
    const world = this.ctx.world;
    const idx = indexOf(world);
    let d = idx.decisions.get(p.rawPrefix);
    if (!d) {
      d = decide(idx, p.prefix);
      idx.decisions.set(p.rawPrefix, d);
    }
    const src = this.ctx.ownerAt(p.sourceIp, p.time);
    const dst = this.ctx.ownerAt(p.destIp, p.time);
    const srcSide = src ?? this.#networkSet(world, p.sourceIp);
    const dstSide = dst ?? this.#networkSet(world, p.destIp);
    const s = sideFields(srcSide);
    const t = sideFields(dstSide);
    const proto = protoName(p.protocol);
    const subject = d.direction === "egress" ? src : d.direction === "ingress" ? dst : undefined;
    let policy = d.policy;
    let reason = d.reason;
    let isolatedBy: readonly string[] = NONE;
    switch (d.action) {
      case "T": {
        const dir: Direction = d.direction ?? "ingress";
        isolatedBy = subject
          ? this.#perEndpoint(d, subject, () =>
              isolatingPolicies(world.program, d.tier, subject, dir).map((x) => policyLabel(x.ref)),
            )
          : NONE;
        policy = isolatedBy[0] ?? "";
        reason = tierDefaultReason(
          d.tier || "?",
          dir,
          isolatedBy,
          { ip: p.destIp, port: p.destPort, proto },
          subject !== undefined,
        );
        break;
      }
      case "N": {
        const dir: Direction = d.direction ?? "ingress";
        const selecting = subject
          ? this.#perEndpoint(d, subject, () =>
              selectingPolicies(world.program, subject, dir).map((x) => policyLabel(x.ref)),
            )
          : NONE;
        reason = allowedByDefaultReason(dir, subject && endpointName(subject), selecting);
        break;
      }
      case "S":
        reason = unknownAddressReason(p.sourceIp, p.inInterface);
        break;
    }
    const fields: FlowFields = {
      action: d.flowAction,
      reporter: d.reporter,
      proto,
      policy,
      tier: d.tier,
      rule: d.rule,
      source_ip: p.sourceIp,
      source_port: portText(p.sourcePort),
      source_port_name: portName(src, p.sourcePort, p.protocol),
      source_kind: s.kind,
      source_namespace: s.namespace,
      source_name: s.name,
      source_service_account: s.sa,
      source_node: s.node,
      dest_ip: p.destIp,
      dest_port: portText(p.destPort),
      dest_port_name: portName(dst, p.destPort, p.protocol),
      dest_kind: t.kind,
      dest_namespace: t.namespace,
      dest_name: t.name,
      dest_service_account: t.sa,
      dest_node: t.node,
    };
    const staged = world.staged && this.#staged(world, idx, p, src, dst);
    return {
      time: p.time,
      fields,
      sourceLabels: srcSide?.labels ?? NO_LABELS,
      destLabels: dstSide?.labels ?? NO_LABELS,
      packets: 1,
      bytes: p.bytes,
      connections: p.opensConnection ? 1 : 0,
      reason,
      isolatedBy,
      ...(staged ? { staged } : {}),
    };
  }

  #perEndpoint(d: Decision, ep: Endpoint, compute: () => string[]): readonly string[] {
    let found = d.perEndpoint.get(ep);
    if (!found) {
      found = compute();
      d.perEndpoint.set(ep, found);
    }
    return found;
  }

  #networkSet(world: World, ip: string): Endpoint | undefined {
    return world.cluster.networkSetsContaining(parseAddress(ip))[0];
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
