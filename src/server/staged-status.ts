// Staged policies read with what they would deny: the flow store's would-deny tally for the
// policy the staged object stages, shown in its `status` on get and list. Computed on read and
// never written to the datastore, so traffic causes no revisions and no watch events.
import type { StoredResource } from "../datastore/index.ts";
import { policyName } from "../policy/index.ts";
import type { FlowService } from "./flow-service.ts";

const STAGED_KINDS = new Set([
  "StagedNetworkPolicy",
  "StagedGlobalNetworkPolicy",
  "StagedKubernetesNetworkPolicy",
]);

/** The name flow records give the staged policy (`wouldDenyBy`): `ns/name` or `name`. */
function flowLabel(r: StoredResource): string {
  const spec = (r as { spec?: { tier?: string } }).spec;
  const name =
    r.kind === "StagedKubernetesNetworkPolicy"
      ? r.metadata.name
      : policyName(r.metadata.name, spec?.tier ?? "default");
  return r.metadata.namespace ? `${r.metadata.namespace}/${name}` : name;
}

export function withStagedStatus(flows: FlowService): (r: StoredResource) => StoredResource {
  return (r) => {
    if (!STAGED_KINDS.has(r.kind)) return r;
    const status = (r as { status?: Record<string, unknown> }).status;
    return { ...r, status: { ...status, wouldDeny: flows.wouldDeny(flowLabel(r)) } } as never;
  };
}
