// Set members as data: a workload's or node's address, a network set's prefix, or an address
// with the protocol and port a named port resolves to there. Text is made only at the edges
// (nft elements, test dumps); inside, `memberKey` is the one identity of a member, used to
// reference-count and de-duplicate it.
import type { Address, Cidr, IpFamily } from "../net/cidr.ts";
import type { Protocol } from "../policy/index.ts";

export type SetMember =
  | { readonly kind: "address"; readonly address: Address }
  | { readonly kind: "prefix"; readonly cidr: Cidr }
  | {
      readonly kind: "address-port";
      readonly address: Address;
      readonly protocol: Protocol;
      readonly port: number;
    };

/** A key per member: address and prefix texts never collide (a prefix always has its length). */
export type MemberKey = string & { readonly __brand: "MemberKey" };

export const addressMember = (address: Address): SetMember => ({ kind: "address", address });

export const prefixMember = (cidr: Cidr): SetMember => ({ kind: "prefix", cidr });

export const addressPortMember = (
  address: Address,
  protocol: Protocol,
  port: number,
): SetMember => ({
  kind: "address-port",
  address,
  protocol,
  port,
});

export function memberKey(m: SetMember): MemberKey {
  switch (m.kind) {
    case "address":
      return m.address.text as MemberKey;
    case "prefix":
      return m.cidr.text as MemberKey;
    case "address-port":
      return `${m.address.text},${m.protocol},${m.port}` as MemberKey;
  }
}

export function memberFamily(m: SetMember): IpFamily {
  return m.kind === "prefix" ? m.cidr.family : m.address.family;
}
