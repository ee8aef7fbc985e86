// The growth of the pool model for N interacting functions. Function k is one requirement, one
// policy: workloads labelled `serves: f-k` accept connections from workloads labelled
// `client-of: f-k`. A workload w(i, j) is a client of function i and serves function j, and
// lives in function j's segment (namespace). With labels that is N policies; in the pool model
// every (client-of, serves) combination is a pool of its own (the cross product, N^2), and each
// client pool needs a firewall set towards every pool serving its function in another segment.
import { type Resource, validResources } from "../model/index.ts";

const fn = (k: number) => `f-${k}`;

/** The address the scenario gives workload number `n` (198.18.0.0/15, the lab's range). */
function address(n: number): string {
  return `198.${18 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

export function growthScenario(functions: number): Resource[] {
  const raw: unknown[] = [];
  for (let k = 0; k < functions; k++) {
    raw.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: fn(k) } });
    raw.push({
      apiVersion: "microseg.io/v1",
      kind: "GlobalNetworkPolicy",
      metadata: { name: fn(k) },
      spec: {
        selector: `serves == "${fn(k)}"`,
        types: ["Ingress"],
        ingress: [
          {
            action: "Allow",
            protocol: "TCP",
            source: { selector: `client-of == "${fn(k)}"` },
            destination: { ports: [8080] },
          },
        ],
      },
    });
  }
  let n = 1;
  for (let i = 0; i < functions; i++) {
    for (let j = 0; j < functions; j++) {
      raw.push({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `w-${i}-${j}`,
          namespace: fn(j),
          labels: { "client-of": fn(i), serves: fn(j) },
        },
        spec: { containers: [{ name: "c", ports: [{ containerPort: 8080 }] }] },
        status: { podIPs: [{ ip: address(n++) }] },
      });
    }
  }
  return validResources(raw);
}

/**
 * The pool model's figures for the scenario in closed form (the test checks them against
 * `cost` for small N): one pool per workload kind, and from each pool w(i, j) with i != j a
 * firewall set to the N pools w(k, i) serving function i, one rule (8080/TCP) each.
 */
export function growthPoolModel(functions: number): { pools: number; firewallSets: number } {
  const n = functions;
  return { pools: n * n, firewallSets: n * (n - 1) * n };
}
