// The last stage: buffers one batch of changes and flushes them as deltas in dependency order:
// sets and their new members before the policies that use them, policies before the endpoints
// that jump to them; removals in reverse. Changes that cancel within a batch never leave.

import { getOrCreate } from "../util/maps.ts";
import { sameEndpoint, samePolicy } from "./equality.ts";
import { type MemberKey, memberKey, type SetMember } from "./members.ts";
import type {
  DataplaneState,
  Delta,
  DpEndpoint,
  DpPolicy,
  EndpointId,
  PolicyId,
  SetId,
  SetSpec,
} from "./types.ts";

/** A change the graph cannot have produced: members of a set no stage ever activated. */
export class SequencerError extends Error {
  readonly code = "engine.unknown-set";
}

type MemberChange = { readonly member: SetMember; readonly sign: 1 | -1 };

export class EventSequencer {
  // Flushed state: what the dataplane has after the last flush.
  readonly #sets = new Map<SetId, { spec: SetSpec; members: Map<MemberKey, SetMember> }>();
  readonly #policies = new Map<PolicyId, DpPolicy>();
  readonly #endpoints = new Map<EndpointId, DpEndpoint>();
  // Pending changes of this batch.
  readonly #pendingSets = new Map<SetId, SetSpec | null>();
  readonly #pendingMembers = new Map<SetId, Map<MemberKey, MemberChange>>();
  readonly #pendingPolicies = new Map<PolicyId, DpPolicy | null>();
  readonly #pendingEndpoints = new Map<EndpointId, DpEndpoint | null>();

  onSetActive(spec: SetSpec): void {
    this.#pendingSets.set(spec.id, spec);
  }

  onSetInactive(id: SetId): void {
    this.#pendingSets.set(id, null);
  }

  onMembersAdded(id: SetId, members: readonly SetMember[]): void {
    this.members(id, members, 1);
  }

  onMembersRemoved(id: SetId, members: readonly SetMember[]): void {
    this.members(id, members, -1);
  }

  onPolicyUpdate(id: PolicyId, policy: DpPolicy | undefined): void {
    this.#pendingPolicies.set(id, policy ?? null);
  }

  onEndpointUpdate(id: EndpointId, endpoint: DpEndpoint | undefined): void {
    this.#pendingEndpoints.set(id, endpoint ?? null);
  }

  state(): DataplaneState {
    return { sets: this.#sets, policies: this.#policies, endpoints: this.#endpoints };
  }

  flush(): Delta[] {
    const out: Delta[] = [];
    const addedSets: SetSpec[] = [];
    const removedSets = new Set<SetId>();
    for (const [id, spec] of this.#pendingSets) {
      const live = this.#sets.has(id);
      if (spec && !live) addedSets.push(spec);
      if (!spec && live) removedSets.add(id);
    }
    for (const spec of addedSets) {
      this.#sets.set(spec.id, { spec, members: new Map() });
      out.push({ type: "set-added", set: spec });
    }
    const removals: Delta[] = [];
    for (const [id, changes] of this.#pendingMembers) {
      const set = this.#sets.get(id);
      // Felix panics here too: skipping would leave a dataplane silently short of members.
      if (!set && !this.#pendingSets.has(id))
        throw new SequencerError(`members for set ${id}, which no stage activated`);
      if (!set || removedSets.has(id)) continue;
      const added: Array<[MemberKey, SetMember]> = [];
      const removed: Array<[MemberKey, SetMember]> = [];
      for (const [key, { member, sign }] of changes) {
        if (sign > 0) {
          set.members.set(key, member);
          added.push([key, member]);
        } else {
          set.members.delete(key);
          removed.push([key, member]);
        }
      }
      if (added.length > 0) out.push({ type: "set-members-added", id, members: byKey(added) });
      if (removed.length > 0)
        removals.push({ type: "set-members-removed", id, members: byKey(removed) });
    }
    const policyRemovals: Delta[] = [];
    for (const [id, policy] of this.#pendingPolicies) {
      const live = this.#policies.get(id);
      if (policy) {
        if (live && samePolicy(live, policy)) continue;
        this.#policies.set(id, policy);
        out.push({ type: "policy-upserted", policy });
      } else if (live) {
        this.#policies.delete(id);
        policyRemovals.push({ type: "policy-removed", id });
      }
    }
    for (const [id, endpoint] of this.#pendingEndpoints) {
      const live = this.#endpoints.get(id);
      if (endpoint) {
        if (live && sameEndpoint(live, endpoint)) continue;
        this.#endpoints.set(id, endpoint);
        out.push({ type: "endpoint-upserted", endpoint });
      } else if (live) {
        this.#endpoints.delete(id);
        out.push({ type: "endpoint-removed", id });
      }
    }
    out.push(...policyRemovals, ...removals);
    for (const id of removedSets) {
      this.#sets.delete(id);
      out.push({ type: "set-removed", id });
    }
    this.#pendingSets.clear();
    this.#pendingMembers.clear();
    this.#pendingPolicies.clear();
    this.#pendingEndpoints.clear();
    return out;
  }

  private members(id: SetId, members: readonly SetMember[], sign: 1 | -1): void {
    const changes = getOrCreate(this.#pendingMembers, id, () => new Map<MemberKey, MemberChange>());
    for (const member of members) {
      const key = memberKey(member);
      if (changes.get(key)?.sign === -sign) changes.delete(key);
      else changes.set(key, { member, sign });
    }
  }
}

/** Members in key order, so a batch's deltas do not depend on the order of events. */
function byKey(members: Array<[MemberKey, SetMember]>): SetMember[] {
  return members.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, m]) => m);
}
