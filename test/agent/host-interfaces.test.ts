// The agent's reading of `ip -j addr show`: interfaces to canonical addresses, loopback and
// workload interfaces left out (host endpoint stages never judge their packets).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIpAddr } from "../../src/agent/host-interfaces.ts";
import { interfaceMatches } from "../../src/dataplane/nftables/index.ts";

const sample = JSON.stringify([
  { ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1" }] },
  {
    ifname: "eth0",
    addr_info: [
      { family: "inet6", local: "fd00:0:0::0001" },
      { family: "inet", local: "198.19.0.1" },
      { family: "inet", local: "198.19.0.1" },
    ],
  },
  { ifname: "eth1" },
  { ifname: "cali1234", addr_info: [{ family: "inet", local: "169.254.1.1" }] },
  { ifname: "vethx", addr_info: [{ family: "inet", local: "198.19.0.9" }] },
]);

describe("host interfaces from ip -j addr", () => {
  it("maps each interface to its canonical addresses, without lo and workload interfaces", () => {
    assert.deepEqual(
      [...parseIpAddr(sample, ["cali*", "veth"])],
      [
        ["eth0", ["198.19.0.1", "fd00::1"]],
        ["eth1", []],
        ["vethx", ["198.19.0.9"]],
      ],
    );
  });

  it("matches nft wildcards by prefix and other patterns exactly", () => {
    assert.ok(interfaceMatches("cali*", "cali0"));
    assert.ok(!interfaceMatches("cali", "cali0"));
    assert.ok(interfaceMatches("eth0", "eth0"));
  });
});
