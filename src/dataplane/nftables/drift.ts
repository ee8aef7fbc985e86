// Drift: the live table against what the engine's state renders to. The desired table is the
// full render applied to a fake, so both sides are the same canonical dump (dumpSorted) and
// differ only where the kernel really holds something else. Differences are reported per
// object (chain, set, map), with the lines one side has and the other lacks.

import type { DataplaneState } from "../../engine/index.ts";
import type { Nftables } from "../../nft/index.ts";
import { dumpSorted, MemoryNftables } from "../../nft/index.ts";
import type { EnforcementConfig } from "./enforcement.ts";
import { NftRenderer } from "./renderer.ts";

export interface ObjectDrift {
  /** `chain NAME`, `set NAME`, `map NAME` or `table`. */
  readonly object: string;
  /** Lines of the desired dump the live table lacks. */
  readonly missing: readonly string[];
  /** Lines the live table has beyond the desired ones. */
  readonly unexpected: readonly string[];
}

export interface DriftReport {
  readonly inSync: boolean;
  readonly objects: readonly ObjectDrift[];
}

export async function desiredDump(cfg: EnforcementConfig, state: DataplaneState): Promise<string> {
  const fake = new MemoryNftables();
  await fake.run(new NftRenderer(cfg).full(state));
  return fake.dump();
}

/** Which object a dump line belongs to: `add rule inet t CHAIN ...` -> `chain CHAIN`. */
function objectOf(line: string): string {
  const [, kind, , , name] = line.split(" ");
  if (kind === "table") return "table";
  if (kind === "rule") return `chain ${name}`;
  if (kind === "element") return `elements of ${name}`;
  return `${kind} ${name}`;
}

function byObject(dump: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of dump.split("\n")) {
    if (line === "") continue;
    const key = objectOf(line);
    const lines = out.get(key);
    if (lines) lines.push(line);
    else out.set(key, [line]);
  }
  return out;
}

/** Lines of `a` not matched one for one by lines of `b`. */
function minus(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const l of b) left.set(l, (left.get(l) ?? 0) + 1);
  return a.filter((l) => {
    const n = left.get(l) ?? 0;
    if (n > 0) left.set(l, n - 1);
    return n === 0;
  });
}

export function compareDumps(desired: string, live: string): DriftReport {
  const want = byObject(desired);
  const have = byObject(live);
  const objects: ObjectDrift[] = [];
  for (const key of [...new Set([...want.keys(), ...have.keys()])].sort()) {
    const w = want.get(key) ?? [];
    const h = have.get(key) ?? [];
    if (w.length === h.length && w.every((l, i) => l === h[i])) continue;
    // Same lines in another order (rules of a chain) still differ: the order is the meaning.
    const missing = minus(w, h);
    const unexpected = minus(h, w);
    objects.push({
      object: key,
      missing: missing.length || unexpected.length ? missing : ["(rule order differs)"],
      unexpected,
    });
  }
  return { inSync: objects.length === 0, objects };
}

export async function checkDrift(
  nft: Nftables,
  cfg: EnforcementConfig,
  state: DataplaneState,
): Promise<DriftReport> {
  const live = await nft.read("inet", cfg.table);
  return compareDumps(await desiredDump(cfg, state), live ? dumpSorted(live) : "");
}
