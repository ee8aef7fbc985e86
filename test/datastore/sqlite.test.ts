// The contract suite on the SQLite store: a fresh file per run in a private temp directory.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatastore } from "../../src/datastore/index.ts";
import { datastoreContract } from "./contract.ts";

datastoreContract({
  name: "sqlite",
  async fresh() {
    const dir = await mkdtemp(join(tmpdir(), "microseg-store-"));
    const url = `sqlite:${join(dir, "store.db")}`;
    return {
      store: await openDatastore(url),
      url,
      connect: () => openDatastore(url),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});
