// What a write does, decided the same way by every store: validation (the model's
// parseResource, so a store never holds what a manifest could not say), the resourceVersion
// precondition, no-op detection, the metadata the store owns (uid, creationTimestamp,
// resourceVersion, generation) and the referential rules. The verbs (`writeObject`,
// `applyObjects`, `deleteObject`) run on a store's transaction through `WriteView`, a few
// synchronous calls each store answers from its own transaction (SQLite's IMMEDIATE
// transaction; etcd's view loaded before, committed after), so the stores differ only in how
// they read and commit.
import { randomUUID } from "node:crypto";
import { parseResource, type Resource, type ResourceIssue, resourceKey } from "../model/index.ts";
import { describeObject, notFound, type ResolvedRef } from "./kinds.ts";
import {
  checkDeletable,
  checkReferences,
  normalizeBuiltinTier,
  type ReferenceView,
} from "./references.ts";
import {
  type ApplyResult,
  DatastoreError,
  type Preconditions,
  type StoredResource,
  type WriteInput,
} from "./types.ts";

/** A store's write transaction as the verbs see it: reads see the transaction's own writes. */
export interface WriteView extends ReferenceView {
  /** The revision the next change gets. */
  readonly next: number;
  /** The revision of the last change, or the store's revision before the transaction. */
  readonly last: number;
  get(key: string): StoredResource | undefined;
  /** Stores `object`, whose resourceVersion is `next` (the planner stamps it). */
  put(object: StoredResource, type: "ADDED" | "MODIFIED"): void;
  /** Removes `stored` at revision `next`; returns what the DELETED event carries. */
  remove(stored: StoredResource): StoredResource;
}

/** Bookkeeping the store writes; a client's copy of them never counts as a change. */
const SERVER_FIELDS = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "selfLink",
  "managedFields",
] as const;

export type WriteMode = "create" | "update" | "apply";
export type WriteAction = "created" | "configured" | "unchanged";

export function validate(input: unknown): Resource {
  const parsed = parseResource(input);
  if (parsed.ok) return parsed.value;
  const name = describeInput(input);
  const first = parsed.issues[0];
  const where = first?.path ? `${first.path}: ` : "";
  throw new DatastoreError(
    "Invalid",
    `${name} is invalid: ${where}${first?.message ?? "rejected"}`,
    parsed.issues,
    name,
  );
}

/** Issues of the set's object at `index`, named as the API names them (`items[2].spec.tier`). */
export function itemIssues(index: number, issues: readonly ResourceIssue[]): ResourceIssue[] {
  return issues.map((i) => ({
    ...i,
    path: i.path ? `items[${index}].${i.path}` : `items[${index}]`,
  }));
}

/**
 * Validates a whole set before any write: every issue of every bad object and every duplicate,
 * with its index; the error names the first bad object.
 */
