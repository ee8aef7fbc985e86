// biome-ignore-all lint/suspicious/noTemplateCurlyInString: alert templates write ${field} on purpose.
// GlobalAlert evaluated as a stream over flow logs: a matching log raises its alert at once
// (the caller feeds logs as they arrive, so the alert is as late as the record). aggregateBy and
// period dedupe: one alert per group per period, carrying how many matching logs it stands for.
// With metric/condition/threshold, a group alerts when the metric over the sliding lookback
// meets the condition, checked on every matching log and on `tick` (so `count lt 1` can fire).
import { type GlobalAlert, GlobalAlertSchema, parseDuration } from "../model/index.ts";
import {
  addSelectorKeys,
  compileSelector,
  type Predicate,
  parseSelector,
} from "../selector/index.ts";
import {
  type FlowLog,
  partialSelectorView,
  selectorView,
  type ViewKey,
  viewKeys,
} from "./flow-log.ts";

export interface Alert {
  /** The packet's time (ISO 8601) of the log that raised it. */
  readonly time: string;
  readonly alert: string;
  readonly severity: number;
  readonly summary: string;
  readonly description: string;
  /** `namespace/name` of a workload, the name of a global one, else the address. */
  readonly source: string;
  readonly destination: string;
  readonly port: string;
  readonly protocol: string;
  readonly policy: string;
  readonly action: string;
  readonly reason: string;
  /** Matching logs this alert stands for: this one and those its group's period suppressed. */
  readonly count: number;
  /** The metric's value over the lookback, for metric alerts. */
  readonly value?: number;
  /** The group's fields (aggregateBy), or every flow field. */
  readonly fields: Readonly<Record<string, string>>;
}

/** The built-in alert: any denied connection between two workloads. */
export const DEFAULT_ALERT_NAME = "default-denied-connection";

export const DEFAULT_ALERT: GlobalAlert = GlobalAlertSchema.parse({
  apiVersion: "microseg.io/v1",
  kind: "GlobalAlert",
  metadata: { name: DEFAULT_ALERT_NAME },
  spec: {
    description:
      "denied ${source_namespace}/${source_name} -> ${dest_namespace}/${dest_name}:${dest_port}/${proto} by ${policy}",
    severity: 50,
    selector:
      'action == "deny" && source_kind in {"Pod", "WorkloadEndpoint"} && dest_kind in {"Pod", "WorkloadEndpoint"}',
    aggregateBy: [
      "source_namespace",
      "source_name",
      "dest_namespace",
      "dest_name",
      "dest_port",
      "proto",
      "policy",
    ],
    period: "1m",
    lookback: "1m",
  },
});

/** Without aggregateBy, "one per flow": the flow's identity and verdict. */
const FLOW_GROUP = [
  "source_ip",
  "dest_ip",
  "dest_port",
  "proto",
  "action",
  "policy",
  "reporter",
] as const;

const MAX_GROUPS_PER_ALERT = 10_000;
/**
 * A full group table is swept for idle groups at most this often (log time), and on every tick:
 * sweeping on every new group's log made a full table cost O(groups) per log (328 logs/s).
 */
const SWEEP_EVERY_MS = 1000;

interface GroupState {
  /** When this group last alerted; -Infinity before its first. */
  lastAlert: number;
  suppressed: number;
  /** Metric alerts: the matching logs' times and values inside the lookback. */
  window: Array<{ time: number; value: number }>;
  /** The latest matching log, for the alert's fields. */
  latest: FlowLog | undefined;
}

class AlertRule {
  readonly name: string;
  readonly periodMs: number;
  readonly lookbackMs: number;
  readonly #groups = new Map<string, GroupState>();
  #sweptAt = Number.NEGATIVE_INFINITY;
  readonly #selector: Predicate;
  /** The keys the selector and the group read: the only part of the view built per log. */
  readonly #keys: readonly ViewKey[];
  /** Logs whose group could not be opened (MAX_GROUPS_PER_ALERT). */
  droppedGroups = 0;

  constructor(
    readonly spec: GlobalAlert["spec"],
    name: string,
  ) {
    this.name = name;
    this.periodMs = parseDuration(spec.period ?? "5m")!;
    this.lookbackMs = parseDuration(spec.lookback ?? "10m")!;
    const ast = parseSelector(spec.selector);
    this.#selector = compileSelector(ast);
    const keys = new Set<string>(spec.aggregateBy ?? FLOW_GROUP);
    addSelectorKeys(ast, keys);
    this.#keys = viewKeys(keys);
    // One group and no aggregateBy: absence (count lt 1) is measurable from the start.
    if (spec.metric && !spec.aggregateBy) this.#groups.set("", newGroup());
  }

