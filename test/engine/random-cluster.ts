// Random resource churn for the engine's property tests: small pools of labels and names so
// selectors, relabels and collisions happen often.

import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, resourceKey, validResource } from "../../src/model/index.ts";

export type Random = () => number;

export { seededRandom as prng } from "../../src/util/random.ts";

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Random, p: number) => r() < p;

const NAMESPACES = ["ns-a", "ns-b", "ns-c"];
const APPS = ["web", "db", "api"];
const ROLES = ["x", "y"];
const NODES = ["node-1", "node-2"];
const TIERS = ["security", "platform"];

function labels(r: Random): Record<string, string> {
  const out: Record<string, string> = {};
  if (chance(r, 0.8)) out.app = pick(r, APPS);
  if (chance(r, 0.5)) out.role = pick(r, ROLES);
  return out;
}

function labelSelector(r: Random): Record<string, unknown> {
  switch (Math.floor(r() * 4)) {
    case 0:
      return {};
    case 1:
      return { matchLabels: { app: pick(r, APPS) } };
    case 2:
      return {
        matchExpressions: [
          { key: "role", operator: pick(r, ["In", "NotIn"]), values: [pick(r, ROLES)] },
        ],
      };
    default:
      return { matchExpressions: [{ key: "role", operator: pick(r, ["Exists", "DoesNotExist"]) }] };
  }
}

function calicoSelector(r: Random): string {
  return pick(r, [
    `app == "${pick(r, APPS)}"`,
    `role in {"${pick(r, ROLES)}"}`,
    "has(role)",
    `app != "${pick(r, APPS)}"`,
    `kind == "partner"`,
    "all()",
    `app == "${pick(r, APPS)}" || role == "${pick(r, ROLES)}"`,
  ]);
}

const PORTS: Array<number | string> = [80, 53, "http", "dns", "70:90", 22];

function calicoEntity(r: Random): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (chance(r, 0.5)) e.selector = calicoSelector(r);
  if (chance(r, 0.2)) e.namespaceSelector = pick(r, ["all()", `team == "t1"`, "global()"]);
  if (chance(r, 0.15)) e.notSelector = calicoSelector(r);
  if (chance(r, 0.15)) e.nets = [pick(r, ["198.18.0.0/24", "203.0.113.0/25", "198.18.0.0/15"])];
  if (chance(r, 0.1)) e.notNets = ["198.18.0.0/30"];
  return e;
}

function calicoRule(r: Random, direction: "ingress" | "egress"): Record<string, unknown> {
  const rule: Record<string, unknown> = {
    action: pick(r, ["Allow", "Allow", "Deny", "Pass", "Log"]),
  };
  const protocol = chance(r, 0.6) ? pick(r, ["TCP", "UDP"]) : undefined;
  if (protocol) rule.protocol = protocol;
  const peer = calicoEntity(r);
  const local: Record<string, unknown> = {};
  if (protocol && chance(r, 0.6)) local.ports = [pick(r, PORTS)];
  if (protocol && chance(r, 0.1)) local.notPorts = [pick(r, PORTS)];
  if (direction === "ingress") {
    if (Object.keys(peer).length > 0) rule.source = peer;
    if (Object.keys(local).length > 0) rule.destination = local;
  } else {
    const dst = { ...peer, ...local };
    if (Object.keys(dst).length > 0) rule.destination = dst;
  }
  return rule;
}

function k8sPeer(r: Random): Record<string, unknown> {
  const kind = Math.floor(r() * 4);
  if (kind === 0)
    return {
      ipBlock: { cidr: "198.18.0.0/16", ...(chance(r, 0.5) ? { except: ["198.18.0.0/28"] } : {}) },
    };
  if (kind === 1) return { podSelector: labelSelector(r) };
  if (kind === 2) return { namespaceSelector: { matchLabels: { team: pick(r, ["t1", "t2"]) } } };
  return { podSelector: labelSelector(r), namespaceSelector: {} };
}

