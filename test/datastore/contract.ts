// The datastore contract: what every store (SQLite today, etcd later) must do, written once
// against the Datastore interface and run by each implementation's test file with its target.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Datastore, ExpiredError } from "../../src/datastore/index.ts";
import type { Resource } from "../../src/model/index.ts";
import {
  Child,
  CNP,
  type ContractTarget,
  cnp,
  GNP,
  gnp,
  NAMESPACE,
  POD,
  pod,
  Recorder,
  rejects,
  relabel,
  type StoreUnderTest,
  TIER,
  tier,
} from "./contract-kit.ts";
import { modelCase } from "./contract-model.ts";

const names = (items: readonly Resource[]) =>
  items.map((r) => `${r.metadata.namespace ?? ""}/${r.metadata.name}`);

export function datastoreContract(target: ContractTarget): void {
  describe(`datastore contract: ${target.name}`, () => {
    let sut: StoreUnderTest;
    let ds: Datastore;
    before(async () => {
      sut = await target.fresh();
      ds = sut.store;
    });
    after(async () => {
      await ds.close();
      await sut.cleanup();
    });
    // Each case works in its own namespace or with its own names, so cases share one store.
    modelCase(() => ds);

    test("a fresh store holds the built-in tiers, which cannot be deleted", async () => {
      const tiers = await ds.list({ kind: TIER });
      for (const name of ["adminnetworkpolicy", "default", "baselineadminnetworkpolicy"]) {
        assert.ok(
          tiers.items.some((t) => t.metadata.name === name),
          `built-in tier ${name}`,
        );
        const err = await rejects(() => ds.delete({ kind: TIER, name }), "Invalid");
        assert.match(err.message, /built in/);
      }
      assert.ok(tiers.revision >= 1);
    });

    test("create stamps metadata; get returns it; a second create is AlreadyExists", async () => {
      const before = await ds.revision();
      const made = await ds.create(pod("meta", "a", { app: "web" }));
      assert.equal(made.metadata.resourceVersion, String(before + 1));
      assert.equal(await ds.revision(), before + 1);
      assert.match(made.metadata.uid ?? "", /^[0-9a-f-]{36}$/);
      assert.match(made.metadata.creationTimestamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(made.metadata.generation, 1);
      assert.deepEqual(await ds.get({ kind: POD, namespace: "meta", name: "a" }), made);
      const err = await rejects(() => ds.create(pod("meta", "a")), "AlreadyExists");
      assert.equal(err.object, "Pod meta/a");
      assert.equal(await ds.revision(), before + 1);
    });

    test("create refuses a resourceVersion and an invalid object, naming the field", async () => {
      const withVersion = pod("meta", "b");
      withVersion.metadata.resourceVersion = "7";
      const e1 = await rejects(() => ds.create(withVersion), "Invalid");
      assert.equal(e1.issues[0]?.path, "metadata.resourceVersion");
      const bad = { ...pod("meta", "c"), spec: { containers: "nope" } } as unknown as Resource;
      const e2 = await rejects(() => ds.create(bad), "Invalid");
      assert.match(e2.issues[0]?.path ?? "", /^spec\.containers/);
      await rejects(() => ds.get({ kind: POD, namespace: "meta", name: "c" }), "NotFound");
    });

    test("get of a missing object is NotFound; of an unknown kind Invalid", async () => {
      const err = await rejects(
        () => ds.get({ kind: POD, namespace: "x", name: "none" }),
        "NotFound",
      );
      assert.equal(err.object, "Pod x/none");
      await rejects(
        () => ds.get({ kind: { apiVersion: "v1", kind: "Secret" } as never, name: "s" }),
        "Invalid",
      );
    });

    test("list by kind and namespace, sorted by namespace then name", async () => {
      await ds.apply([pod("ls-b", "z"), pod("ls-a", "y"), pod("ls-a", "x")]);
      const all = await ds.list({ kind: POD });
      const mine = names(all.items).filter((n) => n.startsWith("ls-"));
      assert.deepEqual(mine, ["ls-a/x", "ls-a/y", "ls-b/z"]);
      assert.equal(all.revision, await ds.revision());
      assert.deepEqual(names((await ds.list({ kind: POD, namespace: "ls-a" })).items), [
        "ls-a/x",
        "ls-a/y",
      ]);
    });

    test("list with Kubernetes label selectors", async () => {
      await ds.apply([
        pod("sel", "web", { app: "web", tier: "front" }),
        pod("sel", "api", { app: "api", tier: "back" }),
        pod("sel", "db", { app: "db" }),
        pod("sel", "bare"),
      ]);
      const cases: Array<[string, string[]]> = [
        ["", ["api", "bare", "db", "web"]],
        ["app=web", ["web"]],
        ["app==web", ["web"]],
        ["app!=web", ["api", "bare", "db"]],
        ["app in (web,api)", ["api", "web"]],
        ["app notin (web)", ["api", "bare", "db"]],
        ["tier", ["api", "web"]],
        ["!tier", ["bare", "db"]],
        ["app in (web, api, db), !tier", ["db"]],
        [" tier = back , app ", ["api"]],
      ];
      for (const [selector, want] of cases) {
        const got = await ds.list({ kind: POD, namespace: "sel", labelSelector: selector });
        assert.deepEqual(
          got.items.map((r) => r.metadata.name),
          want,
          `labelSelector ${JSON.stringify(selector)}`,
        );
      }
    });

    test("a bad label selector is Invalid, naming the parameter and the column", async () => {
      for (const [selector, column] of [
        ["app=", 0],
        ["app in web", 8],
        ["app==(x)", 6],
        ["app=web,,x", 9],
        ["-app", 1],
      ] as const) {
        if (column === 0) {
          // `app=` is legal: the empty value.
          await ds.list({ kind: POD, labelSelector: selector });
          continue;
        }
        const err = await rejects(() => ds.list({ kind: POD, labelSelector: selector }), "Invalid");
        assert.equal(err.issues[0]?.path, "labelSelector", selector);
        assert.match(err.message, new RegExp(`column ${column}\\b`), `${selector}: ${err.message}`);
      }
    });

    test("list with field selectors on metadata.name and metadata.namespace", async () => {
      await ds.apply([pod("fs-a", "one"), pod("fs-a", "two"), pod("fs-b", "one")]);
      const cases: Array<[string, string[]]> = [
        ["metadata.name=one", ["fs-a/one", "fs-b/one"]],
        ["metadata.name==two", ["fs-a/two"]],
        ["metadata.namespace=fs-b", ["fs-b/one"]],
        ["metadata.name=one,metadata.namespace!=fs-a", ["fs-b/one"]],
      ];
      for (const [selector, want] of cases) {
        const got = await ds.list({ kind: POD, fieldSelector: selector });
        const mine = names(got.items).filter((n) => n.startsWith("fs-"));
        assert.deepEqual(mine, want, `fieldSelector ${selector}`);
      }
      const err = await rejects(
        () => ds.list({ kind: POD, fieldSelector: "spec.nodeName=n1" }),
        "Invalid",
      );
      assert.equal(err.issues[0]?.path, "fieldSelector");
      assert.match(err.message, /spec\.nodeName/);
    });

    test("projectcalico.org/v3 names the same kinds as microseg.io/v1", async () => {
      await ds.create(cnp("calico", "deny-out", "default"));
      const viaCalico = await ds.get({
        kind: { apiVersion: "projectcalico.org/v3", kind: "NetworkPolicy" } as never,
        namespace: "calico",
        name: "deny-out",
      });
      assert.equal(viaCalico.apiVersion, "microseg.io/v1");
      assert.equal((await ds.list({ kind: CNP, namespace: "calico" })).items.length, 1);
    });

    test("update: resourceVersion compare-and-swap, unconditional without it", async () => {
      const v1 = await ds.create(pod("cas", "a", { v: "1" }));
      const v2 = await ds.update(relabel(v1, { v: "2" }));
      assert.notEqual(v2.metadata.resourceVersion, v1.metadata.resourceVersion);
      assert.equal(v2.metadata.uid, v1.metadata.uid);
      assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
      const rev = await ds.revision();
      const stale = relabel(v1, { v: "3" });
      const err = await rejects(() => ds.update(stale), "Conflict");
      assert.equal(err.object, "Pod cas/a");
      assert.equal(await ds.revision(), rev, "a conflict changes nothing");
      const blind = pod("cas", "a", { v: "4" });
      const v4 = await ds.update(blind);
      assert.deepEqual(v4.metadata.labels, { v: "4" });
      await rejects(() => ds.update(pod("cas", "missing")), "NotFound");
    });

    test("generation counts spec changes only; an update that changes nothing is no write", async () => {
      const made = await ds.create(gnp("gen-policy", "default"));
      assert.equal(made.metadata.generation, 1);
      const relabeled = await ds.update({
        ...made,
        metadata: { ...made.metadata, labels: { team: "a" } },
      } as Resource);
      assert.equal(relabeled.metadata.generation, 1, "a label change is not a spec change");
      const respecced = await ds.update({
        ...relabeled,
        spec: { ...(relabeled as { spec: object }).spec, selector: "app == 'db'" },
      } as Resource);
      assert.equal(respecced.metadata.generation, 2);
      const rev = await ds.revision();
      const same = await ds.update(respecced);
      assert.equal(same.metadata.resourceVersion, respecced.metadata.resourceVersion);
      assert.equal(await ds.revision(), rev);
    });

    test("delete: precondition, the last state back, then NotFound", async () => {
      const made = await ds.create(pod("del", "a"));
      const moved = await ds.update(relabel(made, { x: "1" }));
      const rev = await ds.revision();
      await rejects(
        () =>
          ds.delete(
            { kind: POD, namespace: "del", name: "a" },
            { resourceVersion: made.metadata.resourceVersion! },
          ),
        "Conflict",
      );
      assert.equal(await ds.revision(), rev);
      const gone = await ds.delete(
        { kind: POD, namespace: "del", name: "a" },
        { resourceVersion: moved.metadata.resourceVersion! },
      );
      assert.deepEqual(gone.metadata.labels, { x: "1" });
      assert.equal(gone.metadata.resourceVersion, String(rev + 1));
      await rejects(() => ds.get({ kind: POD, namespace: "del", name: "a" }), "NotFound");
      await rejects(() => ds.delete({ kind: POD, namespace: "del", name: "a" }), "NotFound");
    });

    test("apply: created, configured, unchanged, in one transaction", async () => {
      const first = await ds.apply([pod("ap", "a"), pod("ap", "b")]);
      assert.deepEqual(
        first.results.map((r) => r.action),
        ["created", "created"],
      );
      // Each object its own revision, consecutive; the set's revision is the last.
      assert.deepEqual(
        first.results.map((r) => r.object.metadata.resourceVersion),
        [String(first.revision - 1), String(first.revision)],
      );
      const second = await ds.apply([pod("ap", "a", { x: "1" }), pod("ap", "b"), pod("ap", "c")]);
      assert.deepEqual(
        second.results.map((r) => r.action),
        ["configured", "unchanged", "created"],
      );
      assert.equal(second.revision, first.revision + 2, "two changes, two revisions");
      assert.equal(second.results[1]!.object.metadata.resourceVersion, String(first.revision));
      const third = await ds.apply([pod("ap", "a", { x: "1" })]);
      assert.equal(third.results[0]!.action, "unchanged");
      assert.equal(third.revision, second.revision, "nothing changed, no new revision");
      assert.equal(await ds.revision(), second.revision);
    });

    test("apply is one transaction: one bad object, reference or version changes nothing", async () => {
      await ds.apply([pod("atomic", "keep", { v: "1" })]);
      const rev = await ds.revision();
      const snapshot = await ds.list({ kind: POD, namespace: "atomic" });
      const watcher = new Recorder(ds, { fromRevision: rev });
      const badSets: Array<[string, Resource[], string]> = [
        [
          "a bad field",
          [pod("atomic", "new1"), { ...pod("atomic", "bad"), spec: { nodeName: 5 } } as never],
          "Invalid",
        ],
        [
          "a missing tier",
          [pod("atomic", "new2"), gnp("atomic-policy", "no-such-tier")],
          "Invalid",
        ],
        [
          "a stale resourceVersion",
          [
            pod("atomic", "new3"),
            {
              ...pod("atomic", "keep", { v: "2" }),
              metadata: { ...pod("atomic", "keep").metadata, resourceVersion: "1" },
            } as Resource,
          ],
          "Conflict",
        ],
        ["a duplicate", [pod("atomic", "dup"), pod("atomic", "dup", { x: "y" })], "Invalid"],
      ];
      for (const [what, set, code] of badSets) {
        const err = await rejects(() => ds.apply(set), code as never);
        assert.ok(err.object, `${what}: the error names the object`);
        assert.equal(await ds.revision(), rev, `${what}: revision unchanged`);
        assert.deepEqual(await ds.list({ kind: POD, namespace: "atomic" }), snapshot, what);
      }
      await ds.apply([pod("atomic", "after")]);
      await watcher.until(() => watcher.lines.length > 0, "the good apply");
      assert.deepEqual(watcher.lines, [`ADDED Pod atomic/after@${rev + 1}`]);
      watcher.stop();
    });

    test("apply names every bad object of the set by its index, the store's one validation", async () => {
      const rev = await ds.revision();
      const err = await rejects(
        () =>
          ds.apply([
            pod("atomic", "fine"),
            { ...pod("atomic", "bad1"), spec: { nodeName: 5 } } as never,
            { apiVersion: "v1", kind: "Gizmo", metadata: { name: "g" } } as never,
            pod("atomic", "fine"),
            gnp("set-orphan", "missing-tier"),
          ]),
        "Invalid",
      );
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ["items[1].spec.nodeName", "items[2]", "items[3].metadata.name"],
      );
      assert.equal(await ds.revision(), rev);
      const refs = await rejects(
        () => ds.apply([pod("atomic", "fine2"), gnp("set-orphan", "missing-tier")]),
        "Invalid",
      );
      assert.deepEqual(
        refs.issues.map((i) => i.path),
        ["items[1].spec.tier"],
      );
    });

    test("a policy must name an existing tier; in apply, the tier may come in the same set", async () => {
      const err = await rejects(() => ds.create(gnp("orphan", "missing-tier")), "Invalid");
      assert.equal(err.issues[0]?.path, "spec.tier");
      assert.match(err.message, /missing-tier/);
      // The policy before its tier: references are checked across the whole set.
      const applied = await ds.apply([gnp("sec.first", "sec"), tier("sec", 50)]);
      assert.deepEqual(
        applied.results.map((r) => r.action),
        ["created", "created"],
      );
      assert.equal((await ds.get({ kind: GNP, name: "sec.first" })).metadata.name, "sec.first");
      // Unprefixed, so only the reference is wrong when it moves.
      const stored = await ds.create(gnp("plain", "sec"));
      const moved = { ...stored, spec: { ...(stored as { spec: object }).spec, tier: "nowhere" } };
      const err2 = await rejects(() => ds.update(moved as Resource), "Invalid");
      assert.equal(err2.issues[0]?.path, "spec.tier");
    });

    test("a tier holding policies cannot be deleted; an empty one can", async () => {
      await ds.apply([tier("holding"), cnp("hold-ns", "holding.p", "holding")]);
      const err = await rejects(() => ds.delete({ kind: TIER, name: "holding" }), "Conflict");
      assert.match(err.message, /NetworkPolicy hold-ns\/holding\.p/);
      await ds.delete({ kind: CNP, namespace: "hold-ns", name: "holding.p" });
      await ds.delete({ kind: TIER, name: "holding" });
      await rejects(() => ds.get({ kind: TIER, name: "holding" }), "NotFound");
    });

    test("built-in tiers keep their places; the default tier's defaultAction may change", async () => {
      const changed = await ds.apply([
        {
          apiVersion: "microseg.io/v1",
          kind: "Tier",
          metadata: { name: "default" },
          spec: { defaultAction: "Pass" },
        },
      ]);
      assert.equal(changed.results[0]!.action, "configured");
      const stored = await ds.get({ kind: TIER, name: "default" });
      assert.deepEqual((stored as { spec: object }).spec, {
        order: 1_000_000,
        defaultAction: "Pass",
      });
      for (const [name, spec, path] of [
        ["default", { order: 5 }, "spec.order"],
        ["adminnetworkpolicy", { defaultAction: "Deny" }, "spec.defaultAction"],
      ] as const) {
        const err = await rejects(
          () =>
            ds.update({
              apiVersion: "microseg.io/v1",
              kind: "Tier",
              metadata: { name },
              spec,
            } as Resource),
          "Invalid",
        );
        assert.equal(err.issues[0]?.path, path);
      }
      await ds.apply([
        {
          apiVersion: "microseg.io/v1",
          kind: "Tier",
          metadata: { name: "default" },
          spec: { defaultAction: "Deny" },
        },
      ]);
    });

    test("watch from a revision: later events in order, filtered by kind and namespace", async () => {
      const from = await ds.revision();
      const all = new Recorder(ds, { fromRevision: from });
      const pods = new Recorder(ds, { fromRevision: from, kind: POD, namespace: "w1" });
      await ds.create(pod("w1", "a"));
      await ds.create(pod("w2", "b"));
      await ds.create({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "w1" },
      } as Resource);
      const a = await ds.get({ kind: POD, namespace: "w1", name: "a" });
      await ds.update(relabel(a, { x: "1" }));
      await ds.delete({ kind: POD, namespace: "w1", name: "a" });
      await all.until(() => all.lines.length === 5, "five events");
      assert.deepEqual(all.lines, [
        `ADDED Pod w1/a@${from + 1}`,
        `ADDED Pod w2/b@${from + 2}`,
        `ADDED Namespace /w1@${from + 3}`,
        `MODIFIED Pod w1/a@${from + 4}`,
        `DELETED Pod w1/a@${from + 5}`,
      ]);
      await pods.until(() => pods.lines.length === 3, "three w1 pod events");
      assert.deepEqual(pods.lines, [
        `ADDED Pod w1/a@${from + 1}`,
        `MODIFIED Pod w1/a@${from + 4}`,
        `DELETED Pod w1/a@${from + 5}`,
      ]);
      const deleted = all.events[4]!;
      assert.ok(deleted.type === "DELETED");
      assert.deepEqual(
        deleted.object.metadata.labels,
        { x: "1" },
        "DELETED carries the last state",
      );
      all.stop();
      pods.stop();
      // A watch from an old revision replays what came after it.
      const replay = new Recorder(ds, { fromRevision: from + 2, kind: NAMESPACE });
      await replay.until(() => replay.lines.length === 1, "the replayed namespace");
      assert.deepEqual(replay.lines, [`ADDED Namespace /w1@${from + 3}`]);
      replay.stop();
    });

    test("a watcher that disconnects and resumes from its last revision misses nothing, twice nothing", async () => {
      const from = await ds.revision();
      const truth = new Recorder(ds, { fromRevision: from, namespace: "resume" });
      const seen: string[] = [];
      let last = from;
      // Bounded: 12 rounds; each writes four events (a set of three and one more) and the
      // watcher drops after one to three of them, often inside a set applied together.
      for (let round = 0; round < 12; round++) {
        const take = 1 + (round % 3);
        const w = new Recorder(ds, { fromRevision: last, namespace: "resume" }, take);
        await ds.apply([
          pod("resume", `p${round}`),
          pod("resume", `q${round % 3}`, { r: String(round) }),
          pod("resume", `s${round}`),
        ]);
        await ds.create(pod("resume", `solo${round}`));
        await w.until(() => w.events.length === take, `round ${round}: ${take} events`);
        seen.push(...w.lines);
        last = w.events.at(-1)!.revision;
      }
      const end = await ds.revision();
      const rest = new Recorder(ds, { fromRevision: last, namespace: "resume" });
      await rest.until(() => rest.events.at(-1)?.revision === end, "the rest");
      rest.stop();
      seen.push(...rest.lines);
      await truth.until(() => truth.events.at(-1)?.revision === end, "the reference watch");
      truth.stop();
      assert.equal(truth.lines.length, 48);
      assert.deepEqual(seen, truth.lines);
    });

    test("a watcher on one connection sees another connection's writes", async () => {
      const other = await sut.connect();
      try {
        const from = await ds.revision();
        const w = new Recorder(ds, { fromRevision: from, namespace: "cross" });
        await other.create(pod("cross", "from-other"));
        await w.until(() => w.lines.length === 1, "the other connection's write");
        assert.deepEqual(w.lines, [`ADDED Pod cross/from-other@${from + 1}`]);
        w.stop();
      } finally {
        await other.close();
      }
    });

    test("a quiet watch gets bookmarks at the store's revision", async () => {
      await ds.create(pod("bm", "a"));
      const rev = await ds.revision();
      const w = new Recorder(ds, { fromRevision: rev - 1, namespace: "bm", bookmarkMs: 30 });
      await w.until(() => w.events.some((e) => e.type === "BOOKMARK"), "a bookmark");
      assert.equal(w.events[0]?.type, "ADDED");
      const bookmark = w.events.find((e) => e.type === "BOOKMARK")!;
      assert.ok(bookmark.revision >= rev, `bookmark at ${bookmark.revision}, store at ${rev}`);
      w.stop();
    });

    test("compaction: a watch from a compacted revision gets ExpiredError; from the compacted one it works", async () => {
      await ds.create(pod("cmp", "a"));
      await ds.create(pod("cmp", "b"));
      const upTo = await ds.revision();
      await ds.create(pod("cmp", "c"));
      await ds.compact(upTo);
      const expired = new Recorder(ds, { fromRevision: upTo - 1 });
      await expired.until(() => expired.error !== undefined, "the expired error");
      assert.ok(expired.error instanceof ExpiredError, String(expired.error));
      assert.equal(expired.error.code, "Expired");
      assert.equal(expired.events.length, 0);
      const fine = new Recorder(ds, { fromRevision: upTo, namespace: "cmp" });
      await fine.until(() => fine.lines.length === 1, "the event after the compacted revision");
      assert.deepEqual(fine.lines, [`ADDED Pod cmp/c@${upTo + 1}`]);
      fine.stop();
      // Objects outlive the change log.
      assert.equal((await ds.list({ kind: POD, namespace: "cmp" })).items.length, 3);
    });

    test("concurrent writers from several processes with one stale resourceVersion: one success each", async () => {
      const objects = await Promise.all(
        ["r0", "r1", "r2", "r3"].map((n) => ds.create(pod("race", n, { v: "0" }))),
      );
      const writers = Array.from({ length: 4 }, () => new Child(["race", sut.url]));
      try {
        await Promise.all(writers.map((c) => c.untilLines(1)));
        writers.forEach((c, i) => {
          c.send(
            JSON.stringify(
              objects.map((o) => ({
                ...o,
                metadata: { ...o.metadata, labels: { v: `writer${i}` } },
              })),
            ),
          );
        });
        await Promise.all(writers.map((c) => c.untilLines(2)));
        const outcomes = writers.map((c) => JSON.parse(c.lines[1]!) as string[]);
        objects.forEach((o, j) => {
          const per = outcomes.map((row) => row[j]);
          assert.equal(
            per.filter((x) => x === "ok").length,
            1,
            `${o.metadata.name}: ${per.join(" ")}`,
          );
          assert.equal(per.filter((x) => x === "Conflict").length, writers.length - 1);
        });
        // The stored object is the one writer that won.
        for (const [j, o] of objects.entries()) {
          const now = await ds.get({ kind: POD, namespace: "race", name: o.metadata.name });
          const winner = outcomes.findIndex((row) => row[j] === "ok");
          assert.deepEqual(now.metadata.labels, { v: `writer${winner}` });
        }
      } finally {
        for (const c of writers) c.kill();
      }
    });

    test("kill -9 of a writer during a burst of acknowledged writes loses none of them", async () => {
      const writer = new Child(["burst", sut.url, "burst", "5000"]);
      try {
        await writer.untilLines(150);
      } finally {
        writer.kill("SIGKILL");
      }
      await writer.exit();
      const acked = writer.lines.map(Number);
      const reopened = await sut.connect();
      try {
        const stored = await reopened.list({
          kind: POD,
          namespace: "default",
          labelSelector: "burst=burst",
        });
        const have = new Set(stored.items.map((r) => r.metadata.name));
        const lost = acked.filter((i) => !have.has(`burst-${i}`));
        assert.deepEqual(
          lost,
          [],
          `acknowledged writes lost after kill -9 (${acked.length} acked)`,
        );
        assert.ok(acked.length >= 150 && acked.length < 5000, "killed mid-burst");
      } finally {
        await reopened.close();
      }
    });

    test("a closed store refuses work as Unavailable and ends its watches", async () => {
      const extra = await sut.connect();
      const w = new Recorder(extra, { fromRevision: await extra.revision() });
      await extra.close();
      await w.until(() => w.error !== undefined, "the watch to end");
      assert.equal(w.error?.code, "Unavailable");
      await rejects(() => extra.revision(), "Unavailable");
    });
  });
}
