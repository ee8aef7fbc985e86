// Who holds each local address: in a table as read back from the kernel, and in a state about
// to be rendered, in the same terms (the endpoint the dispatch element's comment names, and for
// a workload the interface its source pair names), so the two compare. Not the chain the element
// leads to: endpoints with the same tiers share one, and an endpoint whose tiers changed keeps
// its address. An agent that starts on
// a table an earlier agent left knows nothing of the endpoints that agent rendered; the table
// does, and the addresses whose holder differs are those whose connection entries must go
// before anyone else gets them (src/agent/enforcer.ts).
import type { DataplaneState, EndpointId } from "../../engine/index.ts";
import { tryParseAddress } from "../../net/cidr.ts";
import type { TableModel } from "../../nft/index.ts";
import { dispatchMap, holderComment, sourceSet } from "./names.ts";

/** The holder of one address: its endpoint (`holderComment`), and its interface if a workload. */
export interface AddressHolder {
  readonly endpoint: string | undefined;
  readonly interfaceName?: string;
}

const canonical = (text: string) => tryParseAddress(text)?.text ?? text;

/** The holders the table's dispatch maps and source pairs name, by canonical address. */
export function tableHolders(table: TableModel): Map<string, AddressHolder> {
  const sets = new Map(table.sets.map((s) => [s.name, s]));
  const holders = new Map<string, AddressHolder>();
  for (const f of [4, 6] as const) {
    const interfaces = new Map<string, string>();
    for (const el of sets.get(sourceSet(f))?.elements ?? []) {
      const [iface, address] = el.key;
      if (typeof iface === "string" && typeof address === "string")
        interfaces.set(canonical(address), iface);
    }
    for (const el of sets.get(dispatchMap("ingress", f))?.elements ?? []) {
      const [address] = el.key;
      const value = el.value;
      if (typeof address !== "string" || typeof value !== "object" || !("chain" in value)) continue;
      const key = canonical(address);
      const iface = interfaces.get(key);
      holders.set(key, { endpoint: el.comment, ...(iface ? { interfaceName: iface } : {}) });
    }
  }
  return holders;
}

/** The holders a full render of `state` gives: the least id of an address's claimants. */
export function stateHolders(state: DataplaneState): Map<string, AddressHolder> {
  const owners = new Map<string, EndpointId>();
  for (const [id, e] of state.endpoints) {
    for (const a of e.addresses) {
      const key = canonical(a);
      const held = owners.get(key);
      if (held === undefined || id < held) owners.set(key, id);
    }
  }
  const holders = new Map<string, AddressHolder>();
  for (const [address, id] of owners) {
    const e = state.endpoints.get(id)!;
    const iface = e.kind === "workload" ? e.interfaceName : undefined;
    holders.set(address, {
      endpoint: holderComment(id),
      ...(iface ? { interfaceName: iface } : {}),
    });
  }
  return holders;
}

/** Addresses `before` held that `after` holds otherwise (another endpoint or interface) or not. */
export function changedHands(
  before: ReadonlyMap<string, AddressHolder>,
  after: ReadonlyMap<string, AddressHolder>,
): string[] {
  return [...before]
    .filter(([address, was]) => {
      const now = after.get(address);
      return (
        now === undefined ||
        now.endpoint !== was.endpoint ||
        now.interfaceName !== was.interfaceName
      );
    })
    .map(([address]) => address);
}

/** `state` with these addresses held by no endpoint: what to render before they change hands. */
export function withoutAddresses(
  state: DataplaneState,
  addresses: readonly string[],
): DataplaneState {
  const gone = new Set(addresses);
  const endpoints = new Map(
    [...state.endpoints].map(([id, e]) => [
      id,
      { ...e, addresses: e.addresses.filter((a) => !gone.has(canonical(a))) },
    ]),
  );
  return { ...state, endpoints };
}
