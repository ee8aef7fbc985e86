// One label index over every entity that can match a selector (workloads, hosts, network sets),
// shared by the policy matcher (subject selectors) and the set member calculator (rule
// selectors), so each entity's labels are posted once whichever stages ask. Selector ids carry
// their role as a prefix.
import { LabelIndex } from "../selector/index.ts";
import type { EndpointId } from "./types.ts";

export type EntityIndex = LabelIndex<string, EndpointId>;

export const SUBJECT_PREFIX = "subject:";
export const SET_PREFIX = "set:";

export function subjectSelectorId(key: string): string {
  return SUBJECT_PREFIX + key;
}

export function setSelectorId(key: string): string {
  return SET_PREFIX + key;
}

/** Match transitions of subject selectors are the only ones anybody listens to. */
export function newEntityIndex(onSubjectMatchChanged: (endpoint: EndpointId) => void): EntityIndex {
  const changed = (selector: string, endpoint: EndpointId) => {
    if (selector.startsWith(SUBJECT_PREFIX)) onSubjectMatchChanged(endpoint);
  };
  return new LabelIndex<string, EndpointId>({ onMatchStarted: changed, onMatchStopped: changed });
}
