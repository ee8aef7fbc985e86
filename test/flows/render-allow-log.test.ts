// The renderer option flow logs need for allowed connections: with `nflogAllowGroup`, an Allow
// rule logs to that group with prefix action A before it marks the packet allowed; without it,
// Allow rules log nothing (the rendered text is unchanged).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_ENFORCEMENT,
  NftRenderer,
  parseLogPrefix,
} from "../../src/dataplane/nftables/index.ts";
import { Engine } from "../../src/engine/index.ts";
import { type Resource, validResource } from "../../src/model/index.ts";
import { ns, pod, upsert } from "./fixtures.ts";

const resources: Resource[] = [
  ns("shop"),
  pod("shop", "web", "198.18.0.1", { app: "web" }),
  pod("shop", "db", "198.18.0.2", { app: "db" }),
  validResource({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "db", namespace: "shop" },
    spec: {
      podSelector: { matchLabels: { app: "db" } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 5432 }] },
      ],
    },
  }),
];

function render(cfg: typeof DEFAULT_ENFORCEMENT): string {
  const engine = new Engine({ node: "node-1" });
  engine.ingest(resources.map(upsert));
  engine.flush();
  return new NftRenderer(cfg).full(engine.state()).toString();
}

const logLines = (text: string) =>
  [...text.matchAll(/log prefix "([^"]+)" group (\d+)/g)].map((m) => ({
    prefix: parseLogPrefix(m[1]!),
    group: Number(m[2]),
  }));

test("with nflogAllowGroup the Allow rule logs its first packets as action A to that group", () => {
  const allowLogs = logLines(render({ ...DEFAULT_ENFORCEMENT, nflogAllowGroup: 9 })).filter(
    (l) => l.prefix?.action === "A",
  );
  const want = {
    prefix: {
      action: "A",
      direction: "ingress",
      tier: "default",
      policy: "KubernetesNetworkPolicy/shop/db",
      rule: 0,
    },
    group: 9,
  };
  // One rule per address family, both from the policy's one Allow rule.
  assert.deepEqual(allowLogs, [want, want]);
});

test("without it no Allow rule logs", () => {
  const text = render(DEFAULT_ENFORCEMENT);
  assert.ok(logLines(text).length > 0, "deny paths still log");
  assert.equal(logLines(text).filter((l) => l.prefix?.action === "A").length, 0);
});
