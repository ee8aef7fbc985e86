// The web UI in a real browser: Debian's chromium driven by playwright-core against a real API
// server (in this process, on a real SQLite file) with the examples applied and flow records and
// alerts posted as agents post them (there is no lab here: no root needed). Every view is
// visited and saved as a screenshot in test-output/ui/; the page may request nothing but its own
// server. The scale measurement is ui-scale.test.ts.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { parseAllDocuments } from "yaml";
import type { Explanation } from "../../src/analysis/explain.ts";
import { type Harness, startHarness } from "../server/harness.ts";
import { launch, post, text, visit } from "./browser.ts";
import { alertOf, flowRecord, judgedBy, type Side } from "./records.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const SHOTS = join(ROOT, "test-output", "ui");

function exampleObjects(): unknown[] {
  const dir = join(ROOT, "examples");
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d) => d.toJS()));
}

interface Pod {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { containers: { ports?: { containerPort: number }[] }[] };
  status?: { podIP?: string };
}

describe("web UI in chromium, examples loaded", { timeout: 120_000 }, () => {
  let h: Harness;
  let browser: Browser;
  const pods = new Map<string, Pod>();
  const expected = new Map<string, "allowed" | "denied">();

  const side = (id: string): Side => {
    const p = pods.get(id);
    assert.ok(p, `no pod ${id} in the examples`);
    return {
      namespace: p.metadata.namespace,
      name: p.metadata.name,
      ip: p.status?.podIP ?? "",
      ...(p.metadata.labels ? { labels: p.metadata.labels } : {}),
    };
  };
  const portOf = (id: string) => pods.get(id)?.spec.containers[0]?.ports?.[0]?.containerPort ?? 80;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    h = await startHarness();
    const examples = exampleObjects() as {
      kind: string;
      metadata: { name: string };
      spec: object;
    }[];
    // A staged change of the blue LDAP policy, for the board to show beside its twin.
    const ldap = examples.find((o) => o.metadata?.name === "security.blue-ldap");
    assert.ok(ldap);
    const staged = { ...ldap, kind: "StagedGlobalNetworkPolicy", spec: { ...ldap.spec, order: 5 } };
    await post(h, "/apis/microseg.io/v1/apply", [...examples, staged]);
    const snap = (await h.request("GET", "/apis/microseg.io/v1/snapshot")).json;
    for (const o of snap.items as Pod[])
      if (o.kind === "Pod") pods.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
    // Flows between pairs judged by the server's own explain, as a node would have logged them.
    const pairs: [string, string, number][] = [
      ["directory/ldap-client-0", "directory/ldap-server-0", 389],
      ["directory/blue-web-0", "directory/ldap-server-0", 389],
      ["order-input/frontend-0", "order-input/creditcheck-0", portOf("order-input/creditcheck-0")],
      ["order-input/frontend-0", "cust-record/recordstore-0", portOf("cust-record/recordstore-0")],
    ];
    const now = Date.now();
    const records = [];
    for (const [from, to, port] of pairs) {
      const e = (await post(h, "/api/v1/explain", { from, to, port })) as Explanation;
      const app = (id: string) => id.replace(/-\d+$/, "");
      expected.set(`${app(from)}->${app(to)}`, e.allowed ? "allowed" : "denied");
      records.push(flowRecord(side(from), side(to), port, judgedBy(e), now, 3));
    }
    await post(h, "/api/v1/flows", { node: "node-1", records });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it("the examples give both verdicts to draw", () => {
    assert.deepEqual(new Set(expected.values()), new Set(["allowed", "denied"]));
  });

  it("navigates between every view by keyboard, asking nothing from outside", async () => {
    await visit(browser, h.url, `/`, async (page) => {
      await page.waitForSelector('main[data-view="graph"] section[data-ready="true"]');
      const views = ["Alerts", "Policy board", "Workloads", "Matrix", "Service graph"];
      for (const name of views) {
        // Tab until the link has focus, then Enter: the header is reachable without a mouse
        // (back to the first view with Shift+Tab).
        const key = name === "Service graph" ? "Shift+Tab" : "Tab";
        let focused = "";
        for (let i = 0; i < 20 && focused !== name; i++) {
          await page.keyboard.press(key);
          focused = await page.evaluate<string>('document.activeElement?.textContent ?? ""');
        }
        assert.equal(focused, name);
        await page.keyboard.press("Enter");
        await page.waitForFunction(`document.title.startsWith(${JSON.stringify(name)})`);
      }
    });
  });

  it("graph: observed edges coloured by verdict, overlay adds unused allowed paths, an edge explains itself", async () => {
    await visit(browser, h.url, `/ui/#/graph`, async (page) => {
      await page.waitForSelector('#view[data-drawn-records="4"]');
      for (const [edge, state] of expected) {
        const row = page.locator(`[data-testid="edges"] tr[data-state]`, {
          hasText: edge.replace("->", " → "),
        });
        assert.equal(await row.getAttribute("data-state"), state, edge);
      }
      await page.screenshot({ path: join(SHOTS, "graph.png") });
      // Live: a record posted now is drawn without a reload.
      const from = side("geo-location/ipmap-0");
      const to = side("geo-location/geostore-0");
      const e = (await post(h, "/api/v1/explain", {
        from: "geo-location/ipmap-0",
        to: "geo-location/geostore-0",
        port: portOf("geo-location/geostore-0"),
      })) as Explanation;
      await post(h, "/api/v1/flows", {
        node: "node-2",
        records: [flowRecord(from, to, portOf("geo-location/geostore-0"), judgedBy(e), Date.now())],
      });
      await page.waitForSelector('#view[data-drawn-records="5"]');
      const live = page.locator('[data-testid="edges"] tr[data-state]', {
        hasText: "geo-location/ipmap → geo-location/geostore",
      });
      assert.equal(await live.getAttribute("data-state"), e.allowed ? "allowed" : "denied");
      await page.getByLabel("Allowed by policy").check();
      await page.waitForSelector('[data-testid="edges"] tr[data-state="unused"]');
      await page.screenshot({ path: join(SHOTS, "graph-policy-overlay.png") });
      await page
        .getByRole("button", { name: "directory/blue-web → directory/ldap-server" })
        .click();
      const explanation = page.getByTestId("explanation");
      await explanation.waitFor();
      assert.match(await text(explanation), /Denied[\s\S]*Deny by tier security/);
      // The edge's records say which side reported each: this deny is the server's ingress.
      const records = page.locator("table", { hasText: "policy / rule" });
      assert.match(await text(records), /deny\s*ingress\s*blue-ldap 2/);
      await page.screenshot({ path: join(SHOTS, "graph-edge.png") });
    });
  });

  it("alerts: a posted alert appears within 2 s; acknowledging stores it", async () => {
    await visit(browser, h.url, `/ui/#/alerts`, async (page) => {
      await page.waitForSelector('section[data-ready="true"]');
      const from = side("directory/blue-web-0");
      const to = side("directory/ldap-server-0");
      const posted = Date.now();
      await post(h, "/api/v1/alerts", {
        node: "node-1",
        alerts: [alertOf("blue-ldap-violation", from, to, 389, "blue-ldap")],
      });
      const row = page.locator('tr[data-alert="blue-ldap-violation"]');
      await row.waitFor({ timeout: 10_000 });
      const shownMs = Date.now() - posted;
      console.log(`# alert posted -> shown in the browser: ${shownMs} ms`);
      assert.ok(shownMs < 2000, `shown after ${shownMs} ms`);
      await page.screenshot({ path: join(SHOTS, "alerts.png") });
      await row.getByRole("button", { name: "Acknowledge" }).click();
      await row.waitFor({ state: "detached" });
      const stored = (await h.request("GET", "/api/v1/alerts?acknowledged=true")).json.items;
      assert.equal(stored.length, 1);
      assert.equal(stored[0].alert, "blue-ldap-violation");
    });
  });

  it("policy board: tiers in order; an invalid edit shows the field error and changes nothing; a valid one saves", async () => {
    await visit(browser, h.url, `/ui/#/policies`, async (page) => {
      await page.waitForSelector('section[data-ready="true"] .card');
      const tiers = await page
        .locator(".column")
        .evaluateAll((cs) => cs.map((c) => c.getAttribute("data-tier")));
      assert.deepEqual(tiers.slice(0, 2), ["security", "default"]);
      const pair = page.locator(".pair", {
        has: page.locator('[data-kind="StagedGlobalNetworkPolicy"]'),
      });
      assert.deepEqual(
        await pair.locator(".card").evaluateAll((cs) => cs.map((c) => c.getAttribute("data-kind"))),
        ["GlobalNetworkPolicy", "StagedGlobalNetworkPolicy"],
      );
      assert.match(
        await text(pair.locator('[data-kind="StagedGlobalNetworkPolicy"]')),
        /would deny: 0/,
      );
      await page.screenshot({ path: join(SHOTS, "policies.png") });

      const path = "/apis/projectcalico.org/v3/globalnetworkpolicies/security.blue-ldap";
      const before = (await h.request("GET", path)).json;
      await page.locator('[data-policy="blue-ldap"] button').first().click();
      const yaml = page.getByLabel("Policy YAML");
      const written = await yaml.inputValue();
      assert.match(written, /order: /);
      await yaml.fill(written.replace(/order: \d+/, "order: high"));
      await page.getByRole("button", { name: "Save" }).click();
      const problems = page.getByTestId("problems");
      await problems.waitFor();
      const shown = await text(problems);
      const orderLine = written.split("\n").findIndex((l) => /^\s+order: /.test(l)) + 1;
      assert.match(shown, new RegExp(`line ${orderLine}: spec\\.order`));
      await page.screenshot({ path: join(SHOTS, "policy-editor-error.png"), fullPage: true });
      const unchanged = (await h.request("GET", path)).json;
      assert.equal(unchanged.metadata.resourceVersion, before.metadata.resourceVersion);
      assert.deepEqual(unchanged.spec, before.spec);

      // Preview: what turning the LDAP clients' Allow into Deny would change, as the API says.
      await yaml.fill(written.replace("action: Allow", "action: Deny"));
      await page.getByRole("button", { name: "Preview change" }).click();
      const preview = page.getByTestId("preview");
      await preview.waitFor();
      const [first, ...rest] = before.spec.ingress;
      const edited = {
        ...before,
        spec: { ...before.spec, ingress: [{ ...first, action: "Deny" }, ...rest] },
      };
      const direct = await h.request("POST", "/api/v1/simulate", { body: [edited] });
      assert.equal(direct.status, 200, direct.text);
      const { flows, cells } = direct.json;
      assert.ok(
        flows.newlyDenied.some((f: { from: string }) => f.from.startsWith("directory/ldap-client")),
        direct.text,
      );
      const expected = [
        ...flows.newlyDenied,
        ...flows.newlyAllowed,
        ...cells.newlyDenied,
        ...cells.newlyAllowed,
      ].map(
        (c: { from: string; to: string; port: number; protocol: string }) =>
          `${c.from} → ${c.to} ${c.port}/${c.protocol}`,
      );
      assert.deepEqual(await preview.locator("li").allTextContents(), expected);
      await page.screenshot({ path: join(SHOTS, "policy-preview.png"), fullPage: true });
      assert.equal(
        (await h.request("GET", path)).json.metadata.resourceVersion,
        before.metadata.resourceVersion,
      );

      await yaml.fill(written.replace(/order: \d+/, "order: 11"));
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByTestId("editor").waitFor({ state: "detached" });
      const saved = (await h.request("GET", path)).json;
      assert.equal(saved.spec.order, 11);
      assert.notEqual(saved.metadata.resourceVersion, before.metadata.resourceVersion);
    });
  });

  it("workload view: policies selecting it per direction and tier, addresses, recent flows", async () => {
    await visit(browser, h.url, `/ui/#/workloads?id=directory/ldap-server-0`, async (page) => {
      const detail = page.getByTestId("workload-detail");
      await detail.locator('[data-testid="direction-ingress"] li').first().waitFor();
      const ingress = await text(detail.getByTestId("direction-ingress"));
      assert.match(ingress, /tier security[\s\S]*blue-ldap/);
      assert.match(
        await text(detail),
        new RegExp(side("directory/ldap-server-0").ip.replace(/\./g, "\\.")),
      );
      await detail.locator("table tr").first().waitFor();
      assert.match(await text(detail.locator("table")), /blue-web-0[\s\S]*deny\s*ingress/);
      await page.screenshot({ path: join(SHOTS, "workload.png") });
    });
  });

  it("matrix view: a namespace's cells, each explained", async () => {
    await visit(browser, h.url, `/ui/#/matrix?namespace=directory&port=389/TCP`, async (page) => {
      const cell = page.getByRole("button", {
        name: "directory/blue-web-0 to directory/ldap-server-0: denied",
      });
      await cell.click();
      await page.getByTestId("explanation").waitFor();
      assert.match(await text(page.getByTestId("explanation")), /Denied/);
      const allowed = page.getByRole("button", {
        name: "directory/ldap-client-0 to directory/ldap-server-0: allowed",
      });
      assert.equal(await allowed.count(), 1);
      // The server computed the namespace's cells only: every row is of it.
      const rows = await page.getByTestId("matrix").locator("tbody th").allTextContents();
      assert.ok(rows.length > 0 && rows.every((r) => r.startsWith("directory/")), rows.join());
      await page.screenshot({ path: join(SHOTS, "matrix.png") });
      // Rows by selector: the LDAP clients alone, asked of the server as `from`.
      const asked = page.waitForRequest(
        (r) => r.url().includes("/api/v1/matrix?") && r.url().includes("from="),
      );
      const rowsInput = page.getByLabel("Rows (selector)");
      await rowsInput.fill("role == 'ldap-client'");
      await rowsInput.press("Enter");
      await asked;
      await page
        .getByRole("button", { name: /^directory\/blue-web-0 to / })
        .first()
        .waitFor({ state: "detached" });
      assert.deepEqual(await page.getByTestId("matrix").locator("tbody th").allTextContents(), [
        "directory/ldap-client-0",
        "directory/ldap-client-1",
      ]);
      // A bad selector: the server's 400 is shown, naming the field.
      await rowsInput.fill("role ==");
      await rowsInput.press("Enter");
      await page.getByTestId("matrix-error").waitFor();
      assert.match(await text(page.getByTestId("matrix-error")), /from/);
    });
  });
});
