// Writes deploy/crds/ from the model's schemas (src/datastore/kubernetes/crds.ts); run after a
// schema change: `node --import tsx scripts/gen-crds.ts`. test/datastore/deploy.test.ts fails
// while the committed files differ from what this writes.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crdFiles } from "../src/datastore/kubernetes/crds.ts";

const dir = join(dirname(fileURLToPath(import.meta.url)), "../deploy/crds");
mkdirSync(dir, { recursive: true });
const files = crdFiles();
for (const f of readdirSync(dir)) if (!files.some((g) => g.file === f)) rmSync(join(dir, f));
for (const f of files) writeFileSync(join(dir, f.file), f.text);
console.log(`wrote ${files.length} CRDs to deploy/crds`);
