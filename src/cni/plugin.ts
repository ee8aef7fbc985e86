// microseg's chained CNI plugin (CNI spec 1.0.0). The runtime execs it once per sandbox and
// command after the plugin that made the pod's link (Debian's `bridge`, or `ptp`), with the
// network config and the previous result on stdin and CNI_* in the environment:
//   ADD     reports the pod (namespace/name, netns, host interface, MAC, addresses) to the
//           node's agent and exits only when the agent says its isolation and policy are
//           live in the kernel; then prints the previous result through. No confirmation
//           within the config's timeout: an error, and the runtime does not start the pod.
//   DEL     asks the agent to forget the sandbox (rules, bridge port, conntrack entries).
//   CHECK   asks the agent whether the sandbox is enforced as reported.
//   VERSION prints the versions it speaks.
// Errors are the spec's JSON error object on stdout with a non-zero exit status.
//
// Exec'd per pod, so it imports node's built-ins and type-only modules and nothing else (and
// runs as a single executable on nodes without Node: `npm run build:cni`).

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { basename } from "node:path";
import {
  type Attachment,
  CNI_ERRORS,
  type CniAnswer,
  type CniRequest,
  DEFAULT_CNI_SOCKET,
  type PodRef,
} from "./wire.ts";

const SPEC_VERSION = "1.0.0";
const DEFAULT_TIMEOUT_S = 10;

export class CniFailure extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details?: string,
  ) {
    super(msg);
  }
}

interface ResultInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

interface PrevResult {
  cniVersion?: string;
  interfaces?: ResultInterface[];
  ips?: Array<{ address: string; interface?: number }>;
}

interface PluginConfig {
  cniVersion: string;
  name: string;
  socket: string;
  timeoutMs: number;
  prevResult?: PrevResult;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function parseConfig(text: string): PluginConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniFailure(CNI_ERRORS.decode, "network config on stdin is not JSON", String(e));
  }
  if (!isObject(raw)) throw new CniFailure(CNI_ERRORS.decode, "network config is not an object");
  const { cniVersion, name, socket, timeoutSeconds, prevResult } = raw;
  if (cniVersion !== SPEC_VERSION)
    throw new CniFailure(
      CNI_ERRORS.incompatibleVersion,
      `cniVersion ${JSON.stringify(cniVersion)} is not supported (${SPEC_VERSION})`,
    );
  if (typeof name !== "string" || name === "")
    throw new CniFailure(CNI_ERRORS.invalidConfig, "network config: name is missing");
  if (socket !== undefined && (typeof socket !== "string" || !socket.startsWith("/")))
    throw new CniFailure(
      CNI_ERRORS.invalidConfig,
      "network config: socket is not an absolute path",
    );
  if (
    timeoutSeconds !== undefined &&
    (typeof timeoutSeconds !== "number" || !(timeoutSeconds > 0 && timeoutSeconds <= 300))
  )
    throw new CniFailure(
      CNI_ERRORS.invalidConfig,
      "network config: timeoutSeconds is not a number of seconds from 0 to 300",
    );
  if (prevResult !== undefined && !isObject(prevResult))
    throw new CniFailure(CNI_ERRORS.invalidConfig, "network config: prevResult is not an object");
  return {
    cniVersion,
    name,
    socket: (socket as string | undefined) ?? DEFAULT_CNI_SOCKET,
    timeoutMs: ((timeoutSeconds as number | undefined) ?? DEFAULT_TIMEOUT_S) * 1000,
    ...(prevResult ? { prevResult: prevResult as PrevResult } : {}),
  };
}

function env(name: string, environment: NodeJS.ProcessEnv): string {
  const v = environment[name];
  if (!v) throw new CniFailure(CNI_ERRORS.invalidEnvironment, `${name} is not set`);
  return v;
}

