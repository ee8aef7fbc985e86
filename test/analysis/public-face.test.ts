// The analysis stage has one public face (src/analysis/index.ts): no other stage, nor the UI,
// imports one of its modules directly, so its inside can change without touching them.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const stage = join(root, "src/analysis");
const face = join(stage, "index.ts");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === stage ? [] : sources(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** Relative specifiers of static, re-export and dynamic imports. */
const specifiers = (text: string) =>
  [...text.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)"(\.[^"]+)"/g)].map((m) => m[1]!);

test("other stages import src/analysis only through its index.ts", () => {
  const files = [...sources(join(root, "src")), ...sources(join(root, "web/src"))];
  assert.ok(files.length > 100, `read the sources (${files.length} files)`);
  const inside = files.flatMap((file) =>
    specifiers(readFileSync(file, "utf8"))
      .filter((spec) => {
        const target = resolve(dirname(file), spec);
        return target.startsWith(`${stage}/`) && target !== face;
      })
      .map((spec) => `${relative(root, file)} imports ${spec}`),
  );
  assert.deepEqual(inside, []);
});
