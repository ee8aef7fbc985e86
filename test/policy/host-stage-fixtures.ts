// Resources the host endpoint stage tests share: policies selecting `role == 'edge'`, the
// node-1 host endpoint (`eth0` by default) and a pod on node-1 that the policies select too,
// plus upsert/delete events for engine tests.
import type { ResourceEvent } from "../../src/engine/inputs.ts";
import { type Resource, resourceKey, validResource } from "../../src/model/index.ts";

/** A GlobalNetworkPolicy over the edge host endpoints (the spec may override the selector). */
export const edgePolicy = (name: string, spec: Record<string, unknown>): Resource =>
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "GlobalNetworkPolicy",
    metadata: { name },
    spec: { selector: "role == 'edge'", ...spec },
  });

/** node-1's host endpoint on `interfaceName`; `null`: none named (found by its expectedIPs). */
export const edgeHost = (interfaceName: string | null = "eth0"): Resource =>
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "HostEndpoint",
    metadata: { name: "node-1-eth0", labels: { role: "edge" } },
    spec: {
      node: "node-1",
      expectedIPs: ["198.19.0.1"],
      ...(interfaceName ? { interfaceName } : {}),
    },
  });

/** A workload on node-1 that edge policies select as well (they must not apply to it). */
export const edgePod: Resource = validResource({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web", namespace: "shop", labels: { role: "edge" } },
  spec: { nodeName: "node-1", containers: [{ name: "c" }] },
  status: { podIP: "198.18.0.1" },
});

export const up = (resource: Resource): ResourceEvent => ({ type: "upsert", resource });
export const down = (r: Resource): ResourceEvent => ({ type: "delete", key: resourceKey(r) });

/** A rule denying TCP to one port. */
export const denyTcp = (port: number) => ({
  action: "Deny",
  protocol: "TCP",
  destination: { ports: [port] },
});

/** The `web` NetworkPolicy of namespace shop over `app == 'web'`, with this spec's rules. */
export const webPolicy = (spec: Record<string, unknown>): Resource =>
  validResource({
    apiVersion: "microseg.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "web", namespace: "shop" },
    spec: { selector: "app == 'web'", ...spec },
  });
