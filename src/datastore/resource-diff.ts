// Two loads of the whole resource set -> the events that take the engine from one to the
// other, by resource key: new and changed resources are upserts, missing ones deletes.

import { type Resource, type ResourceEvent, resourceKey } from "../model/index.ts";

export type ResourceMap = ReadonlyMap<string, Resource>;

export function byKey(resources: readonly Resource[]): Map<string, Resource> {
  return new Map(resources.map((r) => [resourceKey(r), r]));
}

export function diffResources(
  before: ResourceMap,
  after: ResourceMap,
  revision: number,
): ResourceEvent[] {
  const events: ResourceEvent[] = [];
  for (const key of before.keys()) {
    if (!after.has(key)) events.push({ type: "delete", key, revision });
  }
  for (const [key, resource] of after) {
    const old = before.get(key);
    if (!old || JSON.stringify(old) !== JSON.stringify(resource)) {
      events.push({ type: "upsert", resource, revision });
    }
  }
  return events;
}