/** K8S_POD_NAMESPACE and K8S_POD_NAME from CNI_ARGS (`K=V;K=V`). */
function podOf(environment: NodeJS.ProcessEnv): PodRef {
  const args = new Map<string, string>();
  for (const pair of (environment.CNI_ARGS ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at > 0) args.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const namespace = args.get("K8S_POD_NAMESPACE");
  const name = args.get("K8S_POD_NAME");
  if (!namespace || !name)
    throw new CniFailure(
      CNI_ERRORS.invalidEnvironment,
      "CNI_ARGS: K8S_POD_NAMESPACE and K8S_POD_NAME are needed to bind the sandbox to its pod",
    );
  return { namespace, name };
}

/** The bridge a host interface is a port of, from sysfs. */
function masterOf(iface: string): string | undefined {
  const link = `/sys/class/net/${iface}/master`;
  return existsSync(link) ? basename(readlinkSync(link)) : undefined;
}

/** The pod's link as the previous plugin made it (its result's interfaces and ips). */
function attachmentOf(cfg: PluginConfig, environment: NodeJS.ProcessEnv): Attachment {
  const prev = cfg.prevResult;
  if (!prev)
    throw new CniFailure(
      CNI_ERRORS.invalidConfig,
      "no prevResult: microseg is a chained plugin and runs after the plugin that makes the pod's link (bridge, ptp)",
    );
  const netns = env("CNI_NETNS", environment);
  const ifname = env("CNI_IFNAME", environment);
  const interfaces = prev.interfaces ?? [];
  const inside = interfaces.findIndex((i) => i.sandbox !== undefined && i.name === ifname);
  const hostSide = interfaces.filter((i) => !i.sandbox);
  // A bridge plugin reports the bridge and the port; the port is the one with a master.
  const port = hostSide.find((i) => masterOf(i.name) !== undefined);
  const host = port ?? (hostSide.length === 1 ? hostSide[0] : undefined);
  if (!host)
    throw new CniFailure(
      CNI_ERRORS.invalidConfig,
      "prevResult.interfaces: no host-side interface of the pod (a bridge port or one routed veth)",
    );
  const ips = (prev.ips ?? []).filter(
    (ip) => ip.interface === undefined || ip.interface === inside,
  );
  if (ips.length === 0)
    throw new CniFailure(CNI_ERRORS.invalidConfig, `prevResult.ips: no address on ${ifname}`);
  const bridge = port ? masterOf(port.name) : undefined;
  const mac = inside >= 0 ? interfaces[inside]?.mac?.toLowerCase() : undefined;
  if (bridge && !mac)
    throw new CniFailure(
      CNI_ERRORS.invalidConfig,
      `prevResult.interfaces: no MAC of ${ifname}; a bridge port is checked by it`,
    );
  return {
    containerId: env("CNI_CONTAINERID", environment),
    pod: podOf(environment),
    netns,
    ifname,
    hostInterface: host.name,
    ...(bridge ? { bridge } : {}),
    ...(mac ? { mac } : {}),
    addresses: ips.map((ip) => ip.address.split("/")[0] ?? ip.address),
  };
}

/** `ip` from iproute2, which every node has (the runtime's PATH may leave out sbin). */
function ip(...args: string[]): void {
  execFileSync("ip", args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin:/usr/bin:/bin` },
  });
}

const ipv6 = (addresses: readonly string[]) => addresses.filter((x) => x.includes(":"));

/**
 * On a bridge, pods must reach each other through the host, where the inet table judges them:
 * the port is isolated (no bridging to other isolated ports) and the bridge answers ARP for
 * the other pods of its subnet (proxy_arp_pvlan) without telling them to go direct. IPv6 has
 * no such switch: the node answers neighbour solicitations for each of the pod's IPv6
 * addresses from the other ports (a proxy entry per address, answered at once). The agent's
 * bridge table drops port-to-port frames whatever these say; they keep pods working.
 */
function routeThroughHost(a: Attachment): void {
  if (!a.bridge) return;
  writeFileSync(`/sys/class/net/${a.hostInterface}/brport/isolated`, "1");
  for (const [key, value] of [
    ["proxy_arp_pvlan", "1"],
    ["send_redirects", "0"],
  ] as const) {
    writeFileSync(`/proc/sys/net/ipv4/conf/${a.bridge}/${key}`, value);
  }
  const v6 = ipv6(a.addresses);
  if (v6.length === 0) return;
  writeFileSync(`/proc/sys/net/ipv6/conf/${a.bridge}/proxy_ndp`, "1");
  writeFileSync(`/proc/sys/net/ipv6/neigh/${a.bridge}/proxy_delay`, "0");
  for (const address of v6) ip("-6", "neigh", "replace", "proxy", address, "dev", a.bridge);
}

/**
 * DEL: the proxy entries of the sandbox's IPv6 addresses, from the cached result. One left
 * behind (no result, bridge gone) only makes the node answer for an address nobody has: what
 * is sent to it then meets the inet table, which has no endpoint for it.
 */
function forgetProxies(prev: PrevResult | undefined): void {
  const hostSide = (prev?.interfaces ?? []).filter((i) => !i.sandbox);
  const bridge = hostSide.find((i) => existsSync(`/sys/class/net/${i.name}/bridge`))?.name;
  if (!bridge) return;
  const addresses = (prev?.ips ?? []).map((x) => x.address.split("/")[0] ?? x.address);
  for (const address of ipv6(addresses)) {
    try {
      ip("-6", "neigh", "del", "proxy", address, "dev", bridge);
    } catch {
      // Already gone (a DEL run twice, the bridge removed): nothing to forget.
    }
  }
}

/** One request to the agent; its answer, or a failure when it is not there or too slow. */
export function ask(socket: string, request: CniRequest): Promise<CniAnswer> {
  return new Promise((resolve, reject) => {
    let answer = "";
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      fn();
    };
    const conn = connect(socket);
    // A little past the agent's own deadline, so its answer (success or why not) arrives.
    const timer = setTimeout(
      () =>
        done(() =>
          reject(
            new CniFailure(
              CNI_ERRORS.notConfirmed,
              `the agent did not answer within ${request.timeoutMs} ms`,
              socket,
            ),
          ),
        ),
      request.timeoutMs + 2000,
    );
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.write(`${JSON.stringify(request)}\n`));
    conn.on("data", (chunk: string) => {
      answer += chunk;
      const end = answer.indexOf("\n");
      if (end < 0) return;
      done(() => {
        try {
          resolve(JSON.parse(answer.slice(0, end)) as CniAnswer);
        } catch (e) {
          reject(new CniFailure(CNI_ERRORS.io, "the agent's answer is not JSON", String(e)));
        }
      });
    });
    conn.on("error", (e: NodeJS.ErrnoException) =>
      done(() =>
        reject(
          new CniFailure(
            CNI_ERRORS.tryAgainLater,
            `the node's microseg agent is not reachable on ${socket} (${e.code ?? e.message})`,
          ),
        ),
      ),
    );
    conn.on("end", () =>
      done(() => reject(new CniFailure(CNI_ERRORS.io, "the agent closed without answering"))),
    );
  });
}

