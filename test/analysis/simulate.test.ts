// simulate: the change on top of the current set, recorded flows judged before and after by
// the same evaluator, and the matrix cells that change.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyChange, formatSimulation, simulate } from "../../src/analysis/simulate.ts";
import { validResources } from "../../src/model/index.ts";
import { namespaces, pod, record } from "./flow-records.ts";

const WEB = { ns: "shop", name: "web-0", ip: "198.18.1.10" };
const DB = { ns: "shop", name: "db-0", ip: "198.18.1.20" };
const CLIENT = { ns: "shop", name: "client-0", ip: "198.18.1.30" };

const current = [
  ...namespaces("shop"),
  ...validResources([
    pod("shop", "web-0", WEB.ip, { app: "web" }, [{ port: 8080 }]),
    pod("shop", "db-0", DB.ip, { app: "db" }, [{ port: 5432 }]),
    pod("shop", "client-0", CLIENT.ip, { app: "client" }),
  ]),
];

const recorded = [
  record(CLIENT, WEB, 8080, "tcp"),
  record(WEB, DB, 5432, "tcp"),
  // The other reporter of the same connection folds into one flow.
  {
    ...record(WEB, DB, 5432, "tcp"),
    fields: { ...record(WEB, DB, 5432, "tcp").fields, reporter: "src" },
  },
  record(CLIENT, DB, 5432, "tcp", "allow", 1),
];

const dbOnlyFromWeb = validResources([
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "db-in", namespace: "shop" },
    spec: {
      podSelector: { matchLabels: { app: "db" } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 5432 }] },
      ],
    },
  },
]);

describe("simulate", () => {
  it("a new ingress policy on db: the client's recorded flow to db is newly denied, web's is not", () => {
    const s = simulate(current, dbOnlyFromWeb, recorded);
    assert.deepEqual(
      s.flows.newlyDenied.map((f) => `${f.from} -> ${f.to} ${f.port}/${f.protocol}`),
      ["shop/client-0 -> shop/db-0 5432/TCP"],
    );
    assert.deepEqual(s.flows.newlyAllowed, []);
    assert.equal(s.flows.unchanged, 2, "client->web and web->db (both reporters as one)");
    // Matrix: every port declared (5432, 8080) into db from anything but web is newly denied.
    assert.deepEqual(s.cells.newlyDenied.map((c) => `${c.from} -> ${c.to} ${c.port}`).sort(), [
      "shop/client-0 -> shop/db-0 5432",
      "shop/client-0 -> shop/db-0 8080",
      "shop/web-0 -> shop/db-0 8080",
    ]);
    assert.deepEqual(s.cells.newlyAllowed, []);
    const text = formatSimulation(s);
    assert.match(text, /1 newly denied, 0 newly allowed/);
    assert.match(text, /to shop\/db-0 5432\/TCP from shop\/client-0 \(1 connections recorded\)/);
  });

  it("removing that policy again (the change replaces it by key) allows what it denied", () => {
    const withPolicy = applyChange(current, dbOnlyFromWeb);
    const allowAll = validResources([
      {
        ...dbOnlyFromWeb[0],
        spec: { podSelector: { matchLabels: { app: "db" } }, ingress: [{}] },
      },
    ]);
    const s = simulate(withPolicy, allowAll, recorded);
    assert.deepEqual(
      s.flows.newlyAllowed.map((f) => `${f.from} -> ${f.to}`),
      ["shop/client-0 -> shop/db-0"],
    );
    assert.equal(s.cells.newlyAllowed.length, 3);
    assert.deepEqual(s.cells.newlyDenied, []);
  });

  it("a recorded flow whose workload is gone is counted, not judged", () => {
    // Folded by owner (no address), and no workload of that name any more.
    const gone = record({ ns: "shop", name: "old-*", ip: "" }, DB, 5432, "tcp");
    const s = simulate(current, dbOnlyFromWeb, [gone]);
    assert.equal(s.flows.unjudged, 1);
    assert.deepEqual([s.flows.newlyDenied, s.flows.newlyAllowed], [[], []]);
  });
});