function k8sPorts(r: Random): Array<Record<string, unknown>> | undefined {
  if (chance(r, 0.4)) return undefined;
  return [
    pick(r, [
      { port: 80 },
      { protocol: "UDP", port: 53 },
      { port: "http" },
      { protocol: "UDP", port: "dns" },
      { port: 70, endPort: 85 },
      { protocol: "UDP" },
    ]),
  ];
}

export class ChurnGenerator {
  readonly live = new Map<string, Resource>();
  private nextIp = 1;
  private revision = 0;

  constructor(private readonly r: Random) {}

  private address(): string {
    const n = this.nextIp++;
    return `198.18.${n >> 8}.${n & 0xff}`;
  }

  private pod(name: string, ns: string): Resource {
    const r = this.r;
    const ports = [
      ...(chance(r, 0.6)
        ? [{ name: "http", containerPort: pick(r, [80, 8080]), protocol: "TCP" }]
        : []),
      ...(chance(r, 0.4) ? [{ name: "dns", containerPort: 53, protocol: "UDP" }] : []),
    ];
    const ip = this.address();
    return validResource({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, labels: labels(r) },
      spec: {
        nodeName: pick(r, NODES),
        ...(chance(r, 0.05) ? { hostNetwork: true } : {}),
        containers: [{ name: "c", ports }],
      },
      status: { podIP: ip },
    });
  }

  private policy(): Resource {
    const r = this.r;
    const ns = pick(r, NAMESPACES);
    const kind = Math.floor(r() * 6);
    const name = `p${Math.floor(r() * 6)}`;
    if (kind <= 1) {
      const types = pick(r, [["Ingress"], ["Egress"], ["Ingress", "Egress"], undefined]);
      const rules = (dir: "from" | "to") =>
        Array.from({ length: Math.floor(r() * 3) }, () => {
          const ports = k8sPorts(r);
          const peers = chance(r, 0.2) ? undefined : [k8sPeer(r)];
          return { ...(peers ? { [dir]: peers } : {}), ...(ports ? { ports } : {}) };
        });
      return validResource({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name, namespace: ns },
        spec: {
          podSelector: labelSelector(r),
          ...(types ? { policyTypes: types } : {}),
          ingress: rules("from"),
          egress: rules("to"),
        },
      });
    }
    if (kind === 2) {
      const rules = (dir: "from" | "to") =>
        Array.from({ length: Math.floor(r() * 3) }, (_, i) => ({
          name: `r${i}`,
          action: pick(r, ["Allow", "Deny", "Pass"]),
          [dir]: [
            pick(r, [
              { namespaces: { matchLabels: { team: pick(r, ["t1", "t2"]) } } },
              { pods: { namespaceSelector: {}, podSelector: labelSelector(r) } },
              ...(dir === "to"
                ? [{ networks: ["198.18.0.0/24"] }, { nodes: { matchLabels: { zone: "z1" } } }]
                : []),
            ]),
          ],
          ...(chance(r, 0.5)
            ? {
                ports: [
                  pick(r, [
                    { portNumber: { protocol: "TCP", port: 80 } },
                    { namedPort: "dns" },
                    { portRange: { protocol: "TCP", start: 70, end: 90 } },
                  ]),
                ],
              }
            : {}),
        }));
      return validResource({
        apiVersion: "policy.networking.k8s.io/v1alpha1",
        kind: "AdminNetworkPolicy",
        metadata: { name },
        spec: {
          priority: Math.floor(r() * 5),
          subject: chance(r, 0.5)
            ? { namespaces: {} }
            : {
                pods: {
                  namespaceSelector: { matchLabels: { team: "t1" } },
                  podSelector: labelSelector(r),
                },
              },
          ingress: rules("from"),
          egress: rules("to"),
        },
      });
    }
    if (kind === 3) {
      const rules = (dir: "from" | "to") =>
        Array.from({ length: Math.floor(r() * 2) }, () => ({
          action: pick(r, ["Allow", "Deny"]),
          [dir]: [{ namespaces: {} }],
        }));
      return validResource({
        apiVersion: "policy.networking.k8s.io/v1alpha1",
        kind: "BaselineAdminNetworkPolicy",
        metadata: { name: "default" },
        spec: {
          subject: { namespaces: { matchLabels: { team: pick(r, ["t1", "t2"]) } } },
          ingress: rules("from"),
          egress: rules("to"),
        },
      });
    }
    const global = kind === 5;
    const spec: Record<string, unknown> = {
      ...(chance(r, 0.4) ? { tier: pick(r, TIERS) } : {}),
      ...(chance(r, 0.7) ? { order: Math.floor(r() * 4) } : {}),
      selector: calicoSelector(r),
      ingress: Array.from({ length: Math.floor(r() * 3) }, () => calicoRule(r, "ingress")),
      egress: Array.from({ length: Math.floor(r() * 3) }, () => calicoRule(r, "egress")),
      ...(chance(r, 0.3)
        ? { types: pick(r, [["Ingress"], ["Egress"], ["Ingress", "Egress"]]) }
        : {}),
      ...(global && chance(r, 0.3) ? { namespaceSelector: `team == "t1"` } : {}),
    };
    return validResource({
      apiVersion: "microseg.io/v1",
      kind: global ? "GlobalNetworkPolicy" : "NetworkPolicy",
      metadata: global ? { name } : { name, namespace: ns },
      spec,
    });
  }

  /** One random change to the cluster, as the event the engine receives. */
  next(): ResourceEvent {
    const r = this.r;
    this.revision++;
    const roll = r();
    if (roll < 0.12 && this.live.size > 0) {
      const key = pick(r, [...this.live.keys()]);
      this.live.delete(key);
      return { type: "delete", key, revision: this.revision };
    }
    let res: Resource;
    if (roll < 0.2) {
      res = validResource({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: pick(r, NAMESPACES),
          labels: chance(r, 0.7) ? { team: pick(r, ["t1", "t2"]) } : {},
        },
      });
    } else if (roll < 0.5) {
      const name = `pod-${Math.floor(r() * 8)}`;
      res = this.pod(name, pick(r, NAMESPACES));
    } else if (roll < 0.55) {
      res = validResource({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: pick(r, NODES), labels: chance(r, 0.5) ? { zone: "z1" } : {} },
        status: {
          addresses: [{ type: "InternalIP", address: pick(r, ["198.19.0.1", "198.19.0.2"]) }],
        },
      });
    } else if (roll < 0.62) {
      const global = chance(r, 0.5);
      res = validResource({
        apiVersion: "microseg.io/v1",
        kind: global ? "GlobalNetworkSet" : "NetworkSet",
        metadata: global
          ? { name: "set-g", labels: { kind: "partner" } }
          : {
              name: "set-n",
              namespace: pick(r, NAMESPACES),
              labels: { kind: pick(r, ["partner", "other"]) },
            },
        spec: { nets: [pick(r, ["203.0.113.0/24", "203.0.113.128/25", "198.51.100.0/24"])] },
      });
    } else if (roll < 0.68) {
      res = validResource({
        apiVersion: "microseg.io/v1",
        kind: "Tier",
        metadata: { name: pick(r, TIERS) },
        spec: { order: Math.floor(r() * 3) * 100, defaultAction: pick(r, ["Deny", "Pass"]) },
      });
    } else {
      res = this.policy();
    }
    this.live.set(resourceKey(res), res);
    return { type: "upsert", resource: res, revision: this.revision };
  }
}

export const EXTERNAL_ADDRESSES = [
  "203.0.113.7",
  "203.0.113.200",
  "198.51.100.9",
  "192.0.2.1",
  "198.19.0.1",
];
