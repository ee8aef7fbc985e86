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
import type { Resource } from "../../src/model/index.ts";
import { webToDb } from "../agent/kernel-fixtures.ts";
import { ns, pod, upsert } from "./fixtures.ts";

const resources: Resource[] = [
  ns("shop"),
  pod("shop", "web", "198.18.0.1", { app: "web" }),
  pod("shop", "db", "198.18.0.2", { app: "db" }),
  webToDb("db", [{ port: 5432 }]),
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

test("with nflogAllowSample N a log-only rule under `numgen random mod N` precedes each Allow rule", () => {
  const text = render({ ...DEFAULT_ENFORCEMENT, nflogAllowGroup: 9, nflogAllowSample: 4 });
  const rules = text.split("\n").filter((l) => l.includes("add rule") && l.includes("@"));
  const sampling = rules.filter((l) => l.includes("numgen"));
  // One per address family, each logging A to group 9, with no counter and no verdict.
  assert.equal(sampling.length, 2, text);
  for (const line of sampling) {
    assert.match(line, /numgen random mod 4 0 .* log prefix "ms\|A\|i\|default\|[^"]+" group 9$/);
    assert.doesNotMatch(line, /counter|return|drop/);
    const deciding = rules[rules.indexOf(line) + 1]!;
    // The deciding rule is the same match (the draw aside), counts, marks, returns, logs nothing.
    assert.equal(
      deciding.replace(/ counter .*$/, ""),
      line.replace("numgen random mod 4 0 ", "").replace(/ log prefix .*$/, ""),
    );
    assert.match(deciding, /counter meta mark set .* return$/);
  }
  assert.equal(logLines(text).filter((l) => l.prefix?.action === "A").length, 2);
});

test("a sample of 1 logs every allowed connection in the Allow rule itself", () => {
  const every = render({ ...DEFAULT_ENFORCEMENT, nflogAllowGroup: 9 });
  assert.equal(render({ ...DEFAULT_ENFORCEMENT, nflogAllowGroup: 9, nflogAllowSample: 1 }), every);
  assert.doesNotMatch(every, /numgen/);
});

test("with nflogAllowGroup an endpoint chain's last rule logs what it allows as action N", () => {
  const text = render({ ...DEFAULT_ENFORCEMENT, nflogAllowGroup: 9 });
  const byDefault = logLines(text).filter((l) => l.prefix?.action === "N");
  // web and db: db's ingress chain ends past its tier (the default tier's Deny drops first);
  // web's ingress has no policy and allows at once, and so do both egress directions, which
  // share one chain (the same, empty, tiers).
  const dirs = byDefault.map((l) => `${l.prefix?.direction} ${l.group}`).sort();
  assert.deepEqual(dirs, ["egress 9", "ingress 9", "ingress 9"]);
  assert.equal(
    logLines(render(DEFAULT_ENFORCEMENT)).filter((l) => l.prefix?.action === "N").length,
    0,
  );
  const sampled = render({ ...DEFAULT_ENFORCEMENT, nflogAllowGroup: 9, nflogAllowSample: 4 });
  const rules = sampled.split("\n").filter((l) => l.includes('"ms|N|'));
  assert.ok(rules.length === 3 && rules.every((l) => /numgen random mod 4 0 log prefix/.test(l)));
});
