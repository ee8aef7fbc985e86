// The kind-specific columns of `get`: kubectl's own for the Kubernetes kinds it knows
// (Namespace STATUS, Pod STATUS and -o wide IP/NODE, NetworkPolicy POD-SELECTOR), and for
// microseg's kinds the fields that tell objects apart, shown with -o wide.
import type { KindInfo, LabelSelector, Resource } from "../model/index.ts";

export interface Columns {
  /** Between NAME and AGE. */
  readonly headers: readonly string[];
  readonly cells: (r: Resource) => readonly string[];
  /** After AGE, with -o wide. */
  readonly wideHeaders: readonly string[];
  readonly wideCells: (r: Resource) => readonly string[];
}

const NONE = "<none>";

/** metav1.FormatLabelSelector: `app=web,tier in (a,b),!legacy`, `<none>` for the empty one. */
export function formatLabelSelector(s: LabelSelector | undefined): string {
  const parts = Object.keys(s?.matchLabels ?? {})
    .sort()
    .map((k) => `${k}=${s?.matchLabels?.[k]}`);
  for (const e of s?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else if (e.operator === "Exists") parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(",") : NONE;
}

function list(values: readonly (string | undefined)[] | undefined): string {
  const present = (values ?? []).filter((v): v is string => v !== undefined && v !== "");
  return present.length ? present.join(",") : NONE;
}

function text(value: string | number | undefined): string {
  return value === undefined || value === "" ? NONE : String(value);
}

const EMPTY: readonly string[] = [];

function columns(
  headers: readonly string[],
  cells: Columns["cells"],
  wideHeaders: readonly string[] = EMPTY,
  wideCells: Columns["wideCells"] = () => EMPTY,
): Columns {
  return { headers, cells, wideHeaders, wideCells };
}

function policyColumns(): Columns {
  return columns(
    [],
    () => EMPTY,
    ["TIER", "ORDER", "SELECTOR"],
    (r) => {
      const spec = (r as { spec?: { tier?: string; order?: number; selector?: string } }).spec;
      return [text(spec?.tier ?? "default"), text(spec?.order), text(spec?.selector ?? "all()")];
    },
  );
}

export function columnsFor(info: KindInfo): Columns {
  switch (info.kind) {
    case "Namespace":
      return columns(["STATUS"], () => ["Active"]);
    case "Pod":
      return columns(
        ["STATUS"],
        (r) => [text(r.kind === "Pod" ? (r.status?.phase as string | undefined) : undefined)],
        ["IP", "NODE"],
        (r) =>
          r.kind === "Pod"
            ? [list(r.status?.podIPs?.map((p) => p.ip) ?? [r.status?.podIP]), text(r.spec.nodeName)]
            : EMPTY,
      );
    case "Node":
      return columns(
        [],
        () => EMPTY,
        ["ADDRESSES"],
        (r) => (r.kind === "Node" ? [list(r.status?.addresses?.map((a) => a.address))] : EMPTY),
      );
    case "Tier":
      return columns(
        [],
        () => EMPTY,
        ["ORDER", "DEFAULT-ACTION"],
        (r) =>
          r.kind === "Tier" ? [text(r.spec?.order), text(r.spec?.defaultAction ?? "Deny")] : EMPTY,
      );
    case "AdminNetworkPolicy":
      return columns(
        [],
        () => EMPTY,
        ["PRIORITY"],
        (r) => (r.kind === "AdminNetworkPolicy" ? [String(r.spec.priority)] : EMPTY),
      );
    case "ClusterNetworkPolicy":
      // The CRD's printer columns.
      return columns(
        [],
        () => EMPTY,
        ["TIER", "PRIORITY"],
        (r) => (r.kind === "ClusterNetworkPolicy" ? [r.spec.tier, String(r.spec.priority)] : EMPTY),
      );
    case "NetworkSet":
    case "GlobalNetworkSet":
      return columns(
        [],
        () => EMPTY,
        ["NETS"],
        (r) =>
          r.kind === "NetworkSet" || r.kind === "GlobalNetworkSet" ? [list(r.spec.nets)] : EMPTY,
      );
    case "WorkloadEndpoint":
      return columns(
        [],
        () => EMPTY,
        ["NODE", "NETWORKS"],
        (r) =>
          r.kind === "WorkloadEndpoint" ? [text(r.spec.node), list(r.spec.ipNetworks)] : EMPTY,
      );
    case "HostEndpoint":
      return columns(
        [],
        () => EMPTY,
        ["NODE", "INTERFACE", "EXPECTED-IPS"],
        (r) =>
          r.kind === "HostEndpoint"
            ? [text(r.spec.node), text(r.spec.interfaceName), list(r.spec.expectedIPs)]
            : EMPTY,
      );
    case "GlobalAlert":
      return columns(
        [],
        () => EMPTY,
        ["SEVERITY", "DESCRIPTION"],
        (r) => (r.kind === "GlobalAlert" ? [String(r.spec.severity), r.spec.description] : EMPTY),
      );
    case "NetworkPolicy":
      if (info.group === "networking.k8s.io") {
        return columns(
          ["POD-SELECTOR"],
          (r) => [
            formatLabelSelector(
              (r as { spec?: { podSelector?: LabelSelector } }).spec?.podSelector,
            ),
          ],
          ["POLICY-TYPES"],
          (r) => [list((r as { spec?: { policyTypes?: string[] } }).spec?.policyTypes)],
        );
      }
      return policyColumns();
    case "GlobalNetworkPolicy":
    case "StagedNetworkPolicy":
    case "StagedGlobalNetworkPolicy":
      return policyColumns();
    default:
      return columns([], () => EMPTY);
  }
}
