// A second process writing to a store, for the contract suite's multi-process cases. JSON
// lines on stdout; commands on stdin.
//   burst URL PREFIX COUNT  creates Pods default/PREFIX-0.. one by one, printing each index once
//                           its write is acknowledged (the parent kills it mid-burst)
//   open URL                opens the store (creating it when missing) and prints its revision
//   race URL                prints "ready", then takes one line: a JSON array of objects to
//                           update (stale resourceVersions), all at once; prints one JSON line
//                           with "ok" or the error code per object, in order
import { createInterface } from "node:readline";
import { type DatastoreError, openDatastore } from "../../src/datastore/index.ts";
import type { Resource } from "../../src/model/index.ts";

const [mode, url, ...rest] = process.argv.slice(2);
if (!url) throw new Error("usage: store-child.ts open|burst|race URL ...");
const store = await openDatastore(url);

if (mode === "open") {
  process.stdout.write(`${await store.revision()}\n`);
} else if (mode === "burst") {
  const [prefix, count] = rest;
  for (let i = 0; i < Number(count); i++) {
    await store.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `${prefix}-${i}`, namespace: "default", labels: { burst: String(prefix) } },
    } as unknown as Resource);
    process.stdout.write(`${i}\n`);
  }
} else if (mode === "race") {
  process.stdout.write("ready\n");
  const rl = createInterface({ input: process.stdin });
  const line = await new Promise<string>((resolve) => rl.once("line", resolve));
  rl.close();
  const objects = JSON.parse(line) as Resource[];
  const outcomes = await Promise.all(
    objects.map((o) =>
      store.update(o).then(
        () => "ok",
        (e: DatastoreError) => e.code ?? String(e),
      ),
    ),
  );
  process.stdout.write(`${JSON.stringify(outcomes)}\n`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
await store.close();