  /** The log's view at this rule's keys, or undefined when the selector does not match. */
  matches(log: FlowLog): Record<string, string> | undefined {
    const view = partialSelectorView(this.#keys, log.fields, log.sourceLabels, log.destLabels);
    return this.#selector(view) ? view : undefined;
  }

  /** A log this rule matches: its group's dedupe or metric decides whether it alerts now. */
  onMatch(log: FlowLog, view: Record<string, string>): Alert | undefined {
    const keyFields = this.spec.aggregateBy ?? FLOW_GROUP;
    const key = this.spec.metric && !this.spec.aggregateBy ? "" : groupKey(keyFields, view);
    let g = this.#groups.get(key);
    if (!g) {
      if (this.#groups.size >= MAX_GROUPS_PER_ALERT && log.time >= this.#sweptAt + SWEEP_EVERY_MS)
        this.#evictIdle(log.time);
      if (this.#groups.size >= MAX_GROUPS_PER_ALERT) {
        this.droppedGroups++;
        return undefined;
      }
      g = newGroup();
      this.#groups.set(key, g);
    }
    g.latest = log;
    if (!this.spec.metric) {
      if (log.time < g.lastAlert + this.periodMs) {
        g.suppressed++;
        return undefined;
      }
      const count = g.suppressed + 1;
      g.suppressed = 0;
      g.lastAlert = log.time;
      return this.#alert(log, view, count, undefined);
    }
    g.window.push({ time: log.time, value: metricValue(this.spec, log) });
    return this.#evaluate(g, log.time);
  }

  tick(now: number): Alert[] {
    const out: Alert[] = [];
    if (this.spec.metric) {
      for (const g of this.#groups.values()) {
        const a = this.#evaluate(g, now);
        if (a) out.push(a);
      }
    }
    this.#evictIdle(now);
    return out;
  }

  #evaluate(g: GroupState, now: number): Alert | undefined {
    while (g.window.length > 0 && g.window[0]!.time <= now - this.lookbackMs) g.window.shift();
    if (now < g.lastAlert + this.periodMs) return undefined;
    const value = aggregate(
      this.spec.metric!,
      g.window.map((w) => w.value),
    );
    if (value === undefined || !holds(this.spec.condition!, value, this.spec.threshold!))
      return undefined;
    g.lastAlert = now;
    const log = g.latest;
    const view = log
      ? partialSelectorView(this.#keys, log.fields, log.sourceLabels, log.destLabels)
      : {};
    return this.#alert(log, view, g.window.length, value, now);
  }

  /** Groups with nothing in their lookback and no period running are forgotten. */
  #evictIdle(now: number): void {
    this.#sweptAt = now;
    for (const [key, g] of this.#groups) {
      if (key === "" && this.spec.metric && !this.spec.aggregateBy) continue;
      const idle = g.window.length === 0 && now >= g.lastAlert + this.periodMs;
      const quiet = g.latest === undefined || g.latest.time <= now - this.lookbackMs;
      if (idle && quiet && g.suppressed === 0) this.#groups.delete(key);
    }
  }

  #alert(
    log: FlowLog | undefined,
    view: Record<string, string>,
    count: number,
    value: number | undefined,
    now?: number,
  ): Alert {
    const fields: Record<string, string> = this.spec.aggregateBy
      ? Object.fromEntries(this.spec.aggregateBy.map((f) => [f, view[f] ?? ""]))
      : log
        ? selectorView(log.fields, log.sourceLabels, log.destLabels)
        : {};
    const vars: Record<string, string> = { ...fields };
    if (this.spec.metric) vars[this.spec.metric] = String(value);
    const description = fill(this.spec.description, vars);
    const f = log?.fields;
    return {
      time: new Date(now ?? log?.time ?? 0).toISOString(),
      alert: this.name,
      severity: this.spec.severity,
      summary: this.spec.summary ? fill(this.spec.summary, vars) : description,
      description,
      source: f ? peerName(f.source_namespace, f.source_name, f.source_ip) : "",
      destination: f ? peerName(f.dest_namespace, f.dest_name, f.dest_ip) : "",
      port: f?.dest_port ?? "",
      protocol: f?.proto ?? "",
      policy: f?.policy ?? "",
      action: f?.action ?? "",
      reason: log?.reason ?? "",
      count,
      ...(value !== undefined ? { value } : {}),
      fields,
    };
  }
}

