// From the compiled program back to what the user wrote: the resource behind a policy, its name
// as findings print it, and the field path of a rule.
import { apiGroupOf, type Resource } from "../../model/index.ts";
import { type Direction, type PolicyRef, policyLabel, policyName } from "../../policy/index.ts";

/** `networking.k8s.io/NetworkPolicy shop/web-in`, `Pod shop/web-0`, `microseg.io/Tier security`. */
export function objectName(r: Resource): string {
  const group = apiGroupOf(r.apiVersion);
  const ns = r.metadata.namespace ? `${r.metadata.namespace}/` : "";
  return `${group ? `${group}/` : ""}${r.kind} ${ns}${r.metadata.name}`;
}

const refKey = (ref: PolicyRef) => `${ref.kind}\u0000${ref.namespace ?? ""}\u0000${ref.name}`;

/** The PolicyRef the policy layer gives an enforced policy resource; undefined for other kinds. */
function policyRefOf(r: Resource): PolicyRef | undefined {
  const namespace = r.metadata.namespace;
  switch (r.kind) {
    case "NetworkPolicy":
      if (r.apiVersion === "networking.k8s.io/v1")
        return {
          kind: "KubernetesNetworkPolicy",
          namespace: namespace ?? "",
          name: r.metadata.name,
        };
      return {
        kind: "NetworkPolicy",
        name: policyName(r.metadata.name, r.spec.tier),
        ...(namespace !== undefined ? { namespace } : {}),
      };
    case "GlobalNetworkPolicy":
      return { kind: r.kind, name: policyName(r.metadata.name, r.spec.tier) };
    case "AdminNetworkPolicy":
    case "BaselineAdminNetworkPolicy":
      return { kind: r.kind, name: r.metadata.name };
    default:
      return undefined;
  }
}

export class PolicyObjects {
  readonly #byRef = new Map<string, Resource>();

  constructor(resources: readonly Resource[]) {
    for (const r of resources) {
      const ref = policyRefOf(r);
      if (ref) this.#byRef.set(refKey(ref), r);
    }
  }

  resourceOf(ref: PolicyRef): Resource | undefined {
    return this.#byRef.get(refKey(ref));
  }

  /** The policy's name as findings print it (the resource's, else the compiled reference). */
  nameOf(ref: PolicyRef): string {
    const r = this.resourceOf(ref);
    if (r) return objectName(r);
    return policyLabel(ref);
  }
}

export const isCalico = (ref: PolicyRef) =>
  ref.kind === "NetworkPolicy" || ref.kind === "GlobalNetworkPolicy";

export function rulePath(direction: Direction, index: number): string {
  return `spec.${direction}[${index}]`;
}

/** The field of a rule that names the peer: Calico's source/destination, Kubernetes' from/to. */
export function peerField(ref: PolicyRef, direction: Direction): string {
  if (isCalico(ref)) return direction === "ingress" ? "source" : "destination";
  return direction === "ingress" ? "from" : "to";
}

/** The field that selects a policy's endpoints. */
export function subjectField(ref: PolicyRef): string {
  if (isCalico(ref)) return "spec.selector";
  if (ref.kind === "KubernetesNetworkPolicy") return "spec.podSelector";
  return "spec.subject";
}
