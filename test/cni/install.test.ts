// `microseg cni-install` on real files: the executable copied into the bin directory, microseg
// chained into the runtime's network configuration with every other plugin and field kept,
// idempotent, a one-plugin .conf turned into a list, a file microseg cannot chain into refused
// naming the field with nothing changed, and --uninstall taking it all out again.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type InstallReport, installCni, uninstallCni, watchCni } from "../../src/cni/install.ts";

const cli = fileURLToPath(new URL("../../bin/microseg.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "mscni-install-"));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
let binDir = "";
let confDir = "";
let plugin = "";
beforeEach(() => {
  const dir = join(root, String(n++));
  binDir = join(dir, "bin");
  confDir = join(dir, "net.d");
  mkdirSync(binDir, { recursive: true });
  mkdirSync(confDir, { recursive: true });
  plugin = join(dir, "microseg-cni");
  writeFileSync(plugin, `#!/bin/sh\necho ${dir}\n`);
});

const bridge = {
  type: "bridge",
  bridge: "cni0",
  isGateway: true,
  ipam: { type: "host-local", ranges: [[{ subnet: "198.18.1.0/24" }]] },
};
const portmap = { type: "portmap", capabilities: { portMappings: true }, snat: true };
const network = (plugins: unknown[], extra: Record<string, unknown> = {}) => ({
  cniVersion: "1.0.0",
  name: "podnet",
  ...extra,
  plugins,
});
const write = (name: string, doc: unknown, mode = 0o644) => {
  const path = join(confDir, name);
  writeFileSync(path, typeof doc === "string" ? doc : JSON.stringify(doc));
  chmodSync(path, mode);
  return path;
};
const read = (name: string) => JSON.parse(readFileSync(join(confDir, name), "utf8"));
const options = () => ({
  binDir,
  confDir,
  plugin,
  socket: "/run/microseg/cni.sock",
  timeoutSeconds: 10,
});
const entry = { type: "microseg", socket: "/run/microseg/cni.sock", timeoutSeconds: 10 };

describe("microseg cni-install", () => {
  it("chains microseg after the plugins there, keeping them and every field; again changes nothing", async () => {
    write("10-podnet.conflist", network([bridge, portmap], { disableCheck: false }), 0o600);
    const first = await installCni(options());
    assert.equal(first.binaryChanged, true);
    assert.equal(first.conflistChanged, true);
    assert.deepEqual(
      read("10-podnet.conflist"),
      network([bridge, portmap, entry], { disableCheck: false }),
    );
    assert.equal(statSync(join(confDir, "10-podnet.conflist")).mode & 0o777, 0o600);
    const installed = join(binDir, "microseg");
    assert.deepEqual(readFileSync(installed), readFileSync(plugin));
    assert.equal(statSync(installed).mode & 0o777, 0o755);

    const text = readFileSync(join(confDir, "10-podnet.conflist"), "utf8");
    const again = await installCni(options());
    assert.equal(again.binaryChanged, false);
    assert.equal(again.conflistChanged, false);
    assert.equal(readFileSync(join(confDir, "10-podnet.conflist"), "utf8"), text);
    assert.deepEqual(readdirSync(confDir), ["10-podnet.conflist"], "no temporary file is left");
  });

  it("replaces an older microseg entry where it stands and drops duplicates", async () => {
    const old = { type: "microseg", socket: "/var/run/old.sock" };
    write("10-podnet.conflist", network([bridge, old, portmap, old]));
    await installCni(options());
    assert.deepEqual(read("10-podnet.conflist").plugins, [bridge, entry, portmap]);
  });

  it("a new executable replaces the installed one", async () => {
    write("10-podnet.conflist", network([bridge]));
    await installCni(options());
    writeFileSync(plugin, "#!/bin/sh\necho newer\n");
    const r = await installCni(options());
    assert.equal(r.binaryChanged, true);
    assert.equal(r.conflistChanged, false);
    assert.match(readFileSync(join(binDir, "microseg"), "utf8"), /newer/);
  });

  it("chains into the file the runtime reads first, or the one --conflist names", async () => {
    write("20-other.conflist", network([portmap]));
    write("10-podnet.conflist", network([bridge]));
    write("README", "not a network");
    const r = await installCni(options());
    assert.equal(r.conflist, join(confDir, "10-podnet.conflist"));
    assert.deepEqual(read("20-other.conflist").plugins, [portmap]);
    await installCni({ ...options(), conflist: "20-other.conflist" });
    assert.deepEqual(read("20-other.conflist").plugins, [portmap, entry]);
  });

  it("turns a one-plugin .conf into a list in its place", async () => {
    write("10-bridge.conf", { cniVersion: "1.0.0", name: "podnet", ...bridge });
    const r = await installCni(options());
    assert.equal(r.conflist, join(confDir, "10-bridge.conflist"));
    assert.deepEqual(readdirSync(confDir), ["10-bridge.conflist"]);
    assert.deepEqual(read("10-bridge.conflist"), network([bridge, entry]));
  });

  for (const [what, doc, field] of [
    ["not JSON", '{"cniVersion": "1.0.0", "plugins": [', "(the document)"],
    ["a plugin without a type", network([bridge, { bridge: "x" }]), "plugins[1].type"],
    ["plugins not a list", { ...network([]), plugins: { type: "bridge" } }, "plugins"],
    ["no name", { cniVersion: "1.0.0", plugins: [bridge] }, "name"],
    [
      "a version the plugin does not speak",
      { ...network([bridge]), cniVersion: "0.3.1" },
      "cniVersion",
    ],
    ["only microseg", network([entry]), "plugins"],
  ] as const) {
    it(`refuses ${what}, naming ${field}, and changes nothing`, async () => {
      const path = write("10-podnet.conflist", doc);
      const before = readFileSync(path, "utf8");
      await assert.rejects(installCni(options()), (e: Error) => {
        assert.ok(
          e.message.startsWith(`${path}: ${field}: `),
          `the message names the file and ${field}: ${e.message}`,
        );
        return true;
      });
      assert.equal(readFileSync(path, "utf8"), before);
      assert.equal(existsSync(join(binDir, "microseg")), false, "the executable was installed");
    });
  }

  it("says when there is no network configuration, and waits for one when asked", async () => {
    await assert.rejects(installCni(options()), /no CNI network configuration/);
    const waiting = installCni({ ...options(), waitSeconds: 120 });
    write("10-podnet.conflist", network([bridge]));
    const r = await waiting;
    assert.equal(r.conflist, join(confDir, "10-podnet.conflist"));
    assert.deepEqual(read("10-podnet.conflist").plugins, [bridge, entry]);
  });

  it("--watch chains microseg again when the network plugin rewrites its list", async () => {
    write("10-podnet.conflist", network([bridge]));
    await installCni(options());
    const outcomes: Array<InstallReport | Error> = [];
    const watcher = watchCni(options(), (o) => outcomes.push(o));
    try {
      const chained = () =>
        read("10-podnet.conflist").plugins.some((p: { type: string }) => p.type === "microseg");
      const until = async (what: string, ok: () => boolean) => {
        for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(ok(), `timed out waiting for ${what}`);
      };
      await until("the first install", () => outcomes.length > 0);
      // The network plugin restarts and writes its list as it knows it.
      write("10-podnet.conflist", network([bridge, portmap]));
      await until("microseg chained again", chained);
      assert.deepEqual(read("10-podnet.conflist").plugins, [bridge, portmap, entry]);
      assert.ok(outcomes.some((o) => !(o instanceof Error) && o.conflistChanged));
      assert.deepEqual(
        outcomes.filter((o) => o instanceof Error),
        [],
      );
    } finally {
      watcher.close();
    }
  });

  it("--uninstall takes microseg out of every list and removes the executable", async () => {
    write("10-podnet.conflist", network([bridge, portmap]));
    write("30-broken.conflist", "{");
    await installCni(options());
    write("20-other.conflist", network([bridge, entry]));
    const r = uninstallCni({ binDir, confDir });
    assert.deepEqual(r.conflists.sort(), [
      join(confDir, "10-podnet.conflist"),
      join(confDir, "20-other.conflist"),
    ]);
    assert.equal(r.unreadable.length, 1);
    assert.equal(r.binaryRemoved, true);
    assert.deepEqual(read("10-podnet.conflist"), network([bridge, portmap]));
    assert.deepEqual(read("20-other.conflist").plugins, [bridge]);
    assert.equal(existsSync(join(binDir, "microseg")), false);
    const again = uninstallCni({ binDir, confDir });
    assert.deepEqual(again.conflists, []);
    assert.equal(again.binaryRemoved, false);
  });

  it("the command installs, and refuses a malformed list with exit status 1", async () => {
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, [cli, "cni-install", ...args], {
        encoding: "utf8",
      }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const dirs = ["--bin-dir", binDir, "--conf-dir", confDir];
    write("10-podnet.conflist", network([bridge, { type: 7 }]));
    const refused = await run(...dirs, "--plugin", plugin);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /10-podnet\.conflist: plugins\[1\]\.type: /);
    write("10-podnet.conflist", network([bridge]));
    const ok = await run(...dirs, "--plugin", plugin, "--socket", "/run/ms/cni.sock");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /chained/);
    assert.deepEqual(read("10-podnet.conflist").plugins, [
      bridge,
      { ...entry, socket: "/run/ms/cni.sock" },
    ]);
    const bad = await run(...dirs, "--plugin", plugin, "--timeout-seconds", "0");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--timeout-seconds: "0"/);
  });
});
