// Small hand-written clusters for table-driven semantics tests.
import { validResources } from "../../src/model/index.ts";
import { resolvePeer } from "../../src/policy/flow.ts";
import type { Protocol } from "../../src/policy/types.ts";
import { buildWorld } from "../../src/policy/world.ts";
import type { Resource } from "../corpus/corpus.ts";

export function namespace(name: string, labels: Record<string, string> = {}): Resource {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } };
}

export function pod(
  id: string,
  ip: string,
  labels: Record<string, string> = {},
  opts: {
    ports?: Array<{ name: string; port: number; protocol?: string }>;
    serviceAccount?: string;
  } = {},
): Resource {
  const [ns, name] = id.split("/") as [string, string];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels },
    spec: {
      ...(opts.serviceAccount ? { serviceAccountName: opts.serviceAccount } : {}),
      containers: [
        {
          name: "c",
          ports: (opts.ports ?? []).map((p) => ({
            name: p.name,
            containerPort: p.port,
            protocol: p.protocol ?? "TCP",
          })),
        },
      ],
    },
    status: { podIP: ip },
  };
}

export function policy(
  kind:
    | "NetworkPolicy"
    | "GlobalNetworkPolicy"
    | "StagedNetworkPolicy"
    | "StagedGlobalNetworkPolicy"
    | "StagedKubernetesNetworkPolicy",
  id: string,
  spec: Record<string, unknown>,
): Resource {
  const parts = id.split("/");
  const name = parts.at(-1)!;
  return {
    apiVersion: "microseg.io/v1",
    kind,
    metadata: parts.length === 2 ? { name, namespace: parts[0]! } : { name },
    spec,
  };
}

export function judge(
  resources: Resource[],
  from: string,
  to: string,
  port: number,
  protocol: Protocol = "TCP",
  extra: { icmp?: { type: number; code?: number }; staged?: boolean } = {},
) {
  const world = buildWorld(validResources(resources));
  const evaluator = extra.staged ? world.staged!.evaluator : world.evaluator;
  return evaluator.evaluate({
    source: resolvePeer(world.cluster, from, "from"),
    destination: resolvePeer(world.cluster, to, "to"),
    port,
    protocol,
    ...(extra.icmp ? { icmp: extra.icmp } : {}),
  });
}
