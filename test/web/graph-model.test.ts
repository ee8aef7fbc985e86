// The UI's pure parts, without a browser: workloads grouped into applications, records folded
// into edges by verdict, the policy overlay (unused allowed paths, observed flows policy now
// denies), filters; and a 422 cause's field path found in the YAML the user edited.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Matrix } from "../../src/analysis/matrix.ts";
import { buildGraph, ownerOf, reportedAt, workloadsOf } from "../../web/src/graph-model.ts";
import { fieldSegments, lineOfField } from "../../web/src/yaml-fields.ts";
import { flowRecord, type Judged, type Side } from "./records.ts";

const pod = (namespace: string, name: string, ip: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, labels },
  status: { podIP: ip, podIPs: [{ ip }] },
});

const items = [
  pod("shop", "web-0", "198.18.0.1", { app: "web" }),
  pod("shop", "web-1", "198.18.0.2", { app: "web" }),
  pod("shop", "api-7d9f8b6c5d-x2k4q", "198.18.0.3", { app: "api" }),
  pod("bank", "ledger-0", "198.18.1.1", { app: "ledger" }),
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
];
const workloads = workloadsOf(items);
const side = (id: string): Side => {
  const w = workloads.find((x) => x.id === id);
  assert.ok(w);
  return { namespace: w.namespace, name: w.name, ip: w.addresses[0] ?? "" };
};
const allow: Judged = { action: "allow", reporter: "dst", policy: "p", tier: "default", rule: "0" };
const deny: Judged = { ...allow, action: "deny" };
let id = 0;
const stored = (from: string, to: string, j: Judged, port = 80) => ({
  ...flowRecord(side(from), side(to), port, j, Date.now()),
  id: ++id,
  node: "n",
});

const cell = (from: string, to: string, port: number, allowed: boolean) => ({
  from,
  to,
  port,
  protocol: "TCP" as const,
  allowed,
  egress: allowed,
  ingress: allowed,
});

