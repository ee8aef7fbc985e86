// Inverted lists from labels to selectors: by (key, value) and by key alone, for the index's
// selectors under their anchors. (Endpoints are listed in the label columns, by slot.)

import { getOrCreate } from "../util/maps.ts";

const NONE: ReadonlySet<never> = new Set();

export class Postings<Id> {
  private readonly byPair = new Map<string, Map<string, Set<Id>>>();
  private readonly byKey = new Map<string, Set<Id>>();

  addPair(key: string, value: string, id: Id): void {
    const values = getOrCreate(this.byPair, key, () => new Map<string, Set<Id>>());
    getOrCreate(values, value, () => new Set<Id>()).add(id);
  }

  removePair(key: string, value: string, id: Id): void {
    const values = this.byPair.get(key);
    const ids = values?.get(value);
    if (ids === undefined || !ids.delete(id) || ids.size > 0) return;
    values!.delete(value);
    if (values!.size === 0) this.byPair.delete(key);
  }

  addKey(key: string, id: Id): void {
    getOrCreate(this.byKey, key, () => new Set<Id>()).add(id);
  }

  removeKey(key: string, id: Id): void {
    const ids = this.byKey.get(key);
    if (ids?.delete(id) && ids.size === 0) this.byKey.delete(key);
  }

  withPair(key: string, value: string): ReadonlySet<Id> {
    return this.byPair.get(key)?.get(value) ?? NONE;
  }

  withKey(key: string): ReadonlySet<Id> {
    return this.byKey.get(key) ?? NONE;
  }
}
