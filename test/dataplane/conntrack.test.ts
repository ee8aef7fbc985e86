// conntrack -L output as tracked connections: the original direction's tuple, ports only for
// protocols that have them, an ICMP query's type, code and id, both families, and the reply's
// source (the destination after DNAT).

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConntrackList } from "../../src/dataplane/conntrack.ts";

test("conntrack -L lines become original-direction tuples", () => {
  const text = [
    "tcp      6 431999 ESTABLISHED src=198.18.0.1 dst=198.18.0.2 sport=40000 dport=5432 src=198.18.0.2 dst=198.18.0.1 sport=5432 dport=40000 [ASSURED] mark=0 use=1",
    "udp      17 27 src=fd00:18::1 dst=fd00:18::2 sport=43004 dport=5353 [UNREPLIED] src=fd00:18::2 dst=fd00:18::1 sport=5353 dport=43004 mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=198.18.1.1 dst=198.19.0.1 sport=40001 dport=9090 src=198.18.0.1 dst=198.18.1.1 sport=80 dport=40001 [ASSURED] mark=0 use=1",
    "icmp     1 29 src=198.18.0.1 dst=198.18.0.3 type=8 code=0 id=7 src=198.18.0.3 dst=198.18.0.1 type=0 code=0 id=7 mark=0 use=1",
    "",
  ].join("\n");
  assert.deepEqual(parseConntrackList(text), [
    {
      family: 4,
      protocol: "tcp",
      source: "198.18.0.1",
      destination: "198.18.0.2",
      sourcePort: 40000,
      destinationPort: 5432,
      replySource: "198.18.0.2",
    },
    {
      family: 6,
      protocol: "udp",
      source: "fd00:18::1",
      destination: "fd00:18::2",
      sourcePort: 43004,
      destinationPort: 5353,
      replySource: "fd00:18::2",
    },
    // DNAT'd: the reply comes from where the connection really goes.
    {
      family: 4,
      protocol: "tcp",
      source: "198.18.1.1",
      destination: "198.19.0.1",
      sourcePort: 40001,
      destinationPort: 9090,
      replySource: "198.18.0.1",
    },
    // A query: the original direction's type, code and id (the reply's are 0 and the same id).
    {
      family: 4,
      protocol: "icmp",
      source: "198.18.0.1",
      destination: "198.18.0.3",
      replySource: "198.18.0.3",
      icmp: { type: 8, code: 0, id: 7 },
    },
  ]);
});