describe("graph model", () => {
  it("groups replicas by owner: ordinal, ReplicaSet hash, owner-folded names", () => {
    assert.equal(ownerOf("web-0"), "web");
    assert.equal(ownerOf("api-7d9f8b6c5d-x2k4q"), "api");
    assert.equal(ownerOf("api-*"), "api");
    assert.equal(ownerOf("anything", "owner-set"), "owner-set");
    assert.deepEqual(
      workloads.map((w) => w.app),
      ["shop/web", "shop/web", "shop/api", "bank/ledger"],
    );
  });

  it("folds records into one edge per application pair, state by verdict", () => {
    const records = [
      stored("shop/web-0", "shop/api-7d9f8b6c5d-x2k4q", allow),
      stored("shop/web-1", "shop/api-7d9f8b6c5d-x2k4q", allow),
      stored("shop/api-7d9f8b6c5d-x2k4q", "bank/ledger-0", deny, 5432),
      stored("shop/web-0", "bank/ledger-0", allow, 5432),
      stored("shop/web-1", "bank/ledger-0", deny, 5432),
    ];
    const g = buildGraph(workloads, records, {});
    const state = Object.fromEntries(g.edges.map((e) => [e.id, e.state]));
    assert.deepEqual(state, {
      "shop/web->shop/api": "allowed",
      "shop/api->bank/ledger": "denied",
      "shop/web->bank/ledger": "mixed",
    });
    assert.equal(g.edges.find((e) => e.id === "shop/web->shop/api")?.records.length, 2);
    assert.deepEqual(g.nodes.find((n) => n.id === "shop/web")?.workloads, 2);
    const denied = buildGraph(workloads, records, { verdict: "deny" });
    assert.deepEqual(denied.edges.map((e) => e.id).sort(), [
      "shop/api->bank/ledger",
      "shop/web->bank/ledger",
    ]);
    const bank = buildGraph(workloads, records, { namespace: "bank" });
    assert.ok(bank.edges.every((e) => e.to === "bank/ledger"));
    const labelled = buildGraph(workloads, records, { labels: "app=api" });
    assert.deepEqual(labelled.edges.map((e) => e.id).sort(), [
      "shop/api->bank/ledger",
      "shop/web->shop/api",
    ]);
  });

  it("a connection reported at both ends counts once: the source's allow, the destination's verdict", () => {
    const src = { ...allow, reporter: "src" as const, policy: "" };
    const log = { ...allow, action: "log" as const };
    const records = [
      // Blocked at the destination: the source's egress allowed it, its ingress logged and denied.
      stored("shop/web-0", "bank/ledger-0", src, 5432),
      stored("shop/web-0", "bank/ledger-0", log, 5432),
      stored("shop/web-0", "bank/ledger-0", deny, 5432),
      // Through: allowed at both ends.
      stored("shop/web-0", "shop/api-7d9f8b6c5d-x2k4q", src),
      stored("shop/web-1", "shop/api-7d9f8b6c5d-x2k4q", src),
      stored("shop/web-0", "shop/api-7d9f8b6c5d-x2k4q", allow),
      stored("shop/web-1", "shop/api-7d9f8b6c5d-x2k4q", allow),
    ];
    const policy: Matrix = {
      workloads: workloads.map((w) => w.id),
      ports: [{ port: 5432, protocol: "TCP" }],
      results: [cell("shop/web-0", "bank/ledger-0", 5432, false)],
    };
    const g = buildGraph(workloads, records, {}, policy);
    const edge = (id: string) => {
      const e = g.edges.find((x) => x.id === id);
      return e && { state: e.state, allowed: e.allowed, denied: e.denied, wouldDeny: e.wouldDeny };
    };
    assert.deepEqual(edge("shop/web->bank/ledger"), {
      state: "denied",
      allowed: 0,
      denied: 1,
      wouldDeny: 0,
    });
    assert.deepEqual(edge("shop/web->shop/api"), {
      state: "allowed",
      allowed: 2,
      denied: 0,
      wouldDeny: 0,
    });
    // The views' column: the start-up table's drops have no reporter.
    assert.deepEqual(["src", "dst", ""].map(reportedAt), ["egress", "ingress", "—"]);
    const allowedOnly = buildGraph(workloads, records, { verdict: "allow" });
    assert.deepEqual(
      allowedOnly.edges.map((e) => e.id),
      ["shop/web->shop/api"],
    );
  });

  it("overlay: allowed paths nobody uses, and observed flows policy now denies", () => {
    const records = [stored("shop/web-0", "shop/api-7d9f8b6c5d-x2k4q", allow)];
    const policy: Matrix = {
      workloads: workloads.map((w) => w.id),
      ports: [{ port: 80, protocol: "TCP" }],
      results: [
        cell("shop/web-0", "shop/api-7d9f8b6c5d-x2k4q", 80, false),
        cell("shop/api-7d9f8b6c5d-x2k4q", "bank/ledger-0", 80, true),
        // Replicas of one application reaching each other draw no loop.
        cell("shop/web-0", "shop/web-1", 80, true),
      ],
    };
    const g = buildGraph(workloads, records, {}, policy);
    const state = Object.fromEntries(g.edges.map((e) => [e.id, e.state]));
    assert.deepEqual(state, {
      "shop/web->shop/api": "would-deny",
      "shop/api->bank/ledger": "unused",
    });
    assert.deepEqual(g.edges.find((e) => e.state === "unused")?.sample, {
      from: "shop/api-7d9f8b6c5d-x2k4q",
      to: "bank/ledger-0",
      port: 80,
      protocol: "TCP",
    });
  });
});

describe("field paths in YAML", () => {
  const text = [
    "apiVersion: v1",
    "kind: GlobalNetworkPolicy",
    "spec:",
    "  order: high",
    "  ingress:",
    "    - action: Allow",
    "      destination:",
    "        ports: [99999]",
  ].join("\n");

  it("splits a server's field path", () => {
    assert.deepEqual(fieldSegments("spec.ingress[0].destination.ports[0]"), [
      "spec",
      "ingress",
      0,
      "destination",
      "ports",
      0,
    ]);
  });

  it("finds the line of the field, or of its deepest present parent", () => {
    assert.equal(lineOfField(text, "spec.order"), 4);
    assert.equal(lineOfField(text, "spec.ingress[0].destination.ports[0]"), 8);
    assert.equal(lineOfField(text, "spec.ingress[0].source.selector"), 6);
    assert.equal(lineOfField(text, "nothing.here"), undefined);
  });
});
