// Referential rules every store enforces inside its write transaction, as Calico does: a policy
// names a tier that exists; a tier that still holds policies cannot be deleted; the built-in
// tiers exist from the start, cannot be deleted, and keep their places (only the default
// tier's defaultAction may change). A store answers the questions of `ReferenceView` from its
// own transaction (an etcd store reads them inside its STM), so an apply sees its own set: a
// tier created in the same set counts.
import { MICROSEG_V1, type Resource, type Tier } from "../model/index.ts";
import { BUILTIN_TIERS } from "../policy/index.ts";
import { describeObject } from "./kinds.ts";
import { DatastoreError, type StoredResource } from "./types.ts";

export interface ReferenceView {
  hasTier(name: string): boolean;
  /** A policy whose spec.tier is `name`, as `Kind ns/name`; undefined when the tier is empty. */
  policyInTier(name: string): string | undefined;
}

/** The kinds whose spec.tier names a Tier (microseg.io/v1, also written projectcalico.org/v3). */
export const TIERED_KINDS: readonly string[] = [
  "NetworkPolicy",
  "GlobalNetworkPolicy",
  "StagedNetworkPolicy",
  "StagedGlobalNetworkPolicy",
];

const DEFAULT_TIER_NAME = "default";

export function tierOf(r: Resource): string | undefined {
  if (r.apiVersion !== MICROSEG_V1 || !TIERED_KINDS.includes(r.kind)) return undefined;
  return (r.spec as { tier?: string }).tier;
}

/** The built-in tiers as Tier objects, as a fresh store holds them. */
export function builtinTierObjects(): Tier[] {
  return BUILTIN_TIERS.map((t) => ({
    apiVersion: MICROSEG_V1,
    kind: "Tier",
    metadata: { name: t.name },
    spec: { ...(t.order !== undefined ? { order: t.order } : {}), defaultAction: t.defaultAction },
  }));
}

const BUILTIN = new Map(BUILTIN_TIERS.map((t) => [t.name, t]));

function isTier(r: { apiVersion: string; kind: string }): boolean {
  return r.apiVersion === MICROSEG_V1 && r.kind === "Tier";
}

/**
 * A write of a built-in tier: unset fields take the built-in values; a changed order, or a
 * changed defaultAction of any but the default tier, is Invalid. Other objects pass as they are.
 */
export function normalizeBuiltinTier(r: Resource): Resource {
  if (!isTier(r)) return r;
  const builtin = BUILTIN.get(r.metadata.name);
  if (!builtin) return r;
  const tier = r as Tier;
  const spec = {
    ...tier.spec,
    order: tier.spec.order ?? builtin.order,
    defaultAction: tier.spec.defaultAction ?? builtin.defaultAction,
  };
  const name = describeObject(r);
  const refuse = (path: string, message: string): never => {
    throw new DatastoreError(
      "Invalid",
      `${name}: ${path}: ${message}`,
      [{ code: "manifest.field", path, message }],
      name,
    );
  };
  if (spec.order !== builtin.order) {
    refuse("spec.order", `the built-in tier's order is ${builtin.order} and cannot change`);
  }
  if (builtin.name !== DEFAULT_TIER_NAME && spec.defaultAction !== builtin.defaultAction) {
    refuse(
      "spec.defaultAction",
      `the built-in tier's defaultAction is ${builtin.defaultAction} and cannot change`,
    );
  }
  return { ...tier, spec } as Resource;
}

/** Every written object's references hold in `view` (the transaction's state after the writes). */
export function checkReferences(written: readonly Resource[], view: ReferenceView): void {
  for (const r of written) {
    const tier = tierOf(r);
    if (tier !== undefined && !view.hasTier(tier)) {
      const name = describeObject(r);
      const message = `tier "${tier}" does not exist; create the Tier first (or in the same apply)`;
      throw new DatastoreError(
        "Invalid",
        `${name}: spec.tier: ${message}`,
        [{ code: "manifest.field", path: "spec.tier", message }],
        name,
      );
    }
  }
}

/** A delete leaves no dangling reference and keeps the built-in tiers. */
export function checkDeletable(stored: StoredResource, view: ReferenceView): void {
  if (!isTier(stored)) return;
  const name = describeObject(stored);
  if (BUILTIN.has(stored.metadata.name)) {
    throw new DatastoreError(
      "Invalid",
      `${name} is built in and cannot be deleted`,
      [
        {
          code: "manifest.field",
          path: "metadata.name",
          message: "a built-in tier cannot be deleted",
        },
      ],
      name,
    );
  }
  const policy = view.policyInTier(stored.metadata.name);
  if (policy !== undefined) {
    throw new DatastoreError(
      "Conflict",
      `${name} still holds policies (${policy}); delete or move them first`,
      [],
      name,
    );
  }
}
