// A dataplane in memory: applies the engine's deltas exactly as a kernel dataplane would and
// judges packets by address alone, for simulation, explain and for checking the engine.

import type {
  DataplaneState,
  Delta,
  DpEndpoint,
  DpEntity,
  DpPolicy,
  DpRule,
  DpTierRef,
  EndpointId,
  MemberKey,
  PolicyId,
  PortRange,
  SetId,
  SetMember,
  SetSpec,
} from "../../engine/index.ts";
import { addressMember, addressPortMember, memberKey } from "../../engine/index.ts";
import { type Address, anyContains, type Cidr, parseAddress } from "../../net/cidr.ts";
import type { Direction, IcmpMatch, Protocol } from "../../policy/index.ts";
import { getOrCreate } from "../../util/maps.ts";

export interface Packet {
  readonly source: string;
  readonly destination: string;
  readonly protocol: Protocol;
  readonly port?: number;
  readonly sourcePort?: number;
  readonly icmp?: IcmpMatch;
}

export interface PacketVerdict {
  readonly allowed: boolean;
  readonly egress: boolean;
  readonly ingress: boolean;
}

export class DataplaneError extends Error {
  readonly code = "dataplane.inconsistent";
}

interface LiveSet {
  readonly spec: SetSpec;
  readonly members: Map<MemberKey, SetMember>;
  /** Prefix members, for containment checks. */
  readonly nets: Map<MemberKey, Cidr>;
}

export class MemoryDataplane {
  readonly #sets = new Map<SetId, LiveSet>();
  readonly #policies = new Map<PolicyId, DpPolicy>();
  readonly #endpoints = new Map<EndpointId, DpEndpoint>();
  /** Endpoints claiming each address; the smallest id owns it, as in the kernel renderer. */
  readonly #byAddress = new Map<string, Set<EndpointId>>();

