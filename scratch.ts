import { startHarness } from "./test/server/harness.ts";

const h = await startHarness({ limits: { objectBytes: 65536, applyBytes: 262144 } });
const setup = [
  ["/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } }],
  [
    "/api/v1/namespaces/shop/pods",
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: "shop" },
      spec: { containers: [] },
    },
  ],
] as const;
for (const [path, body] of setup) console.log((await h.request("POST", path, { body })).status);
const items = Array.from({ length: 400 }, (_, i) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: `ns-${i}`, labels: { pad: "x".repeat(60) } },
}));
const t0 = Date.now();
console.log("sending");
const r = await h.request("POST", "/apis/microseg.io/v1/apply", {
  raw: JSON.stringify({ kind: "List", items }),
  headers: { "content-type": "application/json" },
});
console.log(r.status, Date.now() - t0, r.text.slice(0, 200));
await h.close();
