// An enriched packet record: one NFLOG record with both sides' identities as of the packet's
// time, the deciding tier/policy/rule, and why. Its string fields are exactly the flow fields of
// GlobalAlert (src/model FLOW_FIELDS), so alert selectors and flow queries read them directly.
import type { FLOW_FIELDS } from "../model/index.ts";
import type { Labels } from "../selector/index.ts";

export type FlowField = (typeof FLOW_FIELDS)[number];
export type FlowFields = Readonly<Record<FlowField, string>>;

/** allow | deny as the schema says; `log` for a Log rule's hit (the packet went on). */
export type FlowAction = "allow" | "deny" | "log";

export interface StagedVerdict {
  readonly action: "allow" | "deny";
  /** The staged policies that make it a deny (the deciding rule's, or the isolating ones). */
  readonly policies: readonly string[];
}

export interface FlowLog {
  readonly time: number;
  readonly fields: FlowFields;
  readonly sourceLabels: Labels;
  readonly destLabels: Labels;
  readonly packets: number;
  readonly bytes: number;
  /** 1 when the packet opens a connection (TCP SYN, or any other protocol's logged packet). */
  readonly connections: number;
  /** One line that explains the verdict; never empty for a deny. */
  readonly reason: string;
  /** For an implicit deny: the policies that selected the endpoint in that direction. */
  readonly isolatedBy: readonly string[];
  /** Present when staged policies exist: what the staged program would do with this packet. */
  readonly staged?: StagedVerdict;
}

/** Every field empty (records built by hand); the type makes a missing field a compile error. */
export const emptyFields = (): Record<FlowField, string> => ({
  action: "",
  reporter: "",
  proto: "",
  policy: "",
  tier: "",
  rule: "",
  source_ip: "",
  source_port: "",
  source_port_name: "",
  source_kind: "",
  source_namespace: "",
  source_name: "",
  source_service_account: "",
  source_node: "",
  dest_ip: "",
  dest_port: "",
  dest_port_name: "",
  dest_kind: "",
  dest_namespace: "",
  dest_name: "",
  dest_service_account: "",
  dest_node: "",
});

/** The flat map selectors see: the fields plus `source_labels.<k>` and `dest_labels.<k>`. */
export function selectorView(
  fields: FlowFields,
  sourceLabels: Labels,
  destLabels: Labels,
): Record<string, string> {
  const view: Record<string, string> = { ...fields };
  for (const [k, v] of Object.entries(sourceLabels)) view[`source_labels.${k}`] = v;
  for (const [k, v] of Object.entries(destLabels)) view[`dest_labels.${k}`] = v;
  return view;
}

const SOURCE_LABELS = "source_labels.";
const DEST_LABELS = "dest_labels.";

/** A view key resolved once: where its value lives (a flow field, or one side's label). */
export interface ViewKey {
  readonly key: string;
  readonly from: "fields" | "source" | "dest";
  readonly name: string;
}

export function viewKeys(keys: Iterable<string>): ViewKey[] {
  return [...new Set(keys)].map((key) =>
    key.startsWith(SOURCE_LABELS)
      ? { key, from: "source", name: key.slice(SOURCE_LABELS.length) }
      : key.startsWith(DEST_LABELS)
        ? { key, from: "dest", name: key.slice(DEST_LABELS.length) }
        : { key, from: "fields", name: key },
  );
}

/**
 * The selector view restricted to `keys`: what `selectorView` holds at those keys and nothing
 * else, so a selector that reads only these keys judges both alike. Built per log where the full
 * view (all fields and both label sets, ~50 keys) cost more than the rest of the log's path.
 */
export function partialSelectorView(
  keys: readonly ViewKey[],
  fields: FlowFields,
  sourceLabels: Labels,
  destLabels: Labels,
): Record<string, string> {
  // No prototype: `__proto__` and `constructor` are valid label keys and stay plain data.
  const view: Record<string, string> = Object.create(null);
  for (const { key, from, name } of keys) {
    const v = ownValue(
      from === "source" ? sourceLabels : from === "dest" ? destLabels : fields,
      name,
    );
    if (v !== undefined) view[key] = v;
  }
  return view;
}

/** Own properties only, as `selectorView` copies them (`labels.__proto__` is the prototype). */
function ownValue(o: Readonly<Record<string, string>>, k: string): string | undefined {
  if (!Object.hasOwn(o, k)) return undefined;
  return k === "__proto__" ? Object.getOwnPropertyDescriptor(o, k)?.value : o[k];
}
