// The lab as a store's cluster (`microseg up`): it plays kubelet and CNI for the Pods and
// WorkloadEndpoints in the store. Every change in the store brings the lab's pods in line
// (namespaces made and removed), then writes each workload's lab node and addresses back to
// the store, as a kubelet writes spec.nodeName and status.podIPs. The node agents follow the
// API server and enforce whatever the store then says; a new pod's traffic is dropped as an
// unknown address until its address is in the store and enforced.

import {
  type Datastore,
  DatastoreError,
  type StoredResource,
  type Watch,
} from "../datastore/index.ts";
import type { Lab } from "./lab.ts";
import { labManifests, labSpecFromManifests } from "./manifests.ts";
import type { PortSpec } from "./topology.ts";

/**
 * What the follower needs of a store: a Datastore, or the API client over one (whose apply
 * reports each object by reference, not whole: only its completion matters here).
 */
export type FollowedStore = Pick<Datastore, "snapshot" | "watch"> & {
  apply(resources: readonly StoredResource[]): Promise<unknown>;
};

export interface FollowStoreOptions {
  /** Served by every pod besides the declared ports. */
  readonly ports?: readonly PortSpec[];
  /** Told about every round: what changed, or why it failed. */
  readonly onRound?: (report: FollowRound) => void;
}

export interface FollowRound {
  readonly revision: number;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Workloads whose node and addresses were written to the store. */
  readonly placed: number;
  readonly error?: string;
}

const isWorkload = (r: StoredResource) =>
  (r.apiVersion === "v1" && r.kind === "Pod") || r.kind === "WorkloadEndpoint";

/** Placement is what the lab writes; the rest of the object is the user's. */
function placement(r: StoredResource): string {
  if (r.kind === "Pod")
    return JSON.stringify([r.spec.nodeName, r.status?.podIPs, r.status?.hostIP]);
  if (r.kind === "WorkloadEndpoint") return JSON.stringify([r.spec.node, r.spec.ipNetworks]);
  return "";
}

export class LabStoreFollower {
  readonly #lab: Lab;
  readonly #store: FollowedStore;
  readonly #opts: FollowStoreOptions;
  #watch: Watch | undefined;
  #running: Promise<void> = Promise.resolve();
  #again = false;
  #busy = false;
  #stopped = false;

  constructor(lab: Lab, store: FollowedStore, opts: FollowStoreOptions = {}) {
    this.#lab = lab;
    this.#store = store;
    this.#opts = opts;
  }

  /** Brings the lab in line with the store once, then follows every change. */
  async start(): Promise<void> {
    const revision = await this.#round();
    this.#watch = this.#store.watch(
      { fromRevision: revision },
      {
        onEvent: (e) => {
          if (e.type !== "BOOKMARK" && isWorkload(e.object)) this.#schedule();
        },
        onError: () => this.#restart(),
      },
    );
  }

  /**
   * The watch ended (compacted, the server away): follow again from a fresh round once the
   * store answers; until then the lab stays as it is.
   */
  #restart(): void {
    if (this.#stopped) return;
    this.#watch?.stop();
    this.start().catch(() => setTimeout(() => this.#restart(), 500));
  }

  /** Stops following; the lab keeps running as it is. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watch?.stop();
    await this.#running;
  }

  /** One round at a time; changes during a round make one more round after it. */
  #schedule(): void {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    this.#running = (async () => {
      do {
        this.#again = false;
        if (this.#stopped) break;
        await this.#round();
      } while (this.#again);
      this.#busy = false;
    })();
  }

  /** Returns the store revision the round read. */
  async #round(): Promise<number> {
    const { items, revision } = await this.#store.snapshot();
    try {
      const spec = labSpecFromManifests(items, {
        nodes: this.#lab.plan.nodes.map((n) => n.name),
        ...(this.#opts.ports ? { ports: this.#opts.ports } : {}),
      });
      const { added, removed } = await this.#lab.apply(spec);
      const placed = await this.#writePlacements(items);
      this.#opts.onRound?.({ revision, added, removed, placed });
    } catch (e) {
      // A write raced with the user's (Conflict): the watch brings the next round.
      if (!(e instanceof DatastoreError && e.code === "Conflict")) {
        this.#opts.onRound?.({
          revision,
          added: [],
          removed: [],
          placed: 0,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
    return revision;
  }

  async #writePlacements(items: readonly StoredResource[]): Promise<number> {
    const workloads = items.filter(isWorkload);
    const placedCopies = labManifests(workloads, this.#lab.plan);
    const changed = placedCopies.filter((copy, i) => placement(copy) !== placement(workloads[i]!));
    if (changed.length === 0) return 0;
    // One transaction; the stored resourceVersions make it fail rather than undo a user's edit.
    await this.#store.apply(changed);
    return changed.length;
  }
}
