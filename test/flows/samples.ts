// Flow records and alerts made by the real stage (enrichment, aggregation, the built-in alert)
// from packets of the blue namespace: what an agent ships, for the wire and API tests.
import {
  Aggregator,
  type Alert,
  AlertEvaluator,
  Enricher,
  FlowContext,
  type FlowRecord,
} from "../../src/flows/index.ts";
import { ns, packet, pod, upsert } from "./fixtures.ts";

export interface Samples {
  readonly records: FlowRecord[];
  readonly alerts: Alert[];
}

/** `denies` denied LDAP attempts from two frontends, one allowed flow, every interval closed. */
export function sampleTraffic(t0: number, denies = 3): Samples {
  const ctx = new FlowContext();
  ctx.apply(
    [
      ns("blue"),
      pod("blue", "frontend-0", "198.18.1.1", { app: "frontend" }),
      pod("blue", "client-0", "198.18.1.2", { role: "ldap-client" }),
      pod("blue", "ldap-0", "198.18.1.10", { role: "ldap-server" }),
    ].map(upsert),
    t0 - 60_000,
  );
  const enricher = new Enricher(ctx);
  const aggregator = new Aggregator({ intervalMs: 15_000 });
  const evaluator = new AlertEvaluator();
  const alerts: Alert[] = [];
  const policy = "GlobalNetworkPolicy//blue-ldap" as never;
  for (let i = 0; i < denies; i++) {
    const log = enricher.enrich(
      packet({
        time: t0 + i * 10,
        prefix: { action: "D", direction: "ingress", tier: "security", policy, rule: 2 },
        src: "198.18.1.1",
        dst: "198.18.1.10",
        dport: 389,
        sport: 40000 + i,
      }),
    )!;
    aggregator.add(log);
    alerts.push(...evaluator.onLog(log));
  }
  const allowed = enricher.enrich(
    packet({
      time: t0 + 5,
      prefix: { action: "A", direction: "ingress", tier: "security", policy, rule: 0 },
      src: "198.18.1.2",
      dst: "198.18.1.10",
      dport: 389,
    }),
  )!;
  aggregator.add(allowed);
  return { records: aggregator.flush(Number.POSITIVE_INFINITY), alerts };
}
