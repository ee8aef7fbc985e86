// The bridge table with IPv6 ports in the kernel: nft takes the neighbour discovery rules and
// the raw-bit sets, and what it lists back (`typeof` sets as `ifname . integer`, 48-bit
// integers as numbers, 128-bit ones as hex) compares equal to the rendering, so the agent's
// drift check does not rewrite the table forever; an element removed by hand is found.
// Root; a network namespace of its own, removed also on failure.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import {
  type BridgePort,
  bridgeDrift,
  bridgeTransaction,
} from "../../src/dataplane/nftables/index.ts";
import { kernelInTestNetns } from "../nft/kernel-netns.ts";
import { rootSkipReason } from "../nft/needs-root.ts";

const skip = rootSkipReason();
const cfg = { table: "microseg", workloadInterfaces: ["cni0", "veth*"] };
const ports: BridgePort[] = [
  { port: "vethaaa", mac: "02:00:00:00:00:01", addresses: ["198.18.1.10", "fd00:1::a"] },
  { port: "vethbbb", mac: "0a:bc:00:00:00:02", addresses: ["fd00:1::b", "fd00:1::1:b"] },
];

describe("bridge table with IPv6 ports, in the kernel", { skip }, () => {
  const netns = kernelInTestNetns();

  it("reads back as rendered, and a removed element is drift", async () => {
    await netns.kernel.run(bridgeTransaction(cfg, ports));
    assert.deepEqual(await bridgeDrift(netns.kernel, cfg, ports), { inSync: true, objects: [] });
    const listed = execFileSync(
      "ip",
      ["netns", "exec", netns.name, "nft", "list", "set", "bridge", "microseg", "nd-targets"],
      { encoding: "utf8" },
    );
    assert.match(listed, /"vethbbb" \. 0xfd00000100000000000000000001000b/);
    execFileSync("ip", [
      "netns",
      "exec",
      netns.name,
      "nft",
      "delete",
      "element",
      "bridge",
      "microseg",
      "lladdr",
      '{ "vethbbb" . 0xabc00000002 }',
    ]);
    const drift = await bridgeDrift(netns.kernel, cfg, ports);
    assert.equal(drift.inSync, false);
    assert.deepEqual(
      drift.objects.map((o) => [o.object, o.missing.length, o.unexpected.length]),
      [["elements of lladdr", 1, 0]],
    );
  });
});