  /** Applies a batch; a delta referring to something missing is a bug upstream and throws. */
  applyDeltas(deltas: readonly Delta[]): void {
    for (const d of deltas) {
      switch (d.type) {
        case "set-added":
          if (this.#sets.has(d.set.id)) throw new DataplaneError(`set ${d.set.id} added twice`);
          this.#sets.set(d.set.id, { spec: d.set, members: new Map(), nets: new Map() });
          break;
        case "set-members-added": {
          const set = this.set(d.id);
          for (const m of d.members) {
            const key = memberKey(m);
            set.members.set(key, m);
            if (m.kind === "prefix") set.nets.set(key, m.cidr);
          }
          break;
        }
        case "set-members-removed": {
          const set = this.set(d.id);
          for (const m of d.members) {
            const key = memberKey(m);
            set.members.delete(key);
            set.nets.delete(key);
          }
          break;
        }
        case "set-removed":
          this.set(d.id);
          this.#sets.delete(d.id);
          break;
        case "policy-upserted":
          for (const id of setsOf(d.policy)) this.set(id);
          this.#policies.set(d.policy.id, d.policy);
          break;
        case "policy-removed":
          this.#policies.delete(d.id);
          break;
        case "endpoint-upserted": {
          for (const t of [...d.endpoint.ingress, ...d.endpoint.egress]) {
            for (const p of t.policies) {
              if (!this.#policies.has(p))
                throw new DataplaneError(`endpoint ${d.endpoint.id} jumps to missing policy ${p}`);
            }
          }
          this.removeEndpoint(d.endpoint.id);
          this.#endpoints.set(d.endpoint.id, d.endpoint);
          for (const a of d.endpoint.addresses)
            getOrCreate(this.#byAddress, a, () => new Set()).add(d.endpoint.id);
          break;
        }
        case "endpoint-removed":
          this.removeEndpoint(d.id);
          break;
      }
    }
  }

  state(): DataplaneState {
    const sets = new Map(
      [...this.#sets].map(([id, s]) => [id, { spec: s.spec, members: s.members }]),
    );
    return { sets, policies: this.#policies, endpoints: this.#endpoints };
  }

  verdict(packet: Packet): PacketVerdict {
    const src = parseAddress(packet.source);
    const dst = parseAddress(packet.destination);
    const srcEp = this.owner(src.text);
    const dstEp = this.owner(dst.text);
    if (srcEp && dstEp && srcEp.id === dstEp.id)
      return { allowed: true, egress: true, ingress: true };
    const ctx = { packet, src, dst };
    const egress = srcEp ? this.judge(srcEp, "egress", ctx) : true;
    const ingress = dstEp ? this.judge(dstEp, "ingress", ctx) : true;
    return { allowed: egress && ingress, egress, ingress };
  }

  private judge(ep: DpEndpoint, direction: Direction, ctx: MatchContext): boolean {
    return this.#decide(direction === "ingress" ? ep.ingress : ep.egress, direction, ctx) ?? true;
  }

  /**
   * Walks tiers for a packet: true on an Allow, false on a Deny or a tier's default Deny,
   * undefined when nothing decided (stage tiers end in Pass). `source`/`destination` are
   * the packet's addresses as that hook sees them.
   */
  decide(tiers: readonly DpTierRef[], direction: Direction, packet: Packet): boolean | undefined {
    const ctx = { packet, src: parseAddress(packet.source), dst: parseAddress(packet.destination) };
    return this.#decide(tiers, direction, ctx);
  }

  #decide(
    tiers: readonly DpTierRef[],
    direction: Direction,
    ctx: MatchContext,
  ): boolean | undefined {
    nextTier: for (const tier of tiers) {
      for (const pid of tier.policies) {
        const policy = this.#policies.get(pid)!;
        for (const rule of direction === "ingress" ? policy.ingress : policy.egress) {
          if (!this.ruleMatches(rule, ctx)) continue;
          if (rule.action === "Log") continue;
          if (rule.action === "Pass") continue nextTier;
          return rule.action === "Allow";
        }
      }
      if (tier.defaultAction === "Deny") return false;
    }
    return undefined;
  }

  /** The endpoint that owns an address (the smallest id of those claiming it). */
  endpointAt(address: string): DpEndpoint | undefined {
    return this.owner(parseAddress(address).text);
  }

  /** Host endpoints with stages, by id. */
  stagedHosts(): DpEndpoint[] {
    return [...this.#endpoints.values()]
      .filter((e) => e.hostStages !== undefined)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private ruleMatches(r: DpRule, { packet, src, dst }: MatchContext): boolean {
    if (r.protocol !== undefined && r.protocol !== packet.protocol) return false;
    if (r.notProtocol !== undefined && r.notProtocol === packet.protocol) return false;
    if (r.ipVersion !== undefined && r.ipVersion !== src.family) return false;
    if (r.icmp && !icmpMatches(r.icmp, packet.icmp)) return false;
    if (r.notIcmp && icmpMatches(r.notIcmp, packet.icmp)) return false;
    return (
      this.entityMatches(r.source, src, packet.sourcePort, packet.protocol) &&
      this.entityMatches(r.destination, dst, packet.port, packet.protocol)
    );
  }

  private entityMatches(
    e: DpEntity,
    addr: Address,
    port: number | undefined,
    protocol: Protocol,
  ): boolean {
    if (e.set && !this.inSet(e.set, addr)) return false;
    if (e.notSet && this.inSet(e.notSet, addr)) return false;
    if (e.nets && !anyContains(e.nets, addr)) return false;
    if (e.notNets && anyContains(e.notNets, addr)) return false;
    if (e.ports && !this.portMatches(e.ports, e.namedPortSets ?? [], addr, port, protocol))
      return false;
    if (e.notPorts && this.portMatches(e.notPorts, e.notNamedPortSets ?? [], addr, port, protocol))
      return false;
    if (e.nodeSet && !this.inSet(e.nodeSet, addr)) return false;
    return true;
  }

  private portMatches(
    ranges: readonly PortRange[],
    named: readonly SetId[],
    addr: Address,
    port: number | undefined,
    protocol: Protocol,
  ): boolean {
    if (port === undefined) return false;
    if (ranges.some((r) => port >= r.from && port <= r.to)) return true;
    const key = memberKey(addressPortMember(addr, protocol, port));
    return named.some((id) => this.set(id).members.has(key));
  }

  private inSet(id: SetId, addr: Address): boolean {
    const set = this.set(id);
    return (
      set.members.has(memberKey(addressMember(addr))) || anyContains([...set.nets.values()], addr)
    );
  }

  private set(id: SetId): LiveSet {
    const set = this.#sets.get(id);
    if (!set) throw new DataplaneError(`set ${id} is missing`);
    return set;
  }

  private owner(address: string): DpEndpoint | undefined {
    const ids = this.#byAddress.get(address);
    if (!ids || ids.size === 0) return undefined;
    let smallest: EndpointId | undefined;
    for (const id of ids) if (smallest === undefined || id < smallest) smallest = id;
    return this.#endpoints.get(smallest!);
  }

  private removeEndpoint(id: EndpointId): void {
    const old = this.#endpoints.get(id);
    if (!old) return;
    this.#endpoints.delete(id);
    for (const a of old.addresses) {
      const ids = this.#byAddress.get(a);
      ids?.delete(id);
      if (ids?.size === 0) this.#byAddress.delete(a);
    }
  }
}

interface MatchContext {
  readonly packet: Packet;
  readonly src: Address;
  readonly dst: Address;
}

function icmpMatches(m: IcmpMatch, icmp: IcmpMatch | undefined): boolean {
  if (!icmp || icmp.type !== m.type) return false;
  return m.code === undefined || icmp.code === m.code;
}

function setsOf(p: DpPolicy): SetId[] {
  const out: SetId[] = [];
  for (const r of [...p.ingress, ...p.egress]) {
    for (const e of [r.source, r.destination]) {
      for (const id of [
        e.set,
        e.notSet,
        e.nodeSet,
        ...(e.namedPortSets ?? []),
        ...(e.notNamedPortSets ?? []),
      ]) {
        if (id) out.push(id);
      }
    }
  }
  return out;
}
