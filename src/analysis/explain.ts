// Why a flow is allowed or denied: each direction's deciding tier, policy, rule and action,
// plus what staged policies would decide.

import type { FlowPeer, IcmpMatch, Protocol, World } from "../policy/index.ts";
import {
  checkIcmpFamily,
  type DirectionVerdict,
  describeDecision,
  flowIcmp,
  icmpFamily,
  policyLabel,
  resolvePeer,
  resolvePort,
  STAGE_HOOKS,
  type Verdict,
} from "../policy/index.ts";

export interface ExplainQuery {
  readonly from: string;
  readonly to: string;
  /** A number, or a name resolved on the destination's container ports; none for ICMP. */
  readonly port?: number | string;
  readonly protocol: Protocol;
  /** ICMP and ICMPv6 only (flowIcmp): the packet's type and code, as rules' `icmp` match them. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
}

export interface DirectionExplanation extends DirectionVerdict {
  /** Where this direction is judged: the workload id, or the address when it is none. */
  readonly at: string;
  readonly reason: string;
}

export interface Explanation {
  readonly from: string;
  readonly to: string;
  readonly fromAddress: string;
  readonly toAddress: string;
  /** Absent for ICMP, which has `icmp` instead. */
  readonly port?: number;
  readonly protocol: Protocol;
  readonly icmp?: IcmpMatch;
  readonly allowed: boolean;
  readonly egress: DirectionExplanation;
  readonly ingress: DirectionExplanation;
  readonly staged?: {
    readonly allowed: boolean;
    readonly egress: DirectionExplanation;
    readonly ingress: DirectionExplanation;
  };
}

/** How a peer is written in output: its workload, else its address. */
function peerName(peer: FlowPeer): string {
  return peer.endpoint?.id ?? peer.address?.text ?? "";
}

function direction(v: DirectionVerdict, peer: FlowPeer): DirectionExplanation {
  const via = v.hostEndpoint ? ` of host endpoint ${v.hostEndpoint}` : "";
  const stage = v.stage ? ` (${STAGE_HOOKS[v.stage]}${via})` : "";
  return { ...v, at: peerName(peer), reason: `${describeDecision(v.decision)}${stage}` };
}

export function explainFlow(world: World, q: ExplainQuery): Explanation {
  // ICMP picks its own family on dual-stack workloads; otherwise the destination is judged in
  // the source's family when it has one.
  const source = resolvePeer(world.cluster, q.from, "--from", icmpFamily(q.protocol));
  const destination = resolvePeer(
    world.cluster,
    q.to,
    "--to",
    icmpFamily(q.protocol) ?? source.address?.family,
  );
  const icmp = flowIcmp(q.protocol, q.port, q.icmpType, q.icmpCode);
  checkIcmpFamily(q.protocol, source, destination);
  const port = q.port === undefined ? undefined : resolvePort(destination, q.port, q.protocol);
  const flow = {
    source,
    destination,
    protocol: q.protocol,
    ...(port !== undefined ? { port } : {}),
    ...(icmp ? { icmp } : {}),
  };
  const both = (v: Verdict) => ({
    allowed: v.allowed,
    egress: direction(v.egress, source),
    ingress: direction(v.ingress, destination),
  });
  const staged = world.staged ? both(world.staged.evaluator.evaluate(flow)) : undefined;
  return {
    from: peerName(source),
    to: peerName(destination),
    fromAddress: source.address?.text ?? "",
    toAddress: destination.address?.text ?? "",
    ...(port !== undefined ? { port } : {}),
    protocol: q.protocol,
    ...(icmp ? { icmp } : {}),
    ...both(world.evaluator.evaluate(flow)),
    ...(staged ? { staged } : {}),
  };
}

function directionLines(label: string, d: DirectionExplanation): string[] {
  const lines = [
    `  ${label.padEnd(7)} at ${d.at}: ${d.allowed ? "allowed" : "denied"}`,
    `          ${d.reason}`,
  ];
  for (const tier of d.passed) lines.push(`          passed tier ${tier}`);
  for (const log of d.logged)
    lines.push(`          logged by ${policyLabel(log.policy)} rule ${log.index}`);
  return lines;
}

/** `389/TCP`, `ICMP type 8 code 0`, `ICMPv6` (no type given). */
export function flowText(e: Pick<Explanation, "port" | "protocol" | "icmp">): string {
  if (e.port !== undefined) return `${e.port}/${e.protocol}`;
  if (!e.icmp) return String(e.protocol);
  const code = e.icmp.code !== undefined ? ` code ${e.icmp.code}` : "";
  return `${e.protocol} type ${e.icmp.type}${code}`;
}

export function formatExplanation(e: Explanation): string {
  const lines = [
    `${e.from} (${e.fromAddress || "no address"}) -> ${e.to} (${e.toAddress || "no address"}) ${flowText(e)}: ${e.allowed ? "ALLOWED" : "DENIED"}`,
    ...directionLines("egress", e.egress),
    ...directionLines("ingress", e.ingress),
  ];
  if (e.staged) {
    lines.push(
      `  staged: ${e.staged.allowed ? "ALLOWED" : "DENIED"} (with staged policies applied)`,
    );
    lines.push(
      ...directionLines("egress", e.staged.egress),
      ...directionLines("ingress", e.staged.ingress),
    );
  }
  return lines.join("\n");
}
