// Watch streams through the HTTP API over the real SQLite store: newline-delimited events as
// Kubernetes sends them, resumption from the last resourceVersion (nothing missed, nothing
// twice), 410 Expired after compaction, bookmarks, selector-filtered watches.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness;
before(async () => {
  h = await startHarness();
  const r = await h.request("POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "w" } },
  });
  assert.equal(r.status, 201);
});
after(() => h.close());

interface Event {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: events carry any kind's object
  object: any;
}

/** A watch stream read line by line; `next` waits (bounded) for the next event. */
async function openWatch(path: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(`${h.url}${path}`, { headers, signal: controller.signal });
  assert.equal(res.status, 200, await (res.status === 200 ? "" : res.text()));
  assert.equal(res.headers.get("content-type"), "application/json");
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let ended = false;
  const next = async (): Promise<Event | undefined> => {
    const deadline = setTimeout(() => controller.abort(), 20_000);
    try {
      for (;;) {
        const nl = buffered.indexOf("\n");
        if (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          return JSON.parse(line) as Event;
        }
        if (ended) return undefined;
        const { value, done } = await reader.read();
        if (done) ended = true;
        else buffered += decoder.decode(value, { stream: true });
      }
    } finally {
      clearTimeout(deadline);
    }
  };
  return { next, close: () => controller.abort() };
}

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "w", labels },
  spec: { containers: [] },
});
const PODS = "/api/v1/namespaces/w/pods";

