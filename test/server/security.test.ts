// Secure by default: loopback unless told otherwise; any other address only with a bearer
// token, which every request must then carry (401 Status otherwise); optional TLS.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openDatastore } from "../../src/datastore/index.ts";
import { ServerConfigError, startServer } from "../../src/server/index.ts";
import { selfSignedCert } from "../tls-cert.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = mkdtempSync(join(tmpdir(), "microseg-security-"));
const store = await openDatastore(`sqlite:${join(dir, "store.db")}`);
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN = "s3cr3t-token-for-tests";

describe("listening", () => {
  it("binds 127.0.0.1 by default", async () => {
    const server = await startServer({ store, port: 0 });
    try {
      assert.equal(server.host, "127.0.0.1");
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await server.close();
    }
  });

  it("refuses a non-loopback address without a token, naming --token-file", async () => {
    for (const host of ["0.0.0.0", "::"]) {
      await assert.rejects(startServer({ store, host, port: 0 }), (e: unknown) => {
        assert.ok(e instanceof ServerConfigError, String(e));
        assert.match((e as Error).message, /--token-file/);
        return true;
      });
    }
  });

  it("microseg server --listen 0.0.0.0:PORT without --token-file exits non-zero and says why", () => {
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, "bin", "microseg.js"),
        "server",
        "--datastore",
        `sqlite:${join(dir, "cli.db")}`,
        "--listen",
        "0.0.0.0:0",
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--token-file/);
  });
});

describe("bearer token", () => {
  it("off loopback with a token: every request needs it, 401 Status otherwise", async () => {
    const server = await startServer({ store, host: "0.0.0.0", port: 0, token: TOKEN });
    const url = `http://127.0.0.1:${server.port}`;
    try {
      for (const path of ["/api/v1/namespaces", "/healthz", "/metrics", "/apis"]) {
        const none = await fetch(`${url}${path}`);
        assert.equal(none.status, 401, path);
        const status = (await none.json()) as { kind: string; reason: string };
        assert.equal(status.kind, "Status");
        assert.equal(status.reason, "Unauthorized");
        const wrong = await fetch(`${url}${path}`, { headers: { authorization: "Bearer nope" } });
        assert.equal(wrong.status, 401, path);
        await wrong.text();
        const right = await fetch(`${url}${path}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        assert.equal(right.status, 200, path);
        await right.text();
      }
      const write = await fetch(`${url}/api/v1/namespaces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } }),
      });
      assert.equal(write.status, 401);
      const missing = await store.list({ kind: { apiVersion: "v1", kind: "Namespace" } });
      assert.ok(
        !missing.items.some((n) => n.metadata.name === "x"),
        "an unauthorized write changed the store",
      );
    } finally {
      await server.close();
    }
  });
});

describe("TLS", () => {
  it("--tls-cert/--tls-key serve HTTPS that a client trusting the certificate reads", async () => {
    const { key, cert } = selfSignedCert(dir);
    const server = await startServer({
      store,
      port: 0,
      tls: { cert, key },
    });
    try {
      assert.match(server.url, /^https:\/\//);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${server.url}/api`, { ca: cert }, (res) => {
          let text = "";
          res.on("data", (d) => {
            text += d;
          });
          res.on("end", () => resolve(text));
        });
        req.on("error", reject);
        req.end();
      });
      assert.deepEqual(JSON.parse(body).versions, ["v1"]);
      await assert.rejects(
        fetch(`${server.url.replace("https", "http")}/api`),
        "plain HTTP is not served",
      );
    } finally {
      await server.close();
    }
  });
});
