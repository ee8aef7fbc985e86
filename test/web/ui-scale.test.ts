// The UI at 1,000 workloads and 10,000 flow records, in chromium: how long the service graph
// takes from navigation to drawing every record, and how long it answers a namespace filter
// and an edge click. Figures are printed (with the load average), not asserted: the machine is
// shared. What is asserted is that everything was drawn and the answers came.
import assert from "node:assert/strict";
import { loadavg } from "node:os";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { seededRandom } from "../../src/util/random.ts";
import { type Harness, startHarness } from "../server/harness.ts";
import { launch, post, visit } from "./browser.ts";
import { flowRecord, type Side } from "./records.ts";

const NAMESPACES = 20;
const APPS = 10;
const REPLICAS = 5;
const RECORDS = 10_000;

interface Pod extends Side {
  readonly app: number;
  readonly ns: number;
}

function world(): { objects: unknown[]; pods: Pod[] } {
  const objects: unknown[] = [];
  const pods: Pod[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const namespace = `scale-${String(n).padStart(2, "0")}`;
    objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    // Each namespace admits its own pods only: cross-namespace flows are denied.
    objects.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "same-namespace", namespace },
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: {} }] }],
      },
    });
    for (let a = 0; a < APPS; a++) {
      for (let r = 0; r < REPLICAS; r++) {
        const name = `app${a}-${r}`;
        const ip = `198.18.${10 + n}.${a * REPLICAS + r + 1}`;
        const labels = { app: `app${a}` };
        objects.push({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, namespace, labels },
          spec: {
            nodeName: "node-1",
            containers: [{ name: "main", image: "x", ports: [{ containerPort: 8080 }] }],
          },
          status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
        });
        pods.push({ namespace, name, ip, labels, app: a, ns: n });
      }
    }
  }
  return { objects, pods };
}

/**
 * Flows as a cluster has them: each application talks to three peers (two in its namespace,
 * one outside), plus one record in ten to a random workload (scans, mostly denied).
 */
function records(pods: readonly Pod[], now: number) {
  const random = seededRandom(11);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
  const of = (ns: number, app: number) => pods.filter((p) => p.ns === ns && p.app === app);
  return Array.from({ length: RECORDS }, (_, i) => {
    const from = pick(pods);
    let to: Pod;
    if (random() < 0.1) to = pick(pods);
    else {
      const k = i % 3;
      const ns = k === 2 ? (from.ns + 1) % NAMESPACES : from.ns;
      to = pick(of(ns, (from.app + 1 + k) % APPS));
    }
    const allowed = from.ns === to.ns;
    const judged = {
      action: allowed ? "allow" : "deny",
      reporter: "dst",
      policy: allowed ? `${to.namespace}/same-namespace` : "",
      tier: "default",
      rule: allowed ? "0" : "",
    } as const;
    return flowRecord(from, to, 8080, judged, now - (i % 600) * 1000);
  });
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

describe("web UI at 1,000 workloads and 10,000 flows", { timeout: 120_000 }, () => {
  let h: Harness;
  let browser: Browser;

  before(async () => {
    h = await startHarness();
    const { objects, pods } = world();
    await post(h, "/apis/microseg.io/v1/apply", objects);
    const all = records(pods, Date.now());
    for (let i = 0; i < all.length; i += 5000)
      await post(h, "/api/v1/flows", { node: "node-1", records: all.slice(i, i + 5000) });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it("draws the graph of every record, then answers a filter and an edge click", async () => {
    await visit(browser, h.url, "/ui/#/graph", async (page) => {
      const view = page.locator(`#view[data-drawn-records="${RECORDS}"]`);
      await view.waitFor({ timeout: 60_000 });
      const firstRenderMs = Number(await view.getAttribute("data-drawn-at"));
      // The page's share: when its stored-flows request ended (the server's answer is most of
      // the wait) and what crossed the wire (projected, compressed), against the whole records
      // uncompressed from here right after (the baseline, what the page asked before fields=).
      const flowsEntry = await page.evaluate<{
        start: number;
        first: number;
        end: number;
        wire: number;
        json: number;
      }>(
        `(() => { const e = performance.getEntriesByType("resource").find((e) => e.name.includes("/api/v1/flows?"));
          return { start: Math.round(e?.startTime ?? 0), first: Math.round(e?.responseStart ?? 0),
            end: Math.round(e?.responseEnd ?? 0), wire: e?.transferSize ?? 0, json: e?.decodedBodySize ?? 0 }; })()`,
      );
      const t = Date.now();
      const alone = await h.request("GET", "/api/v1/flows?since=1h&limit=50000", {
        headers: { "accept-encoding": "identity" },
      });
      const apiMs = Date.now() - t;
      assert.equal(alone.json.items.length, RECORDS);
      assert.ok(
        flowsEntry.json > 0 && flowsEntry.json < alone.text.length,
        `the page's records (${flowsEntry.json} B) are fewer bytes than whole ones (${alone.text.length} B)`,
      );
      const edges = await page.locator("h3", { hasText: "Edges" }).textContent();
      // A namespace filter, timed in the page from the change to the next drawing.
      const filterMs = await page.evaluate<number>(`new Promise((resolve) => {
        const view = document.getElementById("view");
        const before = view.getAttribute("data-drawn-at");
        const select = document.querySelector("select");
        const t0 = performance.now();
        new MutationObserver((_, o) => {
          if (view.getAttribute("data-drawn-at") !== before) {
            o.disconnect();
            resolve(performance.now() - t0);
          }
        }).observe(view, { attributes: true });
        select.value = "scale-03";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      })`);
      const t0 = Date.now();
      await page.locator('[data-testid="edges"] button').first().click();
      await page.getByTestId("explanation").waitFor();
      const edgeMs = Date.now() - t0;
      const [l1, l5] = loadavg();
      console.log(
        `# 1,000 workloads, ${RECORDS} records: first render ${firstRenderMs} ms from navigation ` +
          `(stored flows asked at ${flowsEntry.start} ms, first byte ${flowsEntry.first} ms, ` +
          `answered at ${flowsEntry.end} ms: ${mb(flowsEntry.wire)} MB on the wire, ` +
          `${mb(flowsEntry.json)} MB of JSON; whole records uncompressed take ${apiMs} ms alone, ` +
          `${mb(alone.text.length)} MB); ` +
          `namespace filter redrawn in ${Math.round(filterMs)} ms; edge click to explanation ` +
          `${edgeMs} ms (${edges}); load average ${l1?.toFixed(2)} / ${l5?.toFixed(2)}`,
      );
      assert.ok(firstRenderMs > 0);
      assert.ok(filterMs > 0);
    });
  });
});
