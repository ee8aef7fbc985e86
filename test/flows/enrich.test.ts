// Enrichment: identities as of the packet's time (address reuse), the deciding policy from the
// prefix, implicit denies attributed to the isolating policies, unknown addresses explained,
// and the staged program's verdict.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Enricher, FlowContext, type FlowLog } from "../../src/flows/index.ts";
import { type Resource, validResource, validResources } from "../../src/model/index.ts";
import { ns, packet, pod, upsert } from "./fixtures.ts";

const T0 = 1_800_000_000_000;
const KNP = "KubernetesNetworkPolicy";

const defaultDeny = validResource({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "default-deny", namespace: "prod" },
  spec: { podSelector: {}, policyTypes: ["Ingress"] },
});

const blueLdap = validResources([
  {
    apiVersion: "microseg.io/v1",
    kind: "Tier",
    metadata: { name: "security" },
    spec: { order: 100, defaultAction: "Pass" },
  },
  {
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name: "security.blue-ldap" },
    spec: {
      tier: "security",
      selector: 'role == "ldap-server"',
      types: ["Ingress"],
      ingress: [{ action: "Deny", protocol: "TCP", destination: { ports: [389] } }],
    },
  },
]);

function context(resources: Resource[], time = T0): FlowContext {
  const ctx = new FlowContext();
  ctx.apply(resources.map(upsert), time);
  return ctx;
}

const base = [
  ns("prod"),
  pod("prod", "web-1", "198.18.0.1", { app: "web", color: "blue" }),
  pod("prod", "db-1", "198.18.0.2", { app: "db", role: "ldap-server" }, [
    { name: "ldap", containerPort: 389 },
  ]),
];

