// Cheap structural equality for what the engine emits most: endpoints. Policies are compared
// by serialized form, since they change only on policy edits.
import type { DpEndpoint, DpPolicy, DpTierRef } from "./types.ts";

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i]!, b[i]!)) return false;
  return true;
}

const identical = <T>(x: T, y: T) => x === y;

function sameTier(a: DpTierRef, b: DpTierRef): boolean {
  return (
    a.name === b.name &&
    a.defaultAction === b.defaultAction &&
    sameList(a.policies, b.policies, identical)
  );
}

/** Every tier list of an endpoint: its own and its host stages'. */
export function tierLists(ep: DpEndpoint): (readonly DpTierRef[])[] {
  const s = ep.hostStages;
  const stages = s
    ? [s.untracked.ingress, s.untracked.egress, s.preDNAT, s.forward.ingress, s.forward.egress]
    : [];
  return [ep.ingress, ep.egress, ...stages];
}

export function sameEndpoint(a: DpEndpoint, b: DpEndpoint): boolean {
  return (
    a.id === b.id &&
    a.kind === b.kind &&
    a.interfaceName === b.interfaceName &&
    sameList(a.addresses, b.addresses, identical) &&
    sameList(a.allowedSourcePrefixes ?? [], b.allowedSourcePrefixes ?? [], identical) &&
    sameList(a.hostStages?.interfaces ?? [], b.hostStages?.interfaces ?? [], identical) &&
    sameList(tierLists(a), tierLists(b), (x, y) => sameList(x, y, sameTier))
  );
}

export function samePolicy(a: DpPolicy, b: DpPolicy): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
