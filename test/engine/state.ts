import type { DataplaneState } from "../../src/engine/types.ts";

/** A canonical text of a dataplane state: equal states, equal text. */
export function stateText(s: DataplaneState): string {
  const sorted = <T>(m: ReadonlyMap<string, T>) =>
    [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({
    sets: sorted(s.sets).map(([id, set]) => [id, set.spec, [...set.members.keys()].sort()]),
    policies: sorted(s.policies),
    endpoints: sorted(s.endpoints),
  });
}
