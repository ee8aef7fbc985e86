// `microseg up` as a test runs it: a child process of the CLI whose output is collected, started
// on a lab id of its own (suites that run `up` run beside each other), and awaited until its
// banner is out. Also the bounded wait and the cell shape of `lab probe` and `matrix` the
// suites that drive it share.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const cli = join(root, "bin/microseg.js");

/** One verdict of `microseg lab probe -o json` or `microseg matrix -o json`. */
export interface Cell {
  from: string;
  to: string;
  port: number;
  protocol: string;
  allowed: boolean;
}

export const cellKey = (c: Cell) => `${c.from} -> ${c.to} ${c.port}/${c.protocol}`;

/** Polls `check` every 100 ms until it gives a value; throws after `ms`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface UpProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** The lab id it runs: its namespaces are `ms-ID-…`. */
  readonly labId: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/**
 * Starts `microseg up ARGS --lab-id <random>` and resolves once its banner ("Ctrl-C …") is out;
 * an `up` that exits first, or is not up within `bannerMs`, fails with what it printed.
 */
export async function startUp(args: readonly string[], bannerMs: number): Promise<UpProcess> {
  const labId = `u${randomBytes(3).toString("hex")}`;
  const child = spawn(process.execPath, [cli, "up", ...args, "--lab-id", labId], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const collect = (d: Buffer) => {
    out += d;
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    await until(
      "microseg up's banner",
      () => {
        if (child.exitCode !== null)
          throw new Error(`microseg up exited ${child.exitCode}: ${out}`);
        return out.includes("Ctrl-C") ? true : undefined;
      },
      bannerMs,
    );
  } catch (e) {
    // SIGINT is up's own teardown: its lab goes with it.
    if (child.exitCode === null) child.kill("SIGINT");
    await exited;
    throw e;
  }
  return { child, exited, labId, output: () => out };
}
