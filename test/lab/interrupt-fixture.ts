// Started by lab.test.ts as a separate process: brings a lab up, prints its id, and waits to be
// interrupted, so the test can show SIGINT tears the lab down, detached probers included.

import { Lab } from "../../src/lab/index.ts";

const lab = await Lab.up(
  { nodes: ["n1"], pods: [{ name: "p1" }], ports: [{ port: 80, protocol: "TCP" }] },
  { stateDir: process.argv[2] },
);
process.stdout.write(`${lab.id}\n`);
setTimeout(() => process.exit(3), 20_000);
