// Which pod updates leave the pod's peer view as it was, so a `peersOf` watch need not send
// them to the other nodes (a status condition, a restart count, an annotation, managedFields):
// about half of a cluster's pod writes. A peer view does not depend on which node looks
// (podPeerView), so this is one fact per write, the same for every watcher.
//
// It is exact because one follower lists the pods and then sees every pod write in revision
// order from that list's revision: an update is "unchanged" only when its view equals the view of the write just before
// it, and every watcher holds that earlier view (it saw that write, or it was held back as
// unchanged too, by induction). A watcher asks about a write by key and revision; when the
// follower has not judged that very write (a watch replaying from before the follower started,
// the follower behind on a store that delivers watchers in no fixed order, the follower
// restarting after an error), the answer is "changed" and the event is sent: holding back is
// only ever an economy, never needed for correctness.
//
// Views are kept as SHA-256 digests (about 100 bytes a pod with the key, against the view's
// ~460), never a weaker hash: a collision would hide a label change from other nodes.
import { createHash } from "node:crypto";
import type { Datastore, Watch } from "../datastore/index.ts";
import { type Pod, resourceKey } from "../model/index.ts";
import { podPeerView } from "../policy/index.ts";
import { Backoff } from "../util/backoff.ts";

interface Judged {
  readonly revision: number;
  readonly digest: string;
  /** Whether the view differs from the one of the write before (true for a first write). */
  readonly changed: boolean;
}

const POD = { apiVersion: "v1", kind: "Pod" } as const;

const viewDigest = (p: Pod): string =>
  createHash("sha256")
    .update(JSON.stringify(podPeerView(p)))
    .digest("base64");

export class PeerViewChanges {
  readonly #store: Pick<Datastore, "list" | "watch">;
  readonly #views = new Map<string, Judged>();
  readonly #backoff = new Backoff({ first: 250, max: 5_000 });
  #started: Promise<void> | undefined;
  #watch: Watch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(store: Pick<Datastore, "list" | "watch">) {
    this.#store = store;
  }

  /**
   * Follows the store's pods from now on (once; later calls wait for the first). A watch opened
   * after this resolves is registered with the store after the follower, which on SQLite means
   * the follower judges each write before any watcher asks about it.
   */
  start(): Promise<void> {
    this.#started ??= this.#follow();
    return this.#started;
  }

  /** True only when the pod write at `revision` of `key` is known to leave its view unchanged. */
  unchanged(key: string, revision: number): boolean {
    const j = this.#views.get(key);
    return j !== undefined && j.revision === revision && !j.changed;
  }

  /** Pods judged so far (what the follower holds). */
  get size(): number {
    return this.#views.size;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#watch?.stop();
  }

  async #follow(): Promise<void> {
    let list: Awaited<ReturnType<Datastore["list"]>>;
    try {
      list = await this.#store.list({ kind: POD });
    } catch {
      this.#retry();
      return;
    }
    if (this.#stopped) return;
    // The pods as listed are what a write after the list is compared with.
    for (const p of list.items) {
      if (p.kind !== "Pod") continue;
      const revision = Number(p.metadata.resourceVersion);
      this.#views.set(resourceKey(p), { revision, digest: viewDigest(p), changed: true });
    }
    this.#watch = this.#store.watch(
      { kind: POD, fromRevision: list.revision },
      {
        onEvent: (e) => {
          if (e.type === "BOOKMARK") return;
          this.#backoff.reset();
          const key = resourceKey(e.object);
          if (e.type === "DELETED" || e.object.kind !== "Pod") {
            this.#views.delete(key);
            return;
          }
          const digest = viewDigest(e.object);
          const before = this.#views.get(key);
          const changed = e.type === "ADDED" || before === undefined || before.digest !== digest;
          this.#views.set(key, { revision: e.revision, digest, changed });
        },
        // Whatever ended the watch, what was judged may now miss writes: forget it, start over.
        onError: () => {
          this.#watch = undefined;
          this.#retry();
        },
      },
    );
  }

  #retry(): void {
    this.#views.clear();
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#follow(), this.#backoff.next());
  }
}
