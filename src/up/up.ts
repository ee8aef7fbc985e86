// `microseg up`: the product on one machine. One process tree: the API server (a supervised
// child on the store file), and, as root with nftables, a lab of network namespaces whose pods
// follow the store and whose node agents follow the API server (restarted, as the server is,
// when one exits: agent-supervisor.ts). State lives under one directory: the store
// (`store.db`), flow records and alerts (`flows.db`), logs, and the lab (`lab/`, so
// `microseg lab probe --state-dir DIR/lab` reaches it). Stopping takes everything down and
// leaves nothing behind but the stores.

import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient } from "../client/index.ts";
import { Lab, LabStoreFollower, labSpecFromManifests } from "../lab/index.ts";
import { formatManifestError, loadManifests, type Resource } from "../model/index.ts";
import { superviseAgents } from "./agent-supervisor.ts";
import { ServerProcess } from "./server-process.ts";

export const EXAMPLES_DIR = fileURLToPath(new URL("../../examples", import.meta.url));

export interface UpOptions {
  readonly stateDir: string;
  readonly listen: string;
  /** Defaults to `sqlite:<stateDir>/store.db`. */
  readonly datastore?: string;
  readonly tokenFile?: string;
  /** Applied (one transaction) at start; the examples when absent and the store is new. */
  readonly filenames?: readonly string[];
  readonly examples: boolean;
  readonly lab: boolean;
  readonly nodes: number;
  /** The lab's id, which starts its namespaces' names (`ms-ID-`); `up` when absent. */
  readonly labId?: string;
  /** Progress and notices for the user (a line each). */
  readonly say: (line: string) => void;
}

export interface Running {
  readonly api: string;
  readonly datastore: string;
  readonly stateDir: string;
  /** Why nothing is enforced, when nothing is. */
  readonly notEnforced?: string;
  readonly lab?: Lab;
  readonly applied?: { readonly objects: number; readonly from: string };
  stop(): Promise<void>;
}

/** Why this machine cannot run the lab, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "not running as root (network namespaces need it)";
  const nft = spawnSync("sh", ["-c", "command -v nft && command -v ip"], { stdio: "ignore" });
  if (nft.status !== 0) return "nft or ip not found (install Debian's nftables and iproute2)";
  return undefined;
}

async function loadOrThrow(paths: readonly string[]): Promise<Resource[]> {
  const result = await loadManifests(paths);
  if (!result.ok) {
    throw Object.assign(
      new Error(`manifests rejected:\n  ${result.errors.map(formatManifestError).join("\n  ")}`),
      { code: "up.manifests" },
    );
  }
  return result.resources;
}

/** A new store holds the built-in tiers and nothing else. */
const isNewStore = (items: readonly Resource[]) => items.every((r) => r.kind === "Tier");

export async function up(opts: UpOptions): Promise<Running> {
  const stateDir = resolve(opts.stateDir);
  mkdirSync(stateDir, { recursive: true });
  const datastore = opts.datastore ?? `sqlite:${join(stateDir, "store.db")}`;
  const token = opts.tokenFile ? readFileSync(opts.tokenFile, "utf8").trim() : undefined;
  const logFd = openSync(join(stateDir, "server.log"), "a");
  const server = new ServerProcess({
    datastore,
    listen: opts.listen,
    ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}),
    // The agents ship flow records and alerts here; it outlives restarts as the store does.
    flowStore: join(stateDir, "flows.db"),
    pidFile: join(stateDir, "server.pid"),
    logFd,
    onEvent: (e) =>
      opts.say(
        e.type === "back"
          ? `API server is back at ${server.url}`
          : `API server exited (${e.code}); restarting. Agents keep enforcing the last state.`,
      ),
  });
  const cleanups: (() => Promise<void> | void)[] = [() => closeSync(logFd)];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    opts.say(`starting the API server on ${opts.listen} (store ${datastore})`);
    await server.start();
    cleanups.push(() => server.stop());
    const client = new ApiClient({ server: server.url, ...(token ? { token } : {}) });

    let applied: Running["applied"];
    const current = await client.snapshot();
    const paths = opts.filenames?.length
      ? opts.filenames
      : opts.examples && isNewStore(current.items)
        ? [EXAMPLES_DIR]
        : [];
    if (paths.length) {
      const resources = await loadOrThrow(paths);
      opts.say(`applying ${resources.length} objects from ${paths.join(", ")}`);
      await client.applySet(resources);
      applied = { objects: resources.length, from: paths.join(", ") };
    }

    const unavailable = opts.lab ? labUnavailable() : "--no-lab";
    if (unavailable) {
      return {
        api: server.url,
        datastore,
        stateDir,
        notEnforced: unavailable,
        ...(applied ? { applied } : {}),
        stop,
      };
    }

    opts.say(`starting the lab: ${opts.nodes} nodes, a pod per workload, an agent per node`);
    const snapshot = await client.snapshot();
    const nodes = Array.from({ length: opts.nodes }, (_, i) => `node-${i + 1}`);
    const spec = labSpecFromManifests(snapshot.items, { nodes });
    const lab = await Lab.up(spec, {
      id: opts.labId ?? "up",
      stateDir: join(stateDir, "lab"),
      server: { url: server.url, ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}) },
    });
    // up's own stop() takes the lab down in order (Ctrl-C included); the exit hook covers a
    // crash, synchronously, as the lab's own teardown would.
    lab.detach();
    const onExit = () => {
      lab.down();
      server.kill();
    };
    process.once("exit", onExit);
    cleanups.push(() => {
      process.off("exit", onExit);
      const left = lab.down();
      const leftover = [...left.leftover, ...left.processes];
      if (leftover.length) opts.say(`could not remove: ${leftover.join(", ")}`);
    });
    // Stopped before the lab goes down (cleanups run in reverse), so teardown restarts nothing.
    const supervisor = superviseAgents(lab, { say: opts.say });
    cleanups.push(() => supervisor.stop());
    const follower = new LabStoreFollower(
      lab,
      {
        snapshot: () => client.snapshot(),
        watch: (o, l) => client.watch(o, l),
        apply: (resources) => client.applySet(resources),
      },
      {
        onRound: (r) => {
          if (r.error)
            opts.say(`lab could not follow the store at revision ${r.revision}: ${r.error}`);
          else if (r.added.length || r.removed.length)
            opts.say(`lab: +${r.added.length} -${r.removed.length} pods (revision ${r.revision})`);
        },
      },
    );
    await follower.start();
    cleanups.push(() => follower.stop());
    await waitEnforced(lab, client, 60_000);
    return {
      api: server.url,
      datastore,
      stateDir,
      lab,
      ...(applied ? { applied } : {}),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Until every node's agent enforces the store's current revision. */
export async function waitEnforced(lab: Lab, client: ApiClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const revision = await client.revision();
    const behind = [...lab.agentRevisions()].filter(([, r]) => r < revision).map(([n]) => n);
    if (behind.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `agents on ${behind.join(", ")} not at revision ${revision} after ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}
