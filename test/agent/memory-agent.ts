// An agent on the memory nftables with no drift timer, as the scoping tests compare two of them
// (test/agent/node-scope.test.ts, test/datastore/kubernetes-scope.test.ts), and its table in
// canonical order.
import assert from "node:assert/strict";
import { Agent, jsonLogger } from "../../src/agent/index.ts";
import { DEFAULT_ENFORCEMENT } from "../../src/dataplane/nftables/index.ts";
import type { ResourceSource } from "../../src/datastore/index.ts";
import { dumpSorted, type MemoryNftables } from "../../src/nft/index.ts";

export function memoryAgent(node: string, source: ResourceSource, nft: MemoryNftables): Agent {
  return new Agent({
    node,
    source,
    nft,
    enforcement: { ...DEFAULT_ENFORCEMENT, workloadInterfaces: ["wl*"] },
    log: jsonLogger({ level: "error" }),
    resyncIntervalMs: 0,
  });
}

/** The agent's table, dumped in canonical order (equal tables give equal text). */
export async function tableText(nft: MemoryNftables): Promise<string> {
  const t = await nft.read("inet", DEFAULT_ENFORCEMENT.table);
  assert.ok(t, "no table");
  return dumpSorted(t);
}
