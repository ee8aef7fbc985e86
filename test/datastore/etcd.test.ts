// The contract suite on the etcd store, against an etcd this file starts fresh (Debian's
// etcd-server on a random loopback address and ports, its own data directory, removed after).
// Each store gets its own key prefix, so `fresh` stores in one etcd are empty.
import { after, before } from "node:test";
import { openDatastore } from "../../src/datastore/index.ts";
import { type EtcdServer, startEtcd } from "../etcd-server.ts";
import { datastoreContract } from "./contract.ts";

let etcd: EtcdServer;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

let stores = 0;
datastoreContract({
  name: "etcd",
  async fresh() {
    const url = `${etcd.url}/contract-${++stores}`;
    return {
      store: await openDatastore(url),
      url,
      connect: () => openDatastore(url),
      cleanup: async () => {},
    };
  },
});