describe("enrichment", () => {
  test("a Deny rule's record names both workloads, the tier, policy and rule", () => {
    const e = new Enricher(context([...base, ...blueLdap]));
    const log = e.enrich(
      packet({
        time: T0 + 10,
        prefix: {
          action: "D",
          direction: "ingress",
          tier: "security",
          policy: "GlobalNetworkPolicy//blue-ldap" as never,
          rule: 0,
        },
        src: "198.18.0.1",
        dst: "198.18.0.2",
        dport: 389,
      }),
    )!;
    assert.deepEqual(
      pick(log, [
        "action",
        "reporter",
        "proto",
        "tier",
        "policy",
        "rule",
        "source_namespace",
        "source_name",
        "source_kind",
        "source_service_account",
        "dest_name",
        "dest_port",
        "dest_port_name",
        "dest_node",
      ]),
      {
        action: "deny",
        reporter: "dst",
        proto: "tcp",
        tier: "security",
        policy: "blue-ldap",
        rule: "0",
        source_namespace: "prod",
        source_name: "web-1",
        source_kind: "Pod",
        source_service_account: "sa-web-1",
        dest_name: "db-1",
        dest_port: "389",
        dest_port_name: "ldap",
        dest_node: "node-1",
      },
    );
    assert.equal(log.sourceLabels.color, "blue");
    assert.equal(log.connections, 1);
  });

  test("a tier-default deny under Kubernetes isolation names the isolating policy", () => {
    const e = new Enricher(context([...base, defaultDeny]));
    const log = e.enrich(
      packet({
        time: T0 + 5,
        prefix: { action: "T", direction: "ingress", tier: "default" },
        src: "198.18.0.1",
        dst: "198.18.0.2",
        dport: 5432,
      }),
    )!;
    assert.equal(log.fields.action, "deny");
    assert.equal(log.fields.policy, "prod/default-deny");
    assert.deepEqual(log.isolatedBy, ["prod/default-deny"]);
    assert.equal(
      log.reason,
      "isolated by prod/default-deny (ingress, tier default), no rule allowed 198.18.0.2:5432/TCP",
    );
  });

  test("a long policy id written hashed in the prefix is mapped back", async () => {
    const { logKey } = await import("../../src/dataplane/nftables/log-prefix.ts");
    const e = new Enricher(context([...base, defaultDeny]));
    const log = e.enrich(
      packet({
        time: T0,
        prefix: `ms|D|i|default|${logKey(`${KNP}/prod/default-deny`)}|0`,
        src: "198.18.0.1",
        dst: "198.18.0.2",
      }),
    )!;
    assert.equal(log.fields.policy, "prod/default-deny");
  });

  test("a spoofed source on a workload interface is explained as an unknown address", () => {
    const e = new Enricher(context(base));
    const log = e.enrich(
      packet({ time: T0, prefix: { action: "S" }, src: "198.18.9.9", dst: "198.18.0.2" }),
    )!;
    assert.equal(log.fields.action, "deny");
    assert.equal(log.fields.source_kind, "net");
    assert.match(log.reason, /^unknown address: 198\.18\.9\.9 on workload interface wl0/);
  });

  test("allowed past the last tier: no policy selects the endpoint, or every tier passed it", () => {
    const e = new Enricher(context([...base, ...blueLdap]));
    const at = (direction: "egress" | "ingress") =>
      e.enrich(
        packet({
          time: T0 + 10,
          prefix: { action: "N", direction },
          src: "198.18.0.1",
          dst: "198.18.0.2",
          dport: 5432,
        }),
      )!;
    const egress = at("egress");
    assert.deepEqual(
      [egress.fields.action, egress.fields.reporter, egress.fields.policy, egress.connections],
      ["allow", "src", "", 1],
    );
    assert.equal(
      egress.reason,
      "no policy selects prod/web-1 (egress): not isolated, allowed by default",
    );
    assert.equal(
      at("ingress").reason,
      "every tier passed prod/db-1 (ingress, selected by blue-ldap): allowed at the end of its tiers",
    );
  });

  test("records of other rules are not ours", () => {
    const e = new Enricher(context(base));
    assert.equal(
      e.enrich(packet({ time: T0, prefix: "somebody-else", src: "198.18.0.1", dst: "198.18.0.2" })),
      undefined,
    );
  });

  test("address reuse within one second: each record goes to the pod holding the address then", () => {
    const ctx = context(base, T0);
    // db-1 is deleted at T0+300 and its address given to cache-1 (other labels) at T0+400.
    ctx.apply([{ type: "delete", key: "core/Pod/prod/db-1" }], T0 + 300);
    ctx.apply([upsert(pod("prod", "cache-1", "198.18.0.2", { app: "cache" }))], T0 + 400);
    const e = new Enricher(ctx);
    const at = (time: number) =>
      e.enrich(
        packet({
          time,
          prefix: { action: "T", direction: "ingress", tier: "default" },
          src: "198.18.0.1",
          dst: "198.18.0.2",
        }),
      )!;
    assert.equal(at(T0 + 299).fields.dest_name, "db-1");
    assert.equal(at(T0 + 299).destLabels.app, "db");
    assert.equal(
      at(T0 + 350).fields.dest_kind,
      "net",
      "between the delete and the create nobody held it",
    );
    assert.equal(at(T0 + 400).fields.dest_name, "cache-1");
    assert.equal(at(T0 + 400).destLabels.app, "cache");
  });

  test("with a staged deny policy, allowed traffic shows the staged verdict naming it", () => {
    const staged = validResource({
      apiVersion: "microseg.io/v1",
      kind: "StagedNetworkPolicy",
      metadata: { name: "lock-db", namespace: "prod" },
      spec: { selector: 'app == "db"', types: ["Ingress"], ingress: [{ action: "Deny" }] },
    });
    const e = new Enricher(context([...base, staged]));
    const log = e.enrich(
      packet({
        time: T0,
        prefix: {
          action: "A",
          direction: "ingress",
          tier: "default",
          policy: `${KNP}/prod/x` as never,
          rule: 0,
        },
        src: "198.18.0.1",
        dst: "198.18.0.2",
      }),
    )!;
    assert.equal(log.fields.action, "allow");
    assert.deepEqual(log.staged, { action: "deny", policies: ["prod/lock-db"] });
  });

  test("without staged policies there is no staged verdict", () => {
    const e = new Enricher(context(base));
    const log = e.enrich(
      packet({ time: T0, prefix: { action: "B" }, src: "198.18.0.1", dst: "198.18.0.2" }),
    )!;
    assert.equal(log.staged, undefined);
    assert.match(log.reason, /agent starting/);
  });
});

function pick(log: FlowLog, keys: Array<keyof FlowLog["fields"]>): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, log.fields[k]]));
}
