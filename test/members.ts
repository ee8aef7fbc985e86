// Set members written as text in tests (`198.18.0.1`, `198.18.0.0/24`, `198.18.0.2,TCP,8080`),
// turned into the engine's typed members. Tests only: inside microseg members never are text.
import {
  addressMember,
  addressPortMember,
  type MemberKey,
  memberKey,
  prefixMember,
  type SetMember,
} from "../src/engine/index.ts";
import { parseAddress, parseCidr } from "../src/net/cidr.ts";
import type { Protocol } from "../src/policy/index.ts";

export function member(text: string): SetMember {
  const [address, protocol, port] = text.split(",");
  if (protocol !== undefined && port !== undefined) {
    const proto: Protocol = /^\d+$/.test(protocol) ? Number(protocol) : (protocol as Protocol);
    return addressPortMember(parseAddress(address!), proto, Number(port));
  }
  return text.includes("/") ? prefixMember(parseCidr(text)) : addressMember(parseAddress(text));
}

export const members = (texts: readonly string[]): SetMember[] => texts.map(member);

export function memberMap(texts: readonly string[]): Map<MemberKey, SetMember> {
  return new Map(texts.map((t) => [memberKey(member(t)), member(t)]));
}
