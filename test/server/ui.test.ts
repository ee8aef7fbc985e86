// The web UI served by the API server: `/` redirects to /ui/, the built page and every asset it
// names are served with their types, nothing in the bundle loads from another host, and with a
// token the UI's files are served without it while the API still refuses.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { UI_DIST } from "../../src/server/ui.ts";
import { type Harness, startHarness } from "./harness.ts";

const TOKEN = "ui-test-token";

function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** References that would make the browser fetch from elsewhere. */
const EXTERNAL =
  /(?:src|href)\s*=\s*["']?(?:https?:)?\/\/|url\(\s*["']?(?:https?:)?\/\/|@import\s+["']?(?:https?:)?\/\/|import\(\s*["'](?:https?:)?\/\/|fetch\(\s*["']https?:\/\//i;

describe("web UI from the API server", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ token: TOKEN });
  });
  after(async () => h.close());

  it("redirects / to /ui/ and serves the page without a token", async () => {
    const root = await fetch(`${h.url}/`, { redirect: "manual" });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("location"), "/ui/");
    const page = await h.request("GET", "/ui/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(page.text, /<div id="app">/);
  });

  it("serves every asset the page names, with its type", async () => {
    const page = await h.request("GET", "/ui/");
    const assets = [...page.text.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map(
      (m) => m[1],
    );
    assert.ok(
      assets.some((a) => a?.endsWith(".js")),
      `no script in ${page.text}`,
    );
    assert.ok(
      assets.some((a) => a?.endsWith(".css")),
      `no style sheet in ${page.text}`,
    );
    for (const a of assets) {
      const r = await h.request("GET", a as string);
      assert.equal(r.status, 200, a);
      assert.match(r.headers.get("content-type") ?? "", a?.endsWith(".js") ? /javascript/ : /css/);
    }
  });

  it("the built bundle loads nothing from another host", () => {
    const files = readdirSync(UI_DIST, { recursive: true, withFileTypes: true })
      .filter((f) => f.isFile())
      .map((f) => join(f.parentPath, f.name));
    assert.ok(files.length >= 3, `web/dist has ${files.length} files: is the UI built?`);
    for (const f of files) {
      const m = EXTERNAL.exec(readFileSync(f, "utf8"));
      assert.equal(m, null, `${f} refers outside: ${m?.[0]}`);
    }
  });

  it("the API behind the UI still wants the token", async () => {
    assert.equal((await h.request("GET", "/api/v1/flows")).status, 401);
    // A path that starts like the UI's but climbs out must not reach the API without the
    // token (sent raw: fetch would normalise it).
    for (const path of [
      "/ui/../api/v1/flows",
      "/ui/%2e%2e/api/v1/flows",
      "/ui/..%2fapi/v1/flows",
    ]) {
      const r = await rawGet(h.url, path);
      assert.notEqual(r.status, 200, `${path}: ${r.body}`);
      assert.doesNotMatch(r.body, /FlowRecordList/, path);
    }
    const ok = await h.request("GET", "/api/v1/flows", {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(ok.status, 200);
  });
});