async function confirmed(socket: string, request: CniRequest): Promise<void> {
  const answer = await ask(socket, request);
  if (!answer.ok) throw new CniFailure(answer.code, answer.msg, answer.details);
}

export interface PluginIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: string;
}

/** Runs one command; returns what goes to stdout. Throws CniFailure for the error object. */
export async function runPlugin(io: PluginIo): Promise<string> {
  const command = env("CNI_COMMAND", io.env);
  if (command === "VERSION")
    return JSON.stringify({ cniVersion: SPEC_VERSION, supportedVersions: [SPEC_VERSION] });
  const cfg = parseConfig(io.stdin);
  switch (command) {
    case "ADD": {
      const attachment = attachmentOf(cfg, io.env);
      routeThroughHost(attachment);
      await confirmed(cfg.socket, { op: "add", attachment, timeoutMs: cfg.timeoutMs });
      return JSON.stringify({ ...cfg.prevResult, cniVersion: cfg.cniVersion });
    }
    case "DEL": {
      const containerId = env("CNI_CONTAINERID", io.env);
      let pod: PodRef | undefined;
      try {
        pod = podOf(io.env);
      } catch {
        // DEL must work with whatever the runtime still knows; the container id is enough.
      }
      forgetProxies(cfg.prevResult);
      await confirmed(cfg.socket, {
        op: "del",
        containerId,
        ...(pod ? { pod } : {}),
        timeoutMs: cfg.timeoutMs,
      });
      return "";
    }
    case "CHECK": {
      if (!cfg.prevResult) throw new CniFailure(CNI_ERRORS.invalidConfig, "CHECK needs prevResult");
      await confirmed(cfg.socket, {
        op: "check",
        containerId: env("CNI_CONTAINERID", io.env),
        pod: podOf(io.env),
        timeoutMs: cfg.timeoutMs,
      });
      return "";
    }
    default:
      throw new CniFailure(
        CNI_ERRORS.invalidEnvironment,
        `CNI_COMMAND: "${command}" is not ADD, DEL, CHECK or VERSION`,
      );
  }
}

/** The process: stdin, environment, stdout and the exit status as the spec has them. */
export async function main(): Promise<void> {
  const command = process.env.CNI_COMMAND;
  let stdin = "";
  try {
    stdin = command === "VERSION" ? "" : readFileSync(0, "utf8");
  } catch (e) {
    stdin = "";
    process.stderr.write(`microseg: cannot read stdin: ${String(e)}\n`);
  }
  try {
    const out = await runPlugin({ env: process.env, stdin });
    if (out) process.stdout.write(`${out}\n`);
    process.exitCode = 0;
  } catch (e) {
    const failure =
      e instanceof CniFailure
        ? e
        : new CniFailure(CNI_ERRORS.io, e instanceof Error ? e.message : String(e));
    const error = {
      cniVersion: SPEC_VERSION,
      code: failure.code,
      msg: failure.message,
      ...(failure.details ? { details: failure.details } : {}),
    };
    process.stdout.write(`${JSON.stringify(error)}\n`);
    process.exitCode = 1;
  }
}
