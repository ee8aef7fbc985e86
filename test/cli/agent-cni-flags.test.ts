// `microseg agent`'s CNI and metrics flags refuse bad values before anything touches the
// kernel, naming the flag.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../bin/microseg.js", import.meta.url));
const agent = (...args: string[]) =>
  spawnSync(
    process.execPath,
    [cli, "agent", "--node", "n1", "-f", "/nonexistent", "--no-flows", ...args],
    {
      encoding: "utf8",
      timeout: 60_000,
    },
  );

describe("microseg agent: CNI flags", () => {
  for (const [args, message] of [
    [["--cni-socket", "/run/x/cni.sock"], /--cni-socket needs --workload-iface/],
    [
      ["--cni-socket", "cni.sock", "--workload-iface", "cni0"],
      /--cni-socket: "cni.sock" is not an absolute path/,
    ],
    [["--cni-state", "/tmp/s.json"], /--cni-state needs --cni-socket/],
    [["--metrics-listen", "9091"], /--metrics-listen: "9091" is not HOST:PORT/],
    [["--metrics-listen", "127.0.0.1:99999"], /--metrics-listen: "99999" is not a whole number/],
  ] as const) {
    it(args.join(" "), () => {
      const r = agent(...args);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, message);
    });
  }
});
