// The contract's model check: a seeded random run of creates, updates (current, stale and
// blind), deletes (with and without preconditions) and applies (some with a bad object)
// against a plain map of what each should do; then the watch from the start, folded, must
// rebuild exactly the store's state.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Datastore, StoredResource } from "../../src/datastore/index.ts";
import type { Resource } from "../../src/model/index.ts";
import { seededRandom } from "../../src/util/random.ts";
import { POD, pod, Recorder, rejects } from "./contract-kit.ts";

const NS = "model";
const NAMES = ["n0", "n1", "n2", "n3", "n4", "n5"];
const VALUES = ["a", "b", "c"];
const OPS = 300;

interface Entry {
  readonly labels: Record<string, string>;
  readonly rv: string;
}

export function modelCase(store: () => Datastore): void {
  test("a random run of writes agrees with a model, and the watch folds into the store", async () => {
    const ds = store();
    const random = seededRandom(9);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const model = new Map<string, Entry>();
    const from = await ds.revision();
    const stale = new Map<string, string>();
    const remember = (o: StoredResource) => {
      const old = model.get(o.metadata.name);
      if (old && old.rv !== o.metadata.resourceVersion) stale.set(o.metadata.name, old.rv);
      model.set(o.metadata.name, {
        labels: { ...(o.metadata.labels ?? {}) },
        rv: o.metadata.resourceVersion!,
      });
    };
    const same = (a: Record<string, string>, b: Record<string, string>) =>
      JSON.stringify(a) === JSON.stringify(b);
    const ref = (name: string) => ({ kind: POD, namespace: NS, name });
    const withVersion = (r: Resource, rv: string) =>
      ({ ...r, metadata: { ...r.metadata, resourceVersion: rv } }) as Resource;

    for (let i = 0; i < OPS; i++) {
      const name = pick(NAMES);
      const labels = { v: pick(VALUES) };
      const current = model.get(name);
      const op = pick(["create", "update", "blind", "stale", "delete", "apply", "badApply"]);
      const what = `op ${i} ${op} ${name}`;
      if (op === "create") {
        if (current) await rejects(() => ds.create(pod(NS, name, labels)), "AlreadyExists");
        else remember(await ds.create(pod(NS, name, labels)));
      } else if (op === "update" || op === "blind") {
        const obj = pod(NS, name, labels);
        const sent = op === "update" && current ? withVersion(obj, current.rv) : obj;
        if (!current) {
          await rejects(() => ds.update(sent), "NotFound");
          continue;
        }
        const got = await ds.update(sent);
        if (same(current.labels, labels))
          assert.equal(got.metadata.resourceVersion, current.rv, what);
        remember(got);
      } else if (op === "stale") {
        const old = stale.get(name);
        if (!current || old === undefined) continue;
        await rejects(() => ds.update(withVersion(pod(NS, name, labels), old)), "Conflict");
        await rejects(() => ds.delete(ref(name), { resourceVersion: old }), "Conflict");
      } else if (op === "delete") {
        if (!current) {
          await rejects(() => ds.delete(ref(name)), "NotFound");
          continue;
        }
        const guarded = random() < 0.5 ? { resourceVersion: current.rv } : {};
        await ds.delete(ref(name), guarded);
        stale.set(name, current.rv);
        model.delete(name);
      } else {
        const others = [pick(NAMES), pick(NAMES)].filter((n) => n !== name);
        const set = [name, ...new Set(others)].map((n) => pod(NS, n, { v: pick(VALUES) }));
        if (op === "badApply") {
          set.push({ ...pod(NS, "broken"), spec: { nodeName: 5 } } as unknown as Resource);
          const rev = await ds.revision();
          await rejects(() => ds.apply(set), "Invalid");
          assert.equal(await ds.revision(), rev, what);
          continue;
        }
        const result = await ds.apply(set);
        for (const r of result.results) {
          const before = model.get(r.object.metadata.name);
          const action = !before
            ? "created"
            : same(before.labels, r.object.metadata.labels ?? {})
              ? "unchanged"
              : "configured";
          assert.equal(r.action, action, `${what}: ${r.object.metadata.name}`);
          remember(r.object);
        }
      }
      if (i % 25 === 24) await agree(ds, model, what);
    }
    await agree(ds, model, "the end");

    const end = await ds.revision();
    const replay = new Recorder(ds, { fromRevision: from, namespace: NS });
    await replay.until(
      () => end === from || replay.events.at(-1)?.revision === end,
      "the replay up to the end",
    );
    replay.stop();
    const folded = new Map<string, Entry>();
    for (const e of replay.events) {
      if (e.type === "BOOKMARK") continue;
      if (e.type === "DELETED") folded.delete(e.object.metadata.name);
      else {
        folded.set(e.object.metadata.name, {
          labels: { ...(e.object.metadata.labels ?? {}) },
          rv: e.object.metadata.resourceVersion!,
        });
      }
    }
    assert.deepEqual(folded, model, "the folded watch is the store");
  });
}

async function agree(ds: Datastore, model: Map<string, Entry>, when: string): Promise<void> {
  const listed = await ds.list({ kind: POD, namespace: NS });
  const got = new Map(
    listed.items.map((r) => [
      r.metadata.name,
      { labels: { ...(r.metadata.labels ?? {}) }, rv: r.metadata.resourceVersion! },
    ]),
  );
  assert.deepEqual(
    new Map([...got].sort()),
    new Map([...model].sort()),
    `store and model after ${when}`,
  );
}
