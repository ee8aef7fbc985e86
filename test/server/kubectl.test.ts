// kubectl, a client no one here wrote, against the real server and a real SQLite store: get,
// get -o yaml, create -f, replace -f, label, delete and get --watch on Pods, NetworkPolicies
// and microseg's kinds, with client-side validation on (no --validate=false).
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse, parseAllDocuments, stringify } from "yaml";
import { type Harness, startHarness } from "./harness.ts";

const kubectlMissing =
  spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0
    ? false
    : "kubectl is not installed (Debian: kubernetes-client; npm test installs it as root)";
if (kubectlMissing && process.env.CI) throw new Error(kubectlMissing);

let h: Harness;
let env: NodeJS.ProcessEnv;

before(async () => {
  h = await startHarness();
  const kubeconfig = join(h.dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "microseg", cluster: { server: h.url } }],
      users: [{ name: "me", user: {} }],
      contexts: [
        { name: "microseg", context: { cluster: "microseg", user: "me", namespace: "default" } },
      ],
      "current-context": "microseg",
    }),
  );
  mkdirSync(join(h.dir, "home"));
  // A private HOME: kubectl's discovery cache must not carry over from another run.
  env = { ...process.env, KUBECONFIG: kubeconfig, HOME: join(h.dir, "home") };
});
after(() => h?.close());

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("kubectl", args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function manifest(name: string, docs: unknown[]): string {
  const path = join(h.dir, name);
  writeFileSync(path, docs.map((d) => stringify(d)).join("---\n"));
  return path;
}

/**
 * `kubectl get --watch` as a child; `until` resolves when its output satisfies a condition
 * (checked on every chunk, bounded by a deadline), `stop` ends it.
 */
function watch(...args: string[]) {
  const child = spawn("kubectl", ["get", ...args, "--watch"], { env });
  let out = "";
  let err = "";
  const waiters: { test: (s: string) => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on("data", (d) => {
    out += d;
    check();
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  return {
    until(test: (s: string) => boolean, what: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`kubectl get --watch: no ${what} within 30 s; out:\n${out}\nerr:\n${err}`),
            ),
          30_000,
        );
        waiters.push({
          test,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
      });
    },
    stop: () => child.kill(),
    output: () => out,
  };
}

const NS = { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } };
const pod = (name: string, labels: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "shop", labels },
  spec: {
    nodeName: "node-1",
    containers: [{ name: "main", image: "x", ports: [{ containerPort: 80 }] }],
  },
  status: { phase: "Running", podIP: "198.18.5.1" },
});
const K8S_NETPOL = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "web-ingress", namespace: "shop" },
  spec: {
    podSelector: { matchLabels: { app: "web" } },
    ingress: [{ from: [{ podSelector: {} }] }],
  },
};
const TIER = {
  apiVersion: "projectcalico.org/v3",
  kind: "Tier",
  metadata: { name: "security" },
  spec: { order: 100 },
};
const GNP = {
  apiVersion: "projectcalico.org/v3",
  kind: "GlobalNetworkPolicy",
  metadata: { name: "security.lockdown" },
  spec: {
    tier: "security",
    order: 1,
    selector: "app == 'db'",
    types: ["Ingress"],
    ingress: [{ action: "Deny" }],
  },
};