export function validateSet(inputs: readonly WriteInput[]): Resource[] {
  const valid: Resource[] = [];
  const issues: ResourceIssue[] = [];
  const bad: string[] = [];
  const seen = new Map<string, number>();
  inputs.forEach((input, i) => {
    const parsed = parseResource(input);
    if (!parsed.ok) {
      bad.push(describeInput(input));
      issues.push(...itemIssues(i, parsed.issues));
      return;
    }
    const key = resourceKey(parsed.value);
    const first = seen.get(key);
    if (first !== undefined) {
      bad.push(describeObject(parsed.value));
      const message = `appears twice in the set (items[${first}] and items[${i}])`;
      issues.push(
        ...itemIssues(i, [{ code: "manifest.duplicate", path: "metadata.name", message }]),
      );
      return;
    }
    seen.set(key, i);
    valid.push(parsed.value);
  });
  if (bad.length > 0) {
    const first = issues[0]!;
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more: ${bad.slice(1).join(", ")})` : "";
    throw new DatastoreError(
      "Invalid",
      `${bad[0]} is invalid: ${first.path}: ${first.message}${more}; nothing was applied`,
      issues,
      bad[0],
    );
  }
  return valid;
}

function describeInput(input: unknown): string {
  const r = input as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const kind = typeof r?.kind === "string" ? r.kind : "object";
  const name = typeof r?.metadata?.name === "string" ? r.metadata.name : "";
  const ns = typeof r?.metadata?.namespace === "string" ? r.metadata.namespace : undefined;
  return describeObject({ kind, metadata: { name, ...(ns ? { namespace: ns } : {}) } });
}

/** Key-order independent JSON, so equal objects compare equal whatever built them. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

function withoutServerFields(r: Resource): unknown {
  const metadata: Record<string, unknown> = { ...r.metadata };
  for (const f of SERVER_FIELDS) delete metadata[f];
  return { ...r, metadata };
}

/** Everything but metadata and status: what Kubernetes' generation counts changes of. */
function specPart(r: Resource): string {
  const { metadata: _m, status: _s, ...rest } = r as Resource & { status?: unknown };
  return canonicalJson(rest);
}

export function sameContent(a: Resource, b: Resource): boolean {
  const left = withoutServerFields(a);
  const right = withoutServerFields(b);
  // Objects the same schema produced mostly agree on key order too: the cheap test first.
  return (
    JSON.stringify(left) === JSON.stringify(right) || canonicalJson(left) === canonicalJson(right)
  );
}

export interface PlannedWrite {
  readonly action: WriteAction;
  /** The object to store (or the stored one, unchanged). */
  readonly object: StoredResource;
}

function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function stamp(r: Resource, fields: Record<string, unknown>): StoredResource {
  const metadata: Record<string, unknown> = { ...r.metadata };
  for (const f of SERVER_FIELDS) delete metadata[f];
  return { ...r, metadata: { ...metadata, ...fields } } as StoredResource;
}

/**
 * Decides one write. `stored` is the current object (undefined when absent), `revision` the
 * revision the transaction writes at. Throws AlreadyExists, NotFound or Conflict.
 */
export function planWrite(
  mode: WriteMode,
  incoming: Resource,
  stored: StoredResource | undefined,
  revision: number,
  newUid: () => string,
  now: Date = new Date(),
): PlannedWrite {
  const name = describeObject(incoming);
  const wanted = incoming.metadata.resourceVersion;
  if (!stored) {
    if (mode === "update") throw new DatastoreError("NotFound", `${name} not found`, [], name);
    if (wanted !== undefined) {
      if (mode === "create") {
        throw new DatastoreError(
          "Invalid",
          `${name}: metadata.resourceVersion must not be set when creating`,
          [{ code: "manifest.field", path: "metadata.resourceVersion", message: "must be empty" }],
          name,
        );
      }
      throw new DatastoreError(
        "Conflict",
        `${name} has no version ${wanted}: it does not exist`,
        [],
        name,
      );
    }
    const object = stamp(incoming, {
      uid: newUid(),
      creationTimestamp: timestamp(now),
      resourceVersion: String(revision),
      generation: 1,
    });
    return { action: "created", object };
  }
  if (mode === "create") {
    throw new DatastoreError("AlreadyExists", `${name} already exists`, [], name);
  }
  const current = stored.metadata.resourceVersion;
  if (wanted !== undefined && wanted !== current) {
    throw new DatastoreError(
      "Conflict",
      `${name} was modified: version ${wanted} is stale (now ${current}); read it again and retry`,
      [],
      name,
    );
  }
  if (sameContent(incoming, stored)) return { action: "unchanged", object: stored };
  const generation =
    (stored.metadata.generation ?? 1) + (specPart(incoming) === specPart(stored) ? 0 : 1);
  const object = stamp(incoming, {
    uid: stored.metadata.uid,
    creationTimestamp: stored.metadata.creationTimestamp,
    resourceVersion: String(revision),
    generation,
  });
  return { action: "configured", object };
}

/** The object a DELETED event carries: as it last was, at the deleting revision. */
export function deletedAt(stored: StoredResource, revision: number): StoredResource {
  return {
    ...stored,
    metadata: { ...stored.metadata, resourceVersion: String(revision) },
  } as StoredResource;
}

/** The precondition of a delete. */
export function checkDeletePrecondition(stored: StoredResource, resourceVersion?: string): void {
  if (resourceVersion !== undefined && resourceVersion !== stored.metadata.resourceVersion) {
    const name = describeObject(stored);
    throw new DatastoreError(
      "Conflict",
      `${name} was modified: version ${resourceVersion} is stale (now ${stored.metadata.resourceVersion})`,
      [],
      name,
    );
  }
}

/** A reference error of one object of an applied set, its issues' paths prefixed `items[i]`. */
export function inSet(check: () => void, set: readonly Resource[]): void {
  try {
    check();
  } catch (e) {
    if (!(e instanceof DatastoreError) || e.code !== "Invalid") throw e;
    const index = set.findIndex((r) => describeObject(r) === e.object);
    throw index < 0
      ? e
      : new DatastoreError(e.code, e.message, itemIssues(index, e.issues), e.object);
  }
}

/** The object of a create or update, validated (before the store's transaction begins). */
export function incomingObject(input: WriteInput): Resource {
  return normalizeBuiltinTier(validate(input));
}

/** The objects of a whole-set apply, validated together (before the transaction begins). */
export function incomingSet(inputs: readonly WriteInput[]): Resource[] {
  return validateSet(inputs).map(normalizeBuiltinTier);
}

/** Plans one object's write on `tx` and performs it unless nothing changes. */
function put(tx: WriteView, mode: WriteMode, incoming: Resource): PlannedWrite {
  const plan = planWrite(mode, incoming, tx.get(resourceKey(incoming)), tx.next, randomUUID);
  if (plan.action !== "unchanged") {
    tx.put(plan.object, plan.action === "created" ? "ADDED" : "MODIFIED");
  }
  return plan;
}

/** A create or update of one validated object (`incomingObject`). */
export function writeObject(tx: WriteView, mode: WriteMode, incoming: Resource): StoredResource {
  const plan = put(tx, mode, incoming);
  if (plan.action !== "unchanged") checkReferences([plan.object], tx);
  return plan.object;
}

/** A whole set (`incomingSet`), its references checked against the transaction's own state. */
export function applyObjects(tx: WriteView, set: readonly Resource[]): ApplyResult {
  const results = set.map((incoming) => {
    const { object, action } = put(tx, "apply", incoming);
    return { object, action };
  });
  inSet(() => checkReferences(set, tx), set);
  return { revision: tx.last, results };
}

/** A delete with its precondition; a Tier is deletable only when empty and not built in. */
export function deleteObject(
  tx: WriteView,
  ref: ResolvedRef,
  preconditions: Preconditions,
): StoredResource {
  const stored = tx.get(ref.key);
  if (!stored) throw notFound(ref);
  checkDeletePrecondition(stored, preconditions.resourceVersion);
  checkDeletable(stored, tx);
  return tx.remove(stored);
}
