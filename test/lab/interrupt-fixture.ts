// Started by lab.test.ts as a separate process: brings a lab with node agents up, prints its
// id, and waits to be interrupted, so the test can show SIGINT tears the lab down, detached
// probers and agents included.

import { Lab } from "../../src/lab/index.ts";
import { parseManifests } from "../../src/model/index.ts";

const manifests = parseManifests(
  "apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\n",
  "fixture.yaml",
);
if (!manifests.ok) throw new Error(JSON.stringify(manifests.errors));
const lab = await Lab.upFromManifests(manifests.resources, {
  stateDir: process.argv[2],
  nodes: 1,
});
process.stdout.write(`${lab.id}\n`);
setTimeout(() => process.exit(3), 20_000);
