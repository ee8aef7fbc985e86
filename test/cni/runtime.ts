// A container runtime's CNI side, as libcni does it: a conflist's plugins exec'd in order for
// ADD (each given the previous one's result as prevResult) and CHECK, in reverse for DEL (with
// the cached final result), from CNI_PATH, in the node's network namespace, with the CNI_*
// environment and the plugin's config on stdin. A failed ADD is undone with a DEL, as the
// kubelet tears down a sandbox whose network did not come up.

import { spawn } from "node:child_process";
import { join } from "node:path";

export interface Sandbox {
  readonly containerId: string;
  /** ip netns name of the pod's namespace (CNI_NETNS is its /run/netns path). */
  readonly netns: string;
  readonly namespace: string;
  readonly pod: string;
  /** Asked of host-local through CNI_ARGS IP=. */
  readonly ip?: string;
}

export interface PluginRun {
  readonly type: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class CniError extends Error {
  constructor(
    readonly run: PluginRun,
    readonly error: { code?: number; msg?: string; details?: string },
  ) {
    super(`${run.type} failed (exit ${run.code}): ${run.stdout || run.stderr}`);
  }
}

export interface ConfList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: ReadonlyArray<Record<string, unknown> & { type: string }>;
}

/** Final ADD results by container id, as libcni keeps them in its cache directory. */
const results = new Map<string, unknown>();

export class Runtime {
  constructor(
    readonly binDir: string,
    readonly nodeNetns: string,
    readonly conf: ConfList,
  ) {}

  exec(
    type: string,
    command: string,
    sandbox: Sandbox | undefined,
    stdin: string,
  ): Promise<PluginRun> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      CNI_COMMAND: command,
      CNI_PATH: this.binDir,
    };
    if (sandbox) {
      env.CNI_CONTAINERID = sandbox.containerId;
      env.CNI_NETNS = `/run/netns/${sandbox.netns}`;
      env.CNI_IFNAME = "eth0";
      env.CNI_ARGS = [
        "IgnoreUnknown=1",
        `K8S_POD_NAMESPACE=${sandbox.namespace}`,
        `K8S_POD_NAME=${sandbox.pod}`,
        `K8S_POD_INFRA_CONTAINER_ID=${sandbox.containerId}`,
        ...(sandbox.ip ? [`IP=${sandbox.ip}`] : []),
      ].join(";");
    }
    const child = spawn("ip", ["netns", "exec", this.nodeNetns, join(this.binDir, type)], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    child.stdin.end(stdin);
    return new Promise((resolve) =>
      child.on("close", (code) => resolve({ type, code, stdout: stdout.trim(), stderr })),
    );
  }

  #config(plugin: Record<string, unknown>, prevResult: unknown): string {
    return JSON.stringify({
      ...plugin,
      cniVersion: this.conf.cniVersion,
      name: this.conf.name,
      ...(prevResult === undefined ? {} : { prevResult }),
    });
  }

  async #run(
    plugin: ConfList["plugins"][number],
    command: string,
    sandbox: Sandbox,
    prev: unknown,
  ): Promise<PluginRun> {
    const run = await this.exec(plugin.type, command, sandbox, this.#config(plugin, prev));
    if (run.code !== 0) {
      let error: CniError["error"] = {};
      try {
        error = JSON.parse(run.stdout) as CniError["error"];
      } catch {
        // Not the spec's error object: the message says what came out.
      }
      throw new CniError(run, error);
    }
    return run;
  }

  /** ADD through the chain; the final result. On failure the chain is deleted again. */
  async add(
    sandbox: Sandbox,
    afterEach?: (type: string, result: unknown) => void,
  ): Promise<unknown> {
    let prev: unknown;
    try {
      for (const plugin of this.conf.plugins) {
        const run = await this.#run(plugin, "ADD", sandbox, prev);
        prev = JSON.parse(run.stdout);
        afterEach?.(plugin.type, prev);
      }
    } catch (e) {
      await this.del(sandbox, prev).catch(() => undefined);
      throw e;
    }
    results.set(sandbox.containerId, prev);
    return prev;
  }

  async check(sandbox: Sandbox): Promise<void> {
    const prev = results.get(sandbox.containerId);
    for (const plugin of this.conf.plugins) await this.#run(plugin, "CHECK", sandbox, prev);
  }

  /** DEL in reverse order; every plugin runs, the first failure is thrown after. */
  async del(sandbox: Sandbox, result = results.get(sandbox.containerId)): Promise<void> {
    let failure: unknown;
    for (const plugin of [...this.conf.plugins].reverse()) {
      try {
        await this.#run(plugin, "DEL", sandbox, result);
      } catch (e) {
        failure ??= e;
      }
    }
    results.delete(sandbox.containerId);
    if (failure) throw failure;
  }
}
