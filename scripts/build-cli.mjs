// `npm run build`: bundles the sources into dist/ now, as bin/microseg.js otherwise does on the
// first short-lived command after an edit.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBundle, freshBundle } from "../bin/prebuilt.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = freshBundle(root) ?? (await buildBundle(root));
if (entry === undefined) {
  console.error("microseg: another process is building dist/ right now");
  process.exit(1);
}
console.log(`microseg: ${entry}`);
