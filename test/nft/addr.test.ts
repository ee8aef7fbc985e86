// Address parsing and canonical text, which element identity and drift comparison rest on.

import assert from "node:assert/strict";
import { test } from "node:test";
import { formatCidr, parseCidr, rangeAsCidr } from "../../src/dataplane/nftables/addr.ts";

const canonical: [string, string | undefined][] = [
  ["198.18.0.1", "198.18.0.1"],
  ["198.18.0.1/32", "198.18.0.1"],
  ["198.18.0.0/15", "198.18.0.0/15"],
  ["198.18.0.1/16", undefined],
  ["198.18.0.256", undefined],
  ["198.018.0.1", undefined],
  ["fd00:0::1", "fd00::1"],
  ["FD00:0:0:0:0:0:0:1/128", "fd00::1"],
  ["fd00::/8", "fd00::/8"],
  ["fd00:0:0:1:0:0:0:0", "fd00:0:0:1::"],
  ["fd00:0:1:0:0:1:0:0", "fd00:0:1::1:0:0"],
  ["::ffff:198.18.0.1", "::ffff:c612:1"],
  ["::", "::"],
  ["fd00::1::2", undefined],
  ["fd00:1:2:3:4:5:6:7:8", undefined],
  ["fd00::/129", undefined],
];

for (const [input, expected] of canonical) {
  test(`${input} -> ${expected ?? "invalid"}`, () => {
    const c = parseCidr(input);
    assert.equal(c && formatCidr(c), expected);
  });
}

test("a range is a prefix only when aligned and a power of two", () => {
  const v4 = (s: string) => parseCidr(s)!.base;
  const block = rangeAsCidr(4, v4("198.18.0.0"), v4("198.18.255.255"));
  assert.equal(block && formatCidr(block), "198.18.0.0/16");
  assert.equal(rangeAsCidr(4, v4("198.18.0.1"), v4("198.18.0.2")), undefined);
  assert.equal(rangeAsCidr(4, v4("198.18.0.0"), v4("198.18.0.2")), undefined);
});
