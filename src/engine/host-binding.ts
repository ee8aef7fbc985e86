// Which of the node's interfaces a host endpoint's stages are bound to. A HostEndpoint naming
// its interface (or `*`, all of them) is bound to that name; one with `expectedIPs` only is
// bound, as Felix binds it, to the interfaces that hold one of those addresses now. The node's
// interfaces and their addresses are an input (the agent reads them from the kernel), so this
// stays pure.

/** Interface name -> the addresses it holds, canonical text. */
export type HostInterfaces = ReadonlyMap<string, readonly string[]>;

/**
 * The interface names, sorted; empty when the host endpoint names none and no interface holds
 * any of its addresses (the renderer then binds its stages to the addresses themselves).
 */
export function hostBinding(
  interfaceName: string | undefined,
  addresses: readonly string[],
  interfaces: HostInterfaces,
): readonly string[] {
  if (interfaceName !== undefined) return [interfaceName];
  const wanted = new Set(addresses);
  const out: string[] = [];
  for (const [name, held] of interfaces) if (held.some((a) => wanted.has(a))) out.push(name);
  return out.sort();
}

export function sameInterfaces(a: HostInterfaces, b: HostInterfaces): boolean {
  if (a.size !== b.size) return false;
  for (const [name, held] of a) {
    const other = b.get(name);
    if (!other || other.length !== held.length || held.some((x, i) => other[i] !== x)) return false;
  }
  return true;
}
