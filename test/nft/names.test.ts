// Object names and comments: a comment is cut to nft's 128 bytes whatever the text's length or
// characters (an endpoint chain's comment lists its policies, thousands of them at scale).

import assert from "node:assert/strict";
import { test } from "node:test";
import { commentOf } from "../../src/dataplane/nftables/names.ts";

test("a comment is cut to 128 bytes with an ellipsis, in one step for long texts", () => {
  const long = `ingress: default ${Array.from({ length: 5_000 }, (_, i) => `GlobalNetworkPolicy//p-${i}`).join(" ")}`;
  const cut = commentOf(long);
  assert.ok(Buffer.byteLength(cut) <= 128, `${Buffer.byteLength(cut)} bytes`);
  assert.ok(cut.endsWith("…") && long.startsWith(cut.slice(0, -1)));
  // Multi-byte and astral characters are never split.
  for (const ch of ["é", "€", "𝄞"]) {
    const c = commentOf(ch.repeat(500));
    assert.ok(Buffer.byteLength(c) <= 128);
    assert.equal(c.slice(0, -1), ch.repeat(Array.from(c).length - 1));
  }
  assert.equal(commentOf('say "hi"\n'), "say 'hi' ");
});
