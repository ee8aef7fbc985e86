// The V8 flags of microseg's long-running processes are written in four places: the module the
// spawners import, the shebang of bin/microseg.js, and `npm start` and `npm run bench` (the
// bench measures the agent's renderer in its own process, so it must run as the agent does).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { NODE_FLAGS } from "../../src/util/node-flags.ts";

const root = join(import.meta.dirname, "../..");

test("the shebang, npm start and npm run bench pass the long-running processes' flags", () => {
  assert.ok(NODE_FLAGS.length > 0);
  const shebang = readFileSync(join(root, "bin/microseg.js"), "utf8").split("\n")[0]!;
  const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts as Record<
    string,
    string
  >;
  const lines = { shebang, start: scripts.start!, bench: scripts.bench! };
  for (const [where, line] of Object.entries(lines)) {
    const words = line.split(/\s+/);
    for (const flag of NODE_FLAGS)
      assert.ok(words.includes(flag), `${where} lacks ${flag}: ${line}`);
  }
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
});
