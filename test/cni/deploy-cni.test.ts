// deploy/agent.yaml installs the CNI plugin and wires the agent to it: the manifests parse, every
// volume mounted exists, the host's /opt/cni/bin, /etc/cni/net.d and /run/microseg are what
// they are mounted from, the init container's and the agent's arguments are options their
// commands define (through the real command definitions), and both sides name the same socket
// at the same path inside and outside the pod. (`kubectl apply --dry-run=client` needs an API
// server's discovery even with --validate=false, and none can run here; so the manifests are
// read as data.)

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { parseAllDocuments } from "yaml";
import { registerAgent } from "../../src/cli/commands/agent.ts";
import { registerCniInstall } from "../../src/cli/commands/cni-install.ts";

const DEPLOY = join(dirname(fileURLToPath(import.meta.url)), "../../deploy");

interface Mount {
  name: string;
  mountPath: string;
}
interface Container {
  name: string;
  command: string[];
  volumeMounts?: Mount[];
}
interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: Volume[];
}

function parsed(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(join(DEPLOY, file), "utf8"));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file} does not parse`);
  return docs.map((d) => d.toJS());
}

const ds = parsed("agent.yaml")[0] as { kind: string; spec: { template: { spec: PodSpec } } };
const pod = ds.spec.template.spec;
const container = (name: string) => {
  const c = [...(pod.initContainers ?? []), ...pod.containers].find((x) => x.name === name);
  assert.ok(c, `no container ${name}`);
  return c;
};

/** The options `args` (after the command word) set, through the command's own definition. */
function options(register: (p: Command) => void, word: string, args: string[]) {
  const program = new Command().exitOverride();
  register(program);
  const cmd = program.commands.find((c) => c.name() === word)!;
  const { operands, unknown } = cmd.parseOptions(args);
  assert.deepEqual(unknown, [], `${word}: options it does not define`);
  assert.deepEqual(operands, [], `${word}: stray arguments`);
  return cmd.opts() as Record<string, unknown>;
}

const hostPathOf = (c: Container, path: string) => {
  const mount = c.volumeMounts?.find(
    (m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`),
  );
  const volume = pod.volumes.find((v) => v.name === mount?.name);
  return volume?.hostPath && mount
    ? volume.hostPath.path + path.slice(mount.mountPath.length)
    : undefined;
};

describe("deploy/ and the CNI plugin", () => {
  it("every manifest parses, and the DaemonSet mounts only volumes it declares", () => {
    for (const f of readdirSync(DEPLOY).filter((x) => x.endsWith(".yaml"))) parsed(f);
    assert.equal(ds.kind, "DaemonSet");
    const declared = new Set(pod.volumes.map((v) => v.name));
    for (const c of [...(pod.initContainers ?? []), ...pod.containers])
      for (const m of c.volumeMounts ?? [])
        assert.ok(declared.has(m.name), `${c.name} mounts ${m.name}, which is not a volume`);
  });

  it("the init container installs into the host's CNI directories", () => {
    const init = container("install-cni");
    assert.deepEqual(init.command.slice(0, 2), ["microseg", "cni-install"]);
    const o = options(registerCniInstall, "cni-install", init.command.slice(2));
    assert.equal(hostPathOf(init, String(o.binDir)), "/opt/cni/bin");
    assert.equal(hostPathOf(init, String(o.confDir)), "/etc/cni/net.d");
    assert.equal(o.plugin, "/opt/microseg/microseg-cni");
    assert.ok(Number(o.waitSeconds) > 0, "it waits for the network plugin's configuration");
    assert.equal(o.uninstall, undefined);
  });

  it("the cni-watch container keeps the same install chained", () => {
    const args = (name: string) => container(name).command.slice(2);
    const init = options(registerCniInstall, "cni-install", args("install-cni"));
    const watch = options(registerCniInstall, "cni-install", args("cni-watch"));
    assert.equal(watch.watch, true);
    assert.equal(init.watch, undefined);
    for (const key of ["binDir", "confDir", "plugin", "socket", "timeoutSeconds"] as const)
      assert.equal(watch[key], init[key], key);
    for (const dir of [watch.binDir, watch.confDir])
      assert.equal(
        hostPathOf(container("cni-watch"), String(dir)),
        hostPathOf(container("install-cni"), String(dir)),
      );
  });

  it("the agent serves the socket the installed plugin is told, at the same path on the host", () => {
    const init = options(
      registerCniInstall,
      "cni-install",
      container("install-cni").command.slice(2),
    );
    const agent = container("agent");
    assert.deepEqual(agent.command.slice(0, 2), ["microseg", "agent"]);
    const o = options(registerAgent, "agent", agent.command.slice(2));
    assert.equal(o.cniSocket, init.socket);
    assert.equal(
      hostPathOf(agent, String(o.cniSocket)),
      o.cniSocket,
      "the plugin runs on the host",
    );
    assert.deepEqual(o.workloadIface, ["cni0", "veth*"]);
    // The ready file is the pod's own: one on the host would outlive the agent that wrote it.
    assert.equal(hostPathOf(agent, String(o.readyFile)), undefined);
  });
});
