// `microseg cni-install`: what the agent DaemonSet's init container does on each node, as
// Calico's install-cni does: the plugin's single executable into the host's CNI bin directory
// and microseg chained into the network configuration the runtime uses (the first file of the
// configuration directory, in libcni's order). Every write is a rename of a finished file, so
// the runtime never execs half a binary or reads half a configuration; the configuration is
// checked before anything is written, so a file microseg cannot chain into changes nothing.

import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from "node:fs";
import { basename, extname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ConflistError,
  chainMicroseg,
  conflistText,
  hasMicroseg,
  PLUGIN_TYPE,
  readNetwork,
  unchainMicroseg,
} from "./conflist.ts";

/** libcni's extensions; the runtime takes the first such file by name. */
const NETWORK_FILE = /\.(conf|conflist|json)$/;

export interface InstallOptions {
  /** The host's CNI bin directory (mounted from /opt/cni/bin). */
  readonly binDir: string;
  /** The host's CNI configuration directory (mounted from /etc/cni/net.d). */
  readonly confDir: string;
  /** The plugin's executable to install (`npm run build:cni`'s dist/microseg-cni). */
  readonly plugin: string;
  /** The agent's CNI socket, as the host sees it. */
  readonly socket: string;
  readonly timeoutSeconds: number;
  /** A file of confDir to chain into instead of the runtime's first. */
  readonly conflist?: string;
  /** How long to wait for the cluster's network plugin to write its configuration. */
  readonly waitSeconds?: number;
}

export interface InstallReport {
  readonly binary: string;
  readonly binaryChanged: boolean;
  readonly conflist: string;
  readonly conflistChanged: boolean;
}

const networkFiles = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => NETWORK_FILE.test(f))
        .sort()
    : [];

async function networkFile(o: InstallOptions): Promise<string> {
  const attempts = Math.max(1, Math.ceil(o.waitSeconds ?? 0) + 1);
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(1000);
    if (o.conflist !== undefined) {
      const path = join(o.confDir, o.conflist);
      if (existsSync(path)) return path;
    } else {
      const first = networkFiles(o.confDir)[0];
      if (first !== undefined) return join(o.confDir, first);
    }
  }
  throw new Error(
    o.conflist !== undefined
      ? `${join(o.confDir, o.conflist)}: no such file`
      : `${o.confDir}: no CNI network configuration (.conf, .conflist, .json): the cluster's network plugin has not written one`,
  );
}

/** Writes `data` to `path` through a temporary file beside it, keeping `mode`. */
function replaceFile(path: string, write: (temporary: string) => void, mode: number): void {
  // Not a CNI extension, so the runtime never reads it as a network.
  const temporary = join(
    path.slice(0, -basename(path).length),
    `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    write(temporary);
    chmodSync(temporary, mode);
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

function sameFile(a: string, b: string): boolean {
  if (!existsSync(b) || statSync(a).size !== statSync(b).size) return false;
  return readFileSync(a).equals(readFileSync(b));
}

/** Installs the executable and chains microseg into the network; safe to run again. */
export async function installCni(o: InstallOptions): Promise<InstallReport> {
  if (!existsSync(o.plugin)) throw new Error(`--plugin ${o.plugin}: no such file`);
  const source = await networkFile(o);
  const net = readNetwork(source, readFileSync(source, "utf8"));
  const entry = { type: PLUGIN_TYPE, socket: o.socket, timeoutSeconds: o.timeoutSeconds };
  const text = conflistText(chainMicroseg(source, net, entry));
  // A .conf or .json holds one plugin: the chain is written as a .conflist in its place.
  const target = extname(source) === ".conflist" ? source : source.replace(/\.\w+$/, ".conflist");

  const binary = join(o.binDir, PLUGIN_TYPE);
  const binaryChanged = !sameFile(o.plugin, binary);
  // The executable first: a configuration naming a plugin not there yet fails every ADD.
  if (binaryChanged) replaceFile(binary, (t) => copyFileSync(o.plugin, t), 0o755);
  const conflistChanged =
    target !== source || !existsSync(target) || readFileSync(target, "utf8") !== text;
  if (conflistChanged) {
    const mode = statSync(source).mode & 0o777;
    replaceFile(target, (t) => writeFileSync(t, text), mode);
    if (target !== source) rmSync(source, { force: true });
  }
  return { binary, binaryChanged, conflist: target, conflistChanged };
}

/** How long a burst of changes in the directory is let settle before installing again. */
const SETTLE_MS = 200;
/** Installs again this often even when no change was seen (a missed inotify event). */
const RECHECK_MS = 30_000;

/**
 * Keeps microseg chained: installs again whenever the configuration directory changes (the
 * network plugin rewrites its list when it restarts, without microseg) and every 30 s. An
 * install that changes nothing writes nothing, so its own writes settle at once. Each
 * install's outcome goes to `report`.
 */
export function watchCni(
  o: InstallOptions,
  report: (outcome: InstallReport | Error) => void,
): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const install = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      report(await installCni({ ...o, waitSeconds: 0 }));
    } catch (e) {
      report(e instanceof Error ? e : new Error(String(e)));
    } finally {
      running = false;
      if (again) {
        again = false;
        soon();
      }
    }
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(install, SETTLE_MS);
  };
  const watcher = watch(o.confDir, soon);
  const recheck = setInterval(install, RECHECK_MS);
  soon();
  return {
    close() {
      watcher.close();
      clearInterval(recheck);
      clearTimeout(timer);
    },
  };
}

export interface UninstallReport {
  /** Network files microseg was taken out of. */
  readonly conflists: string[];
  /** Network lists that could not be read (left as they are, microseg or not). */
  readonly unreadable: string[];
  readonly binaryRemoved: boolean;
}

/** Takes microseg out of every network list of confDir that names it, then the executable. */
export function uninstallCni(o: Pick<InstallOptions, "binDir" | "confDir">): UninstallReport {
  const conflists: string[] = [];
  const unreadable: string[] = [];
  // Only lists can hold microseg: install turns a one-plugin file into a list.
  for (const name of networkFiles(o.confDir).filter((f) => f.endsWith(".conflist"))) {
    const path = join(o.confDir, name);
    let net: ReturnType<typeof readNetwork>;
    try {
      net = readNetwork(path, readFileSync(path, "utf8"));
    } catch (e) {
      if (!(e instanceof ConflistError)) throw e;
      unreadable.push(e.message);
      continue;
    }
    if (!hasMicroseg(net)) continue;
    const text = conflistText(unchainMicroseg(net));
    replaceFile(path, (t) => writeFileSync(t, text), statSync(path).mode & 0o777);
    conflists.push(path);
  }
  const binary = join(o.binDir, PLUGIN_TYPE);
  const binaryRemoved = existsSync(binary);
  rmSync(binary, { force: true });
  return { conflists, unreadable, binaryRemoved };
}