describe("kubectl", { skip: kubectlMissing }, () => {
  it("create -f makes every object, Kubernetes and Calico kinds alike", async () => {
    const out = await ok(
      "create",
      "-f",
      manifest("all.yaml", [NS, pod("web-0", { app: "web" }), K8S_NETPOL, TIER, GNP]),
    );
    assert.match(out, /namespace\/shop created/);
    assert.match(out, /pod\/web-0 created/);
    assert.match(out, /networkpolicy.networking.k8s.io\/web-ingress created/);
    assert.match(out, /tier.projectcalico.org\/security created/);
    assert.match(out, /globalnetworkpolicy.projectcalico.org\/security.lockdown created/);
    const stored = await h.store.get({
      kind: { apiVersion: "microseg.io/v1", kind: "GlobalNetworkPolicy" },
      name: "security.lockdown",
    });
    assert.equal((stored as { spec: { selector: string } }).spec.selector, "app == 'db'");
  });

  it("get prints the server's table; netpol means networking.k8s.io, gnp ours", async () => {
    const pods = await ok("get", "pods", "-n", "shop", "-o", "wide");
    assert.match(pods, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/m);
    assert.match(pods, /^web-0\s+0\/1\s+Running\s+0\s+\S+\s+198\.18\.5\.1\s+node-1/m);
    assert.match(await ok("get", "netpol", "-n", "shop"), /^web-ingress\s+app=web\s/m);
    const gnp = await ok("get", "gnp");
    assert.match(gnp, /^NAME\s+TIER\s+ORDER\s+SELECTOR\s+AGE/m);
    assert.match(gnp, /^security\.lockdown\s+security\s+1\s+app == 'db'/m);
    assert.match(await ok("get", "tiers"), /^default\s+1000000\s+Deny/m);
  });

  it("get -o yaml is the stored object", async () => {
    const got = parse(await ok("get", "pod", "web-0", "-n", "shop", "-o", "yaml"));
    const stored = await h.store.get({
      kind: { apiVersion: "v1", kind: "Pod" },
      namespace: "shop",
      name: "web-0",
    });
    assert.equal(got.metadata.resourceVersion, stored.metadata.resourceVersion);
    assert.equal(got.metadata.uid, stored.metadata.uid);
    assert.deepEqual(got.metadata.labels, { app: "web" });
  });

  it("replace -f of edited get -o yaml output is stored; a stale one is refused", async () => {
    const current = parse(await ok("get", "gnp", "security.lockdown", "-o", "yaml"));
    current.spec.order = 7;
    const path = manifest("gnp.yaml", [current]);
    assert.match(await ok("replace", "-f", path), /replaced/);
    const stored = await h.store.get({
      kind: { apiVersion: "microseg.io/v1", kind: "GlobalNetworkPolicy" },
      name: "security.lockdown",
    });
    assert.equal((stored as { spec: { order: number } }).spec.order, 7);
    const stale = await kubectl("replace", "-f", path);
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /Conflict|modified|conflict/i);
  });

  it("an invalid object is refused with the field named, as the server's Status says", async () => {
    const bad = pod("bad", {});
    (bad.status as { podIP: string }).podIP = "300.1.1.1";
    const r = await kubectl("create", "-f", manifest("bad.yaml", [bad]));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is invalid/);
    assert.match(r.stderr, /status\.podIP/);
  });

  it("get --watch prints changes to pods and to microseg kinds as they happen", async () => {
    const pods = watch("pods", "-n", "shop");
    const gnps = watch("globalnetworkpolicies.microseg.io", "-o", "name");
    try {
      await pods.until((s) => /^web-0\s/m.test(s), "initial web-0 row");
      await gnps.until((s) => s.includes("security.lockdown"), "initial policy");
      await ok("create", "-f", manifest("more.yaml", [pod("web-1", { app: "web" })]));
      await pods.until((s) => /^web-1\s/m.test(s), "web-1 row");
      const more = { ...GNP, metadata: { name: "security.second" } };
      await ok("create", "-f", manifest("gnp2.yaml", [more]));
      await gnps.until((s) => s.includes("security.second"), "new policy");
    } finally {
      pods.stop();
      gnps.stop();
    }
  });

  it("label changes a pod through a patch", async () => {
    await ok("label", "pod", "web-1", "-n", "shop", "tier=front");
    const stored = await h.store.get({
      kind: { apiVersion: "v1", kind: "Pod" },
      namespace: "shop",
      name: "web-1",
    });
    assert.equal((stored.metadata.labels as Record<string, string>).tier, "front");
  });

  it("delete removes pods, network policies and microseg kinds", async () => {
    assert.match(await ok("delete", "pod", "web-1", "-n", "shop"), /deleted/);
    assert.match(await ok("delete", "netpol", "web-ingress", "-n", "shop"), /deleted/);
    assert.match(await ok("delete", "gnp", "security.second", "security.lockdown"), /deleted/);
    const left = await h.store.list({
      kind: { apiVersion: "microseg.io/v1", kind: "GlobalNetworkPolicy" },
    });
    assert.deepEqual(left.items, []);
    const missing = await kubectl("get", "pod", "web-1", "-n", "shop");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NotFound|not found/);
  });

  it("get of a multi-kind manifest's objects by file works (-f)", async () => {
    const docs = parseAllDocuments(
      await ok("get", "-f", join(h.dir, "all.yaml"), "-o", "yaml", "--ignore-not-found"),
    );
    const kinds = docs.flatMap((d) =>
      (d.toJS().items ?? [d.toJS()]).map((o: { kind: string }) => o.kind),
    );
    assert.ok(kinds.includes("Namespace") && kinds.includes("Tier"), kinds.join(","));
  });
});
