// A source an agent follows may keep each object as its consumer needs it instead of whole
// (another node's pod as its peer view, src/policy/peer-view.ts). The projection also says
// which updates the consumer need not see at all: those whose projection equals what it holds
// (a condition, a restart count, an annotation of another node's pod).
import type { Resource } from "../model/index.ts";

/** What of an object the consumer keeps; `whole` keeps everything. */
export type Projection = (r: Resource) => Resource;

export const whole: Projection = (r) => r;

/**
 * What to hand on for an update of `object`, or undefined when its projection equals `held`,
 * the consumer's copy. Only projected objects (small views) are compared; an object kept whole
 * is always handed on.
 */
export function projectUpdate(
  project: Projection,
  held: Resource | undefined,
  object: Resource,
): Resource | undefined {
  const resource = project(object);
  if (resource !== object && held && JSON.stringify(held) === JSON.stringify(resource)) return;
  return resource;
}
