// The plugin's refusals, without root or an agent: each bad input gets the spec's error code
// and a message naming what is wrong; and the agent's socket refuses a malformed request,
// naming the field, before it reaches the agent.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Agent } from "../../src/agent/agent.ts";
import { listenCni } from "../../src/agent/cni-server.ts";
import { jsonLogger } from "../../src/agent/index.ts";
import { ask, CniFailure, runPlugin } from "../../src/cni/plugin.ts";

const dir = mkdtempSync(join(tmpdir(), "mscni-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const sandboxEnv = {
  CNI_CONTAINERID: "c1",
  CNI_NETNS: "/run/netns/nowhere",
  CNI_IFNAME: "eth0",
  CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web",
};
const prevResult = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "vethnotthere", mac: "aa:bb:cc:dd:ee:01" },
    { name: "eth0", mac: "AA:BB:CC:DD:EE:02", sandbox: "/run/netns/nowhere" },
  ],
  ips: [{ address: "198.18.7.9/24", interface: 1 }],
};
const config = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: "1.0.0", name: "podnet", type: "microseg", ...extra });

async function failure(env: Record<string, string>, stdin: string): Promise<CniFailure> {
  const e = await runPlugin({ env, stdin }).catch((x: unknown) => x);
  assert.ok(e instanceof CniFailure, `expected a CniFailure, got ${String(e)}`);
  return e;
}

describe("CNI plugin: refusals", () => {
  it("VERSION", async () => {
    assert.deepEqual(JSON.parse(await runPlugin({ env: { CNI_COMMAND: "VERSION" }, stdin: "" })), {
      cniVersion: "1.0.0",
      supportedVersions: ["1.0.0"],
    });
  });

  it("an unknown command, an old version, config that is not JSON", async () => {
    assert.equal((await failure({ CNI_COMMAND: "GC" }, config())).code, 4);
    const old = await failure(
      { CNI_COMMAND: "ADD", ...sandboxEnv },
      config({ cniVersion: "0.3.1" }),
    );
    assert.equal(old.code, 1);
    assert.match(old.message, /0\.3\.1/);
    assert.equal((await failure({ CNI_COMMAND: "ADD" }, "{")).code, 6);
  });

  it("ADD without prevResult, without the pod's name, with a bad timeout", async () => {
    const alone = await failure({ CNI_COMMAND: "ADD", ...sandboxEnv }, config());
    assert.equal(alone.code, 7);
    assert.match(alone.message, /chained plugin/);
    const anonymous = await failure(
      { CNI_COMMAND: "ADD", ...sandboxEnv, CNI_ARGS: "IgnoreUnknown=1" },
      config({ prevResult }),
    );
    assert.equal(anonymous.code, 4);
    assert.match(anonymous.message, /K8S_POD_NAME/);
    const slow = await failure(
      { CNI_COMMAND: "ADD", ...sandboxEnv },
      config({ prevResult, timeoutSeconds: 0 }),
    );
    assert.equal(slow.code, 7);
    assert.match(slow.message, /timeoutSeconds/);
  });

  it("ADD with no agent on the socket: try again later", async () => {
    const e = await failure(
      { CNI_COMMAND: "ADD", ...sandboxEnv },
      config({ prevResult, socket: join(dir, "absent.sock") }),
    );
    assert.equal(e.code, 11);
    assert.match(e.message, /not reachable/);
  });

  it("the agent's socket names the bad field and does not ask the agent", async () => {
    const socket = join(dir, "agent.sock");
    let asked = 0;
    const agent = {
      cniAdd: () => {
        asked++;
        return Promise.resolve({ ok: true, revision: 1 });
      },
    } as unknown as Agent;
    const server = await listenCni(socket, agent, jsonLogger({ level: "error" }));
    try {
      const answer = await ask(socket, {
        op: "add",
        timeoutMs: 1000,
        attachment: {
          containerId: "c1",
          pod: { namespace: "shop", name: "web" },
          netns: "/run/netns/x",
          ifname: "eth0",
          hostInterface: "veth0",
          addresses: ["198.18.7.300"],
        },
      });
      assert.equal(answer.ok, false);
      assert.ok(!answer.ok && answer.code === 7 && /attachment\.addresses\.0/.test(answer.msg));
      assert.equal(asked, 0);
    } finally {
      server.close();
    }
  });
});
