// Flow records and alerts as agents ship them (the wire schemas of src/flows/wire.ts), made
// for the UI's browser test: no lab here, so the test posts what a node would have captured.
import type { Explanation } from "../../src/analysis/explain.ts";
import type { AlertsBody, FlowsBody } from "../../src/flows/index.ts";
import { FLOW_FIELDS } from "../../src/model/index.ts";

type Record = FlowsBody["records"][number];
type Alert = AlertsBody["alerts"][number];

export interface Side {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly labels?: Readonly<{ [key: string]: string }>;
}

export interface Judged {
  readonly action: "allow" | "deny" | "log";
  readonly reporter: "src" | "dst";
  readonly policy: string;
  readonly tier: string;
  readonly rule: string;
}

/** What a node would log for the flow explain judged: the deciding direction's policy and rule. */
export function judgedBy(e: Explanation): Judged {
  // A denied egress is reported at the source; otherwise the destination's ingress decided.
  const decided = e.egress.allowed ? e.ingress : e.egress;
  const decision = decided.decision;
  const reporter = decided === e.egress ? "src" : "dst";
  if (decision.kind === "rule") {
    const p = decision.policy;
    const name = p.namespace ? `${p.namespace}/${p.name}` : p.name;
    return {
      action: e.allowed ? "allow" : "deny",
      reporter,
      policy: name,
      tier: decision.tier,
      rule: String(decision.ruleIndex),
    };
  }
  const tier = decision.kind === "tier-default" ? decision.tier : "";
  return { action: e.allowed ? "allow" : "deny", reporter, policy: "", tier, rule: "" };
}

export function flowRecord(
  from: Side,
  to: Side,
  port: number,
  judged: Judged,
  at: number,
  connections = 1,
): Record {
  const fields = Object.fromEntries(FLOW_FIELDS.map((f) => [f, ""])) as Record["fields"];
  Object.assign(fields, {
    action: judged.action,
    reporter: judged.reporter,
    proto: "tcp",
    policy: judged.policy,
    tier: judged.tier,
    rule: judged.rule,
    source_ip: from.ip,
    source_port: "40000",
    source_kind: "Pod",
    source_namespace: from.namespace,
    source_name: from.name,
    dest_ip: to.ip,
    dest_port: String(port),
    dest_kind: "Pod",
    dest_namespace: to.namespace,
    dest_name: to.name,
  });
  return {
    start: at - 10_000,
    end: at,
    fields,
    sourceLabels: { ...from.labels },
    destLabels: { ...to.labels },
    packets: connections * 3,
    bytes: connections * 180,
    connections,
    logs: connections,
    firstSeen: at - 9_000,
    lastSeen: at - 1_000,
    reason: judged.policy ? `${judged.action} by ${judged.policy}` : judged.action,
    isolatedBy: [],
    wouldDeny: 0,
    wouldDenyBy: [],
  };
}

export function alertOf(name: string, from: Side, to: Side, port: number, policy: string): Alert {
  return {
    time: new Date().toISOString(),
    alert: name,
    severity: 80,
    summary: `${from.name} opened port ${port} on ${to.name}`,
    description: "denied connection",
    source: `${from.namespace}/${from.name}`,
    destination: `${to.namespace}/${to.name}`,
    port: String(port),
    protocol: "TCP",
    policy,
    action: "deny",
    reason: `deny by ${policy}`,
    count: 1,
    fields: {},
  };
}
