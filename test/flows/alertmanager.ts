// Debian's real prometheus-alertmanager on a free loopback port, for the sink and server tests:
// skipped with the reason when it is not installed, an error under CI (npm test installs it).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../agent/kernel-fixtures.ts";

export function alertmanagerSkip(): string | false {
  if (spawnSync("sh", ["-c", "command -v prometheus-alertmanager"]).status === 0) return false;
  if (process.env.CI)
    throw new Error("prometheus-alertmanager missing under CI: npm test installs it as root");
  return "needs Debian's prometheus-alertmanager (npm test installs it as root)";
}

export function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

export interface Alertmanager {
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
  /** The alerts it lists (`GET /api/v2/alerts`). */
  alerts(): Promise<Array<{ labels: Record<string, string>; annotations: Record<string, string> }>>;
  stop(): Promise<void>;
}

export async function startAlertmanager(): Promise<Alertmanager> {
  const dir = mkdtempSync(join(tmpdir(), "msx-am-"));
  writeFileSync(join(dir, "am.yml"), "route:\n  receiver: none\nreceivers:\n  - name: none\n");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const am: ChildProcess = spawn(
    "prometheus-alertmanager",
    [
      `--config.file=${join(dir, "am.yml")}`,
      `--storage.path=${dir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    { stdio: "ignore" },
  );
  const stop = async () => {
    // Alertmanager writes its state on the way out: remove the directory once it has exited.
    if (am.exitCode === null && am.signalCode === null) {
      const gone = new Promise((resolve) => am.once("exit", resolve));
      am.kill("SIGTERM");
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let ready = false;
  try {
    await until(
      "Alertmanager ready",
      () => {
        void fetch(`${base}/-/ready`).then(
          (r) => {
            if (r.ok) ready = true;
          },
          () => {},
        );
        return ready;
      },
      20_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    base,
    alerts: async () => (await fetch(`${base}/api/v2/alerts`)).json() as never,
    stop,
  };
}
