// A projection of flow records (`GET /api/v1/flows?fields=...`): a reader names the members it
// reads, `lastSeen,connections,fields.action,fields.dest_port`, and gets records of those
// alone. A record is ~780 bytes of JSON, most of it fields a given view never shows; the web
// UI's graph reads a dozen of them. The store id always comes along: it orders, resumes a
// stream (Last-Event-ID) and keys a row.
import { FLOW_FIELDS } from "../model/index.ts";
import type { FlowField, FlowFields } from "./flow-log.ts";
import { FlowQueryError } from "./flow-store.ts";
import { type StoredFlowRecord, StoredFlowRecordSchema } from "./wire.ts";

type RecordKey = keyof StoredFlowRecord;

const RECORD_KEYS = Object.keys(StoredFlowRecordSchema.shape) as RecordKey[];
const FIELD_PREFIX = "fields.";

export interface FlowProjection<K extends RecordKey = RecordKey, F extends FlowField = FlowField> {
  /** Top-level members kept whole (`id` always among them). */
  readonly keys: readonly K[];
  /** Flow fields kept of `fields`, when `fields` itself is not kept whole. */
  readonly fields: readonly F[];
}

/** A record as a projection sends it: the id, the keys, and the flow fields named. */
export type ProjectedFlowRecord<K extends RecordKey, F extends FlowField> = Pick<
  StoredFlowRecord,
  "id" | K
> & { readonly fields: Pick<FlowFields, F> };

/**
 * Parses `fields=`: comma-separated top-level record members or `fields.<flow field>`.
 * Undefined (every member) when absent or empty; an unknown name is a FlowQueryError on
 * `fields` that names it and what is known.
 */
export function parseFlowProjection(text: string | undefined): FlowProjection | undefined {
  const names = (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (names.length === 0) return undefined;
  const keys = new Set<RecordKey>(["id"]);
  const fields = new Set<FlowField>();
  for (const name of names) {
    if ((RECORD_KEYS as string[]).includes(name)) keys.add(name as RecordKey);
    else if (
      name.startsWith(FIELD_PREFIX) &&
      (FLOW_FIELDS as readonly string[]).includes(name.slice(FIELD_PREFIX.length))
    )
      fields.add(name.slice(FIELD_PREFIX.length) as FlowField);
    else
      throw new FlowQueryError(
        "fields",
        `unknown record member "${name}": known are ${RECORD_KEYS.join(", ")}, and fields.<flow field> (${FLOW_FIELDS.join(", ")})`,
      );
  }
  return { keys: [...keys], fields: keys.has("fields") ? [] : [...fields] };
}

/** The record with only the projection's members. */
export function projectFlowRecord(
  r: StoredFlowRecord,
  p: FlowProjection,
): Partial<StoredFlowRecord> {
  const out: Record<string, unknown> = {};
  for (const k of p.keys) out[k] = r[k];
  if (p.fields.length > 0) {
    const fields: Partial<Record<FlowField, string>> = {};
    for (const f of p.fields) fields[f] = r.fields[f];
    out.fields = fields;
  }
  return out as Partial<StoredFlowRecord>;
}