async function create(name: string, labels: Record<string, string> = {}) {
  const r = await h.request("POST", PODS, { body: pod(name, labels) });
  assert.equal(r.status, 201, r.text);
  return r.json;
}
async function relabel(name: string, labels: Record<string, string | null>) {
  const r = await h.request("PATCH", `${PODS}/${name}`, {
    raw: JSON.stringify({ metadata: { labels } }),
    headers: { "content-type": "application/merge-patch+json" },
  });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

describe("watch", () => {
  it("from a list's resourceVersion: ADDED, MODIFIED, DELETED in order, with their versions", async () => {
    const list = await h.request("GET", PODS);
    const w = await openWatch(
      `${PODS}?watch=1&resourceVersion=${list.json.metadata.resourceVersion}`,
    );
    try {
      const made = await create("a");
      const changed = await relabel("a", { x: "1" });
      const gone = await h.request("DELETE", `${PODS}/a`);
      const events = [await w.next(), await w.next(), await w.next()];
      assert.deepEqual(
        events.map((e) => [e?.type, e?.object.metadata.name]),
        [
          ["ADDED", "a"],
          ["MODIFIED", "a"],
          ["DELETED", "a"],
        ],
      );
      assert.equal(events[0]?.object.metadata.resourceVersion, made.metadata.resourceVersion);
      assert.equal(events[1]?.object.metadata.resourceVersion, changed.metadata.resourceVersion);
      assert.ok(
        Number(events[2]?.object.metadata.resourceVersion) >
          Number(gone.json.metadata.resourceVersion) - 1,
        "the DELETED event carries the deleting revision",
      );
      assert.equal(events[0]?.object.apiVersion, "v1");
      assert.equal(events[0]?.object.kind, "Pod");
    } finally {
      w.close();
    }
  });

  it("without a resourceVersion: the current objects as ADDED first", async () => {
    await create("b");
    const w = await openWatch(`${PODS}?watch=true`);
    try {
      const first = await w.next();
      assert.equal(first?.type, "ADDED");
      assert.equal(first?.object.metadata.name, "b");
    } finally {
      w.close();
    }
  });

  it("a watcher that disconnects and resumes from its last revision misses nothing, sees nothing twice", async () => {
    const start = (await h.request("GET", PODS)).json.metadata.resourceVersion;
    let w = await openWatch(`${PODS}?watch=1&resourceVersion=${start}`);
    const seen: string[] = [];
    let last = start;
    const writes = 12;
    for (let i = 0; i < writes; i++) {
      await create(`r-${i}`);
      if (i === 4) {
        // Read what arrived so far, then drop the connection with writes still to come.
        for (let j = seen.length; j <= 4; j++) {
          const e = await w.next();
          seen.push(e?.object.metadata.name);
          last = e?.object.metadata.resourceVersion;
        }
        w.close();
      }
      if (i === 8) w = await openWatch(`${PODS}?watch=1&resourceVersion=${last}`);
    }
    while (seen.length < writes) {
      const e = await w.next();
      seen.push(e?.object.metadata.name);
    }
    w.close();
    assert.deepEqual(
      seen,
      Array.from({ length: writes }, (_, i) => `r-${i}`),
    );
  });

  it("from a compacted revision: one ERROR event with a 410 Expired Status, then the end", async () => {
    const old = Number((await h.request("GET", PODS)).json.metadata.resourceVersion);
    await create("c1");
    await create("c2");
    await h.store.compact(await h.store.revision());
    const w = await openWatch(`${PODS}?watch=1&resourceVersion=${old}`);
    const e = await w.next();
    assert.equal(e?.type, "ERROR");
    assert.equal(e?.object.kind, "Status");
    assert.equal(e?.object.code, 410);
    assert.equal(e?.object.reason, "Expired");
    assert.equal(await w.next(), undefined, "the stream ends after the error");
  });

  it("allowWatchBookmarks with sendInitialEvents: the initial list ends with the annotated BOOKMARK", async () => {
    const w = await openWatch(
      `${PODS}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`,
    );
    try {
      const names = new Set(
        (await h.request("GET", PODS)).json.items.map(
          (p: { metadata: { name: string } }) => p.metadata.name,
        ),
      );
      const initial: string[] = [];
      for (;;) {
        const e = await w.next();
        if (e?.type === "BOOKMARK") {
          assert.equal(e.object.metadata.annotations["k8s.io/initial-events-end"], "true");
          assert.match(e.object.metadata.resourceVersion, /^\d+$/);
          break;
        }
        assert.equal(e?.type, "ADDED");
        initial.push(e?.object.metadata.name);
      }
      assert.deepEqual(new Set(initial), names);
    } finally {
      w.close();
    }
  });

  it("a labelSelector watch reports objects entering the selection as ADDED and leaving as DELETED", async () => {
    await create("s", { role: "db" });
    await create("u", { role: "web" });
    const w = await openWatch(`${PODS}?watch=1&labelSelector=role%3Dweb`);
    const initial = await w.next();
    assert.deepEqual([initial?.type, initial?.object.metadata.name], ["ADDED", "u"]);
    try {
      await create("other", { role: "db" });
      await relabel("s", { role: "web" });
      await relabel("s", { tier: "x" });
      await relabel("s", { role: "db" });
      await create("t", { role: "web" });
      const events = [];
      for (let i = 0; i < 4; i++) {
        const e = await w.next();
        events.push([e?.type, e?.object.metadata.name]);
      }
      assert.deepEqual(events, [
        ["ADDED", "s"],
        ["MODIFIED", "s"],
        ["DELETED", "s"],
        ["ADDED", "t"],
      ]);
    } finally {
      w.close();
    }
  });

  it("a watch of every namespace and Table watches (kubectl get -w) carry rows", async () => {
    const rv = (await h.request("GET", "/api/v1/pods")).json.metadata.resourceVersion;
    const w = await openWatch(`/api/v1/pods?watch=1&resourceVersion=${rv}`, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    try {
      await create("tab");
      const e = await w.next();
      assert.equal(e?.type, "ADDED");
      assert.equal(e?.object.kind, "Table");
      assert.equal(e?.object.rows[0].cells[0], "tab");
      assert.equal(e?.object.rows[0].object.metadata.namespace, "w");
    } finally {
      w.close();
    }
  });

  it("watchers of one change served differently each get their own line (alias group, filtered type, all kinds)", async () => {
    const sets = "/apis/microseg.io/v1/globalnetworksets";
    const rv = (await h.request("GET", sets)).json.metadata.resourceVersion;
    const ours = await openWatch(`${sets}?watch=1&resourceVersion=${rv}`);
    const calico = await openWatch(
      `/apis/projectcalico.org/v3/globalnetworksets?watch=1&resourceVersion=${rv}`,
    );
    const filtered = await openWatch(`${sets}?watch=1&resourceVersion=${rv}&labelSelector=z%3D1`);
    const all = await openWatch(`/apis/microseg.io/v1/watch?resourceVersion=${rv}`);
    try {
      const body = {
        apiVersion: "microseg.io/v1",
        kind: "GlobalNetworkSet",
        metadata: { name: "shared-line", labels: { z: "1" } },
        spec: { nets: ["198.18.0.0/24"] },
      };
      assert.equal((await h.request("POST", sets, { body })).status, 201);
      const relabeled = await h.request("PATCH", `${sets}/shared-line`, {
        raw: JSON.stringify({ metadata: { labels: { z: "2" } } }),
        headers: { "content-type": "application/merge-patch+json" },
      });
      assert.equal(relabeled.status, 200, relabeled.text);
      const two = async (w: Awaited<ReturnType<typeof openWatch>>) => {
        const events = [await w.next(), await w.next()];
        return events.map((e) => `${e?.type} ${e?.object.apiVersion}`);
      };
      assert.deepEqual(await two(ours), ["ADDED microseg.io/v1", "MODIFIED microseg.io/v1"]);
      assert.deepEqual(await two(calico), [
        "ADDED projectcalico.org/v3",
        "MODIFIED projectcalico.org/v3",
      ]);
      assert.deepEqual(await two(filtered), ["ADDED microseg.io/v1", "DELETED microseg.io/v1"]);
      assert.deepEqual(await two(all), ["ADDED microseg.io/v1", "MODIFIED microseg.io/v1"]);
    } finally {
      for (const w of [ours, calico, filtered, all]) w.close();
    }
  });

  it("the watchers gauge counts open streams", async () => {
    const w = await openWatch(`${PODS}?watch=1`);
    try {
      await w.next();
      const metrics = (await h.request("GET", "/metrics")).text;
      assert.match(metrics, /^microseg_api_watchers [1-9]\d*$/m);
    } finally {
      w.close();
    }
  });
});
