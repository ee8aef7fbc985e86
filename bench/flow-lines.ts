// Synthetic ulogd2 JSON lines for the flow benches: records between fixed pairs of addresses,
// half an explicit Deny rule of a random policy, half its tier's default deny, one per ms from t0.
import { formatLogPrefix } from "../src/dataplane/nftables/log-prefix.ts";
import { policyId } from "../src/engine/index.ts";
import type { World } from "../src/policy/index.ts";

export interface LoggedPolicy {
  readonly tier: string;
  readonly id: string;
}

export function loggedPolicies(world: World): LoggedPolicy[] {
  return world.program.tiers.flatMap((t) =>
    t.policies.map((p) => ({ tier: t.name, id: policyId(p.ref) })),
  );
}

export function flowLines(
  policies: readonly LoggedPolicy[],
  pairs: readonly (readonly [string, string])[],
  n: number,
  t0: number,
  random: () => number,
): string[] {
  return Array.from({ length: n }, (_, i) => {
    const p = policies[Math.floor(random() * policies.length)]!;
    const deny = random() < 0.5;
    return JSON.stringify({
      "raw.pktlen": 60,
      "oob.prefix": deny
        ? formatLogPrefix({ action: "T", direction: "ingress", tier: p.tier })
        : formatLogPrefix({
            action: "D",
            direction: "ingress",
            tier: p.tier,
            policy: p.id as never,
            rule: 0,
          }),
      "oob.time.sec": Math.floor((t0 + i) / 1000),
      "oob.time.usec": ((t0 + i) % 1000) * 1000,
      "oob.family": 2,
      "raw.label": 1,
      "ip.protocol": 6,
      src_ip: pairs[i % pairs.length]![0],
      dest_ip: pairs[i % pairs.length]![1],
      src_port: 30000 + (i % 30000),
      dest_port: [80, 443, 5432, 6379][i % 4],
      "tcp.syn": 1,
      "tcp.ack": 0,
    });
  });
}