export interface AlertEvaluatorOptions {
  /** The built-in alert for denied connections between workloads; on unless false. */
  readonly defaultAlert?: boolean;
}

export class AlertEvaluator {
  #rules: AlertRule[] = [];
  readonly #defaultAlert: boolean;

  constructor(alerts: readonly GlobalAlert[] = [], opts: AlertEvaluatorOptions = {}) {
    this.#defaultAlert = opts.defaultAlert ?? true;
    this.setAlerts(alerts);
  }

  /** Replaces the alert set; a rule whose spec did not change keeps its dedupe state. */
  setAlerts(alerts: readonly GlobalAlert[]): void {
    const all =
      this.#defaultAlert && !alerts.some((a) => a.metadata.name === DEFAULT_ALERT_NAME)
        ? [...alerts, DEFAULT_ALERT]
        : [...alerts];
    const old = new Map(this.#rules.map((r) => [r.name, r]));
    this.#rules = all.map((a) => {
      const kept = old.get(a.metadata.name);
      return kept && JSON.stringify(kept.spec) === JSON.stringify(a.spec)
        ? kept
        : new AlertRule(a.spec, a.metadata.name);
    });
  }

  get names(): string[] {
    return this.#rules.map((r) => r.name);
  }

  /**
   * The alerts a log raises. The built-in alert stands aside for a log that one of the user's
   * alerts matches (raised or deduped): one violation, one alert.
   */
  onLog(log: FlowLog): Alert[] {
    const out: Alert[] = [];
    let covered = false;
    for (const rule of this.#rules) {
      if (rule.spec === DEFAULT_ALERT.spec && covered) continue;
      const view = rule.matches(log);
      if (!view) continue;
      covered = true;
      const a = rule.onMatch(log, view);
      if (a) out.push(a);
    }
    return out;
  }

  tick(now: number): Alert[] {
    return this.#rules.flatMap((r) => r.tick(now));
  }

  /** Logs per alert that found no room for a new group. */
  droppedGroups(): Record<string, number> {
    return Object.fromEntries(this.#rules.map((r) => [r.name, r.droppedGroups]));
  }
}

/** The group's values joined; a loop, as this runs for every matching log. */
function groupKey(fields: readonly string[], view: Record<string, string>): string {
  let key = "";
  for (const f of fields) key += `${view[f] ?? ""}\u0000`;
  return key;
}

function newGroup(): GroupState {
  return { lastAlert: Number.NEGATIVE_INFINITY, suppressed: 0, window: [], latest: undefined };
}

function metricValue(spec: GlobalAlert["spec"], log: FlowLog): number {
  switch (spec.field) {
    case "packets":
      return log.packets;
    case "bytes":
      return log.bytes;
    case "num_flows":
      return log.connections;
    default:
      return 1;
  }
}

function aggregate(
  metric: NonNullable<GlobalAlert["spec"]["metric"]>,
  values: number[],
): number | undefined {
  if (metric === "count") return values.length;
  if (values.length === 0) return metric === "sum" ? 0 : undefined;
  switch (metric) {
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "min":
      return Math.min(...values);
    case "max":
      return Math.max(...values);
  }
}

function holds(
  condition: NonNullable<GlobalAlert["spec"]["condition"]>,
  v: number,
  t: number,
): boolean {
  switch (condition) {
    case "eq":
      return v === t;
    case "not_eq":
      return v !== t;
    case "lt":
      return v < t;
    case "lte":
      return v <= t;
    case "gt":
      return v > t;
    case "gte":
      return v >= t;
  }
}

const TEMPLATE_VARIABLE = /\$\{([^}]*)\}/g;

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(TEMPLATE_VARIABLE, (_, name: string) => vars[name] ?? "");
}

function peerName(namespace: string, name: string, ip: string): string {
  if (!name) return ip;
  return namespace ? `${namespace}/${name}` : name;
}

/** What an alert says of the traffic: both sides, port, protocol, policy, action. */
export const alertTraffic = (a: Alert) => ({
  source: a.source,
  destination: a.destination,
  port: a.port,
  protocol: a.protocol,
  policy: a.policy,
  action: a.action,
});
