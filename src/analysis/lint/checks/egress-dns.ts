// An egress default deny without DNS: endpoints whose egress is isolated and that may send
// 53/UDP nowhere, so every name lookup fails.
import { addressOf, firstOf, parseAddress } from "../../../net/cidr.ts";
import type { Endpoint, FlowPeer, Policy, World } from "../../../policy/index.ts";
import type { Check, Finding } from "../finding.ts";
import { PolicyObjects } from "../objects.ts";
import { policyKey, subjects } from "../walk.ts";

/** Documentation addresses (RFC 5737, RFC 3849) standing for a resolver outside the cluster. */
const OUTSIDE = [parseAddress("203.0.113.53"), parseAddress("2001:db8::53")];

const likelyResolver = (e: Endpoint) =>
  e.containerPorts.some((p) => p.port === 53) ||
  e.labels["k8s-app"] === "kube-dns" ||
  e.labels["k8s-app"] === "coredns";

/**
 * Where lookups go: workloads that look like resolvers (declare port 53, kube-dns labels),
 * network sets, and an address outside the cluster. Any other workload allowed on 53/UDP (a
 * silo-mate allowed on every port) is no resolver.
 */
function resolvers(world: World): FlowPeer[] {
  const { cluster } = world;
  return [
    ...cluster
      .workloads()
      .filter(likelyResolver)
      .map((w) => cluster.peerOf(w)),
    ...cluster.networkSets.flatMap((s) =>
      s.nets.map((n) => ({ address: addressOf(n.family, firstOf(n)) })),
    ),
    ...OUTSIDE.map((address) => cluster.peerAt(address)),
  ];
}

export const egressWithoutDns: Check = {
  id: "egress.no-dns",
  severity: "warning",
  summary: "an egress default deny without DNS: selected endpoints may send 53/UDP nowhere",
  run(input) {
    const { world } = input;
    const candidates = resolvers(world);
    const objects = new PolicyObjects(input.resources);
    const blind = new Map<string, { policy: Policy; endpoints: Endpoint[] }>();
    for (const e of subjects(world)) {
      const selection = world.evaluator.selection(e, "egress");
      if (selection.length === 0) continue;
      const source = world.cluster.peerOf(e);
      const canResolve = candidates.some(
        (destination) =>
          destination.endpoint?.id !== e.id &&
          world.evaluator.evaluate({ source, destination, port: 53, protocol: "UDP" }).egress
            .allowed,
      );
      if (canResolve) continue;
      for (const { policies } of selection) {
        for (const policy of policies) {
          const key = policyKey(policy.ref);
          const entry = blind.get(key) ?? { policy, endpoints: [] };
          entry.endpoints.push(e);
          blind.set(key, entry);
        }
      }
    }
    return [...blind.values()].map(
      ({ policy, endpoints }): Finding => ({
        check: this.id,
        severity: this.severity,
        object: objects.nameOf(policy.ref),
        path: "spec.egress",
        message:
          `isolates egress of ${endpoints.length} endpoint(s) (e.g. ${endpoints[0]!.id}) that may send DNS (53/UDP) ` +
          "to no resolver: name lookups fail; allow 53/UDP (and TCP) to the cluster's DNS",
      }),
    );
  },
};
