// Names of the objects microseg keeps in its table. Engine ids (canonical selector text, policy
// and endpoint keys) can be long and hold any character, so objects are named by a short hash
// of the id: stable across restarts and nodes, and the same id always names the same object.
// The id itself goes into the object's comment, cleaned to what nft accepts.

import { createHash } from "node:crypto";
import type {
  DpEndpoint,
  DpTierRef,
  EndpointId,
  PolicyId,
  SetId,
  SetKind,
} from "../../engine/index.ts";
import type { IpFamily } from "../../net/cidr.ts";
import type { Direction } from "../../policy/index.ts";

export const hashOf = (id: string, length = 12): string =>
  createHash("sha256").update(id).digest("hex").slice(0, length);

/**
 * `a4-<hash>` / `a6-<hash>`: host addresses of an address or node set; `p4-` / `p6-`: a
 * named-port set's `address . protocol . port` keys.
 */
export function setName(id: SetId, kind: SetKind, family: IpFamily): string {
  return `${kind === "named-ports" ? "p" : "a"}${family}-${hashOf(id)}`;
}

/** `n4-<hash>` / `n6-<hash>`: the prefixes of an address or node set (an interval set). */
export const prefixSetName = (id: SetId, family: IpFamily): string => `n${family}-${hashOf(id)}`;

const dir = (d: Direction) => (d === "ingress" ? "in" : "out");

export const policyChain = (id: PolicyId, d: Direction): string => `pol-${hashOf(id)}-${dir(d)}`;

/** The endpoint's tiers for one direction. */
export const tiersOf = (e: Pick<DpEndpoint, "ingress" | "egress">, d: Direction) =>
  d === "ingress" ? e.ingress : e.egress;

/** The tiers as text: what an endpoint chain holds, and what names it. */
export const tiersText = (tiers: readonly DpTierRef[]): string =>
  JSON.stringify(tiers.map((t) => [t.name, t.defaultAction, t.policies]));

/**
 * The endpoint chain of every local endpoint with these tiers for the direction, named by
 * their hash: endpoints with the same policies (replicas) share one, so a new replica adds no
 * chain, only elements (issue 13: each chain cost every commit time in libnftables' cache and
 * the kernel's jump validation).
 */
export function endpointChain(e: Pick<DpEndpoint, "ingress" | "egress">, d: Direction): string {
  const known = chainNames.get(e);
  if (known) return known[d];
  const names = {
    ingress: `ep-${hashOf(tiersText(e.ingress))}-in`,
    egress: `ep-${hashOf(tiersText(e.egress))}-out`,
  };
  chainNames.set(e, names);
  return names[d];
}

/** Endpoint objects are replaced, never changed: their chain names, hashed once. */
const chainNames = new WeakMap<object, Record<Direction, string>>();

/**
 * The comment of a dispatch element: which endpoint holds the address (its chain may be shared
 * with others of the same tiers). A hash of the id leads, so two ids that the 128-byte limit
 * cuts to one text still differ; the id follows for whoever reads the table.
 */
export const holderComment = (id: EndpointId): string => commentOf(`${hashOf(id, 16)} ${id}`);

/** Verdict maps from a local endpoint's address to its chain for the direction. */
export const dispatchMap = (d: Direction, family: IpFamily): string => `ep-${dir(d)}${family}`;

/** Addresses of local workloads: they may enter the node on their own interface only. */
export const workloadSet = (family: IpFamily): string => `wl${family}`;

/** `interface . address` of every local workload: the sources its interface may carry. */
export const sourceSet = (family: IpFamily): string => `src${family}`;

/**
 * `address . address` of every local workload: matched against `saddr . ct original saddr`
 * (or daddr), since nft cannot compare two fields, to tell an end of a connection sending.
 */
export const selfSet = (family: IpFamily): string => `self${family}`;

/** The chain of one host endpoint stage and direction (`untracked`, `prednat`, `forward`). */
export const hostStageChain = (id: EndpointId, stage: string, d: Direction): string =>
  `hs-${hashOf(id)}-${stage}-${dir(d)}`;

/**
 * Regular chains that send packets through host endpoint interfaces to their stage chains,
 * rewritten whole when a host endpoint's stages change (there are few host endpoints).
 */
export const HEP_UNTRACKED_IN = "hep-untracked-in";
export const HEP_UNTRACKED_OUT = "hep-untracked-out";
export const HEP_PREDNAT = "hep-prednat";
export const HEP_FORWARD = "hep-forward";
export const HEP_DISPATCH = [HEP_UNTRACKED_IN, HEP_UNTRACKED_OUT, HEP_PREDNAT, HEP_FORWARD];

/**
 * Regular chains of the base chains: source validation, workload to node, node to workload,
 * and the checks of a related packet (forward, input and output share them).
 */
export const FROM_WORKLOAD = "from-workload";
export const WORKLOAD_TO_HOST = "workload-to-host";
export const HOST_TO_WORKLOAD = "host-to-workload";
export const CT_RELATED = "ct-related";

const MAX_COMMENT_BYTES = 128;

/** Text as an nft comment: no double quotes or control characters, at most 128 bytes. */
export function commentOf(text: string): string {
  const clean = text.replace(/"/g, "'").replace(/\p{Cc}/gu, " ");
  if (Buffer.byteLength(clean) <= MAX_COMMENT_BYTES) return clean;
  // No more characters than bytes can fit (each is one byte at least): a long text (an endpoint
  // chain's comment lists its policies) is cut in one step, not popped a character at a time.
  const chars = Array.from(clean.slice(0, MAX_COMMENT_BYTES * 2)).slice(0, MAX_COMMENT_BYTES);
  while (Buffer.byteLength(chars.join("")) > MAX_COMMENT_BYTES - 3) chars.pop();
  return `${chars.join("")}…`;
}

/** Fast path: a peer's address -> its identity's number (a data map: never validated). */
export const identityMap = (family: IpFamily): string => `ids${family}`;

/**
 * Fast path: the one chain per direction that looks the peer's identity and the verdict up;
 * every endpoint chain jumps to it. `hostAllowed`: its twin for packets a host endpoint stage
 * allowed (MARK_HOST_ALLOWED), which puts that bit back after the lookup.
 */
export const identityLookupChain = (d: Direction, hostAllowed = false): string =>
  `ids-${dir(d)}${hostAllowed ? "-h" : ""}`;

/**
 * Where the identities' verdict elements go, per direction and family (data maps of decision
 * numbers, keyed by the peer identity's number first): `port`, `x4-in`: `identity . local
 * address . protocol . port` (hash); `range`, `v4-in`: the same key with a port range
 * (interval); `rest`, `w4-in`: `identity . local address . protocol` (hash), for every port the
 * other two do not hold.
 */
export type VerdictMapKind = "port" | "range" | "rest";

const VERDICT_PREFIX: Record<VerdictMapKind, string> = { port: "x", range: "v", rest: "w" };

export const verdictMap = (d: Direction, family: IpFamily, kind: VerdictMapKind): string =>
  `${VERDICT_PREFIX[kind]}${family}-${dir(d)}`;

/** Fast path: a decision's number -> jump to the deciding policy's chain or to id-allow. */
export const decisionMap = (d: Direction): string => `decide-${dir(d)}`;

/** Fast path: the verdict when every tier let the packet through. */
export const IDENTITY_ALLOW = "id-allow";
