// What a node needs of another node's pod: only what deriving its endpoint reads (podEndpoint in
// endpoints.ts, deriveResource in derive.ts): name, namespace and labels (with the namespace's
// and the service account's, the labels selectors see), the service account, host networking,
// the declared container ports (named ports), the phase (finished pods are ignored) and the
// addresses. Everything else a cluster's pod carries (managedFields, annotations, images,
// env, volumes, conditions) is dropped but the controller reference (buildWorld, which the
// node's flow logs use, reads it to tell which pods a controller stands for), so an agent holds a few hundred
// bytes per peer rather than the whole object, and a change to a peer that touches nothing
// kept (a condition, a restart count) leaves its view equal and need not reach the engine.
// The node's own pods stay whole.
import type { Pod, Resource } from "../model/index.ts";

type Container = Pod["spec"]["containers"][number];
type Status = NonNullable<Pod["status"]>;

function ports(containers: readonly Container[]): Container[] {
  const out: Container[] = [];
  for (const c of containers) {
    if (!c.ports || c.ports.length === 0) continue;
    out.push({
      ports: c.ports.map((p) => ({
        containerPort: p.containerPort,
        protocol: p.protocol,
        ...(p.name === undefined ? {} : { name: p.name }),
      })),
    });
  }
  return out;
}

function status(s: Status | undefined): Status | undefined {
  if (!s) return undefined;
  const out: Status = {
    ...(s.phase === undefined ? {} : { phase: s.phase }),
    ...(s.podIP === undefined ? {} : { podIP: s.podIP }),
    ...(s.podIPs === undefined ? {} : { podIPs: s.podIPs.map((p) => ({ ip: p.ip })) }),
    ...(s.hostIP === undefined ? {} : { hostIP: s.hostIP }),
  };
  return out;
}

/** A pod of another node as `node` needs it; anything else (its own pods included) as it is. */
export function peerView(r: Resource, node: string): Resource {
  if (r.kind !== "Pod" || r.spec.nodeName === node) return r;
  return podPeerView(r);
}

/**
 * A pod as every node but its own sees it: the view does not depend on which node looks, so
 * the API server serializes it once for all of them and can tell once, for all of them,
 * whether an update changed it.
 */
export function podPeerView(r: Pod): Pod {
  const { metadata, spec } = r;
  const s = status(r.status);
  const owner = metadata.ownerReferences?.find((o) => o.controller !== false);
  const owners = owner && [
    {
      kind: owner.kind,
      name: owner.name,
      ...(owner.controller === undefined ? {} : { controller: owner.controller }),
    },
  ];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      ...(metadata.labels === undefined ? {} : { labels: metadata.labels }),
      ...(owners === undefined ? {} : { ownerReferences: owners }),
    },
    spec: {
      ...(spec.nodeName === undefined ? {} : { nodeName: spec.nodeName }),
      ...(spec.serviceAccountName === undefined
        ? {}
        : { serviceAccountName: spec.serviceAccountName }),
      ...(spec.hostNetwork === undefined ? {} : { hostNetwork: spec.hostNetwork }),
      containers: ports(spec.containers),
    },
    ...(s === undefined ? {} : { status: s }),
  };
}
