import type { Command } from "commander";
import { Agent, isLogLevel, jsonLogger, ManifestSource } from "../../agent/index.ts";
import { KernelConntrack } from "../../dataplane/conntrack.ts";
import {
  DEFAULT_ENFORCEMENT,
  type EnforcementConfig,
  parseEndpointToHostAction,
  parseFailsafe,
} from "../../dataplane/nftables/index.ts";
import { parseDuration } from "../../model/index.ts";
import { KernelNftables } from "../../nft/index.ts";
import { CliError } from "../load.ts";

interface AgentFlags {
  node: string;
  filename: string[];
  netns?: string;
  table: string;
  resyncInterval: string;
  pollInterval: string;
  readyFile?: string;
  statusFile?: string;
  workloadIface: string[];
  workloadCidr: string[];
  nflogGroup: string;
  failsafeIn: string;
  failsafeOut: string;
  endpointToHost: string;
  podIfacePrefix: string;
  sourceSpoofing: boolean;
  logLevel: string;
}

function duration(flag: string, text: string): number {
  const ms = text === "0" ? 0 : parseDuration(text);
  if (ms === undefined) throw new CliError(`${flag}: "${text}" is not a duration such as 30s`);
  return ms;
}

function enforcement(f: AgentFlags): EnforcementConfig {
  const group = Number(f.nflogGroup);
  if (!Number.isInteger(group) || group < 0 || group > 65535)
    throw new CliError(`--nflog-group: "${f.nflogGroup}" is not 0-65535`);
  if (!/^[a-zA-Z0-9_-]{1,14}$/.test(f.podIfacePrefix))
    throw new CliError(
      `--pod-iface-prefix: "${f.podIfacePrefix}" is not 1-14 letters, digits, _ or -`,
    );
  let endpointToHostAction: EnforcementConfig["endpointToHostAction"];
  try {
    endpointToHostAction = parseEndpointToHostAction(f.endpointToHost);
  } catch (e) {
    throw new CliError(`--endpoint-to-host: ${(e as Error).message}`);
  }
  try {
    return {
      ...DEFAULT_ENFORCEMENT,
      endpointToHostAction,
      podInterfacePrefix: f.podIfacePrefix,
      workloadSourceSpoofing: f.sourceSpoofing,
      table: f.table,
      workloadInterfaces: f.workloadIface,
      workloadCidrs: f.workloadCidr,
      nflogGroup: group,
      failsafeInbound: parseFailsafe(f.failsafeIn),
      failsafeOutbound: parseFailsafe(f.failsafeOut),
    };
  } catch (e) {
    throw new CliError(`--failsafe-in/--failsafe-out: ${(e as Error).message}`);
  }
}

export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description(
      "enforce manifests on this node in nftables (table inet microseg), following file changes",
    )
    .requiredOption("--node <name>", "this node's name: its pods and host endpoints get chains")
    .requiredOption("-f, --filename <paths...>", "manifest files or directories, watched")
    .option("--netns <name>", "run nft in this network namespace (ip netns)")
    .option("--table <name>", "nftables table (family inet)", DEFAULT_ENFORCEMENT.table)
    .option("--resync-interval <duration>", "drift check and repair period; 0 for none", "30s")
    .option("--poll-interval <duration>", "how often the manifest files are checked", "200ms")
    .option("--ready-file <path>", "written once the first full sync is applied")
    .option("--status-file <path>", "JSON status, rewritten after every apply")
    .option(
      "--workload-iface <pattern...>",
      "interfaces leading to local workloads (nft wildcard, e.g. 'veth*')",
      [],
    )
    .option("--workload-cidr <cidr...>", "workload address ranges, closed until the first sync", [])
    .option("--nflog-group <n>", "NFLOG group of Log and Deny rules", "1")
    .option("--failsafe-in <ports>", "always open into the node", "tcp:22,tcp:2379-2380")
    .option("--failsafe-out <ports>", "always open out of the node", "tcp:2379-2380,udp:53")
    .option(
      "--endpoint-to-host <action>",
      "workload traffic to the node itself after its egress policy: Drop, Accept or Return (to host endpoint policy)",
      "Drop",
    )
    .option(
      "--pod-iface-prefix <prefix>",
      "pods' host-side interfaces are <prefix> + sha1(<namespace>.<pod>), as Calico's CNI plugin names them",
      DEFAULT_ENFORCEMENT.podInterfacePrefix,
    )
    .option(
      "--source-spoofing",
      "let workloads send from their allowSpoofedSourcePrefixes (Felix's WorkloadSourceSpoofing: Any)",
      false,
    )
    .option("--log-level <level>", "debug, info, warn or error", "info")
    .action(async (f: AgentFlags) => {
      if (!isLogLevel(f.logLevel))
        throw new CliError(`--log-level: "${f.logLevel}" is not debug, info, warn or error`);
      const log = jsonLogger({ level: f.logLevel, base: { node: f.node } });
      const agent = new Agent({
        node: f.node,
        source: new ManifestSource(f.filename, {
          pollMs: duration("--poll-interval", f.pollInterval),
        }),
        nft: new KernelNftables(f.netns ? { netns: f.netns } : {}),
        conntrack: new KernelConntrack(f.netns ? { netns: f.netns } : {}),
        enforcement: enforcement(f),
        log,
        resyncIntervalMs: duration("--resync-interval", f.resyncInterval),
        ...(f.readyFile ? { readyFile: f.readyFile } : {}),
        ...(f.statusFile ? { statusFile: f.statusFile } : {}),
      });
      // The table outlives the agent: stopping leaves the kernel enforcing the last state.
      const stop = (signal: string) => {
        log.info("stopping; the ruleset stays in place", { signal });
        void agent.stop().then(() => process.exit(0));
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
      process.on("SIGHUP", () => void agent.checkDrift());
      try {
        await agent.start();
      } catch (e) {
        log.error("cannot start", { error: e });
        process.exit(1);
      }
    });
}
