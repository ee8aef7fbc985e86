// Address parsing and canonical text, which element identity and drift comparison rest on.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  firstOf,
  parseExactCidr,
  rangeAsCidr,
  shortText,
  tryParseAddress,
} from "../../src/net/cidr.ts";

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
  ["010.0.0.1", undefined],
  ["198.18.1", undefined],
  ["0xc6.18.0.1", undefined],
  ["fe80::1%eth0", undefined],
  ["::ffff:010.0.0.1", undefined],
];

for (const [input, expected] of canonical) {
  test(`${input} -> ${expected ?? "invalid"}`, () => {
    const c = parseExactCidr(input);
    assert.equal(c && shortText(c), expected);
  });
}

test("a range is a prefix only when aligned and a power of two", () => {
  const v4 = (s: string) => firstOf(parseExactCidr(s)!);
  const block = rangeAsCidr(4, v4("198.18.0.0"), v4("198.18.255.255"));
  assert.equal(block && shortText(block), "198.18.0.0/16");
  assert.equal(rangeAsCidr(4, v4("198.18.0.1"), v4("198.18.0.2")), undefined);
  assert.equal(rangeAsCidr(4, v4("198.18.0.0"), v4("198.18.0.2")), undefined);
});

test("addresses parse as strictly as Go's net.ParseIP", () => {
  for (const bad of ["10.1", "3232235777", "010.0.0.1", "fe80::1%wl0", " 198.18.0.1"]) {
    assert.equal(tryParseAddress(bad), undefined, bad);
  }
  assert.equal(tryParseAddress("FD00::0:1")?.text, "fd00::1");
});
