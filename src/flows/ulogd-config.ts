// ulogd2's configuration for one node: an NFLOG input per group (each stamping its group as the
// record's numeric label), all into one JSON output file the agent follows; with `conntrack`, an
// NFCT input of connection ends (DESTROY events, which carry the counters) into a JSON output of
// its own (one JSON instance cannot serve stacks of different inputs: ulogd2 then writes only
// the first stack's records). The config names the plugins by path; Debian installs them under
// /usr/lib/<triplet>/ulogd.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface UlogdConfig {
  /** NFLOG groups to read (deny, log, allowed-connection groups; may be one). */
  readonly groups: readonly number[];
  /** The JSON lines file ulogd2 writes. */
  readonly outputFile: string;
  /** Where connection ends go; no conntrack input when unset. */
  readonly conntrackFile?: string;
  /** ulogd2's own log. */
  readonly logFile: string;
  readonly pluginDir: string;
}

const PLUGINS = [
  "ulogd_inppkt_NFLOG.so",
  "ulogd_raw2packet_BASE.so",
  "ulogd_filter_IFINDEX.so",
  "ulogd_filter_IP2STR.so",
  "ulogd_output_JSON.so",
];

const CONNTRACK_PLUGIN = "ulogd_inpflow_NFCT.so";

/** Whether ulogd2's conntrack input is installed beside the others. */
export const hasConntrackPlugin = (pluginDir: string): boolean =>
  existsSync(join(pluginDir, CONNTRACK_PLUGIN));

/** Where Debian's ulogd2 and ulogd2-json put their plugins; undefined when they are missing. */
export function findPluginDir(): string | undefined {
  const candidates = ["/usr/lib/ulogd", "/usr/lib64/ulogd"];
  if (existsSync("/usr/lib")) {
    for (const d of readdirSync("/usr/lib")) candidates.push(join("/usr/lib", d, "ulogd"));
  }
  return candidates.find((dir) => PLUGINS.every((p) => existsSync(join(dir, p))));
}

const quote = (s: string) => {
  if (/["\n]/.test(s))
    throw new Error(`ulogd config: path ${JSON.stringify(s)} has a quote or newline`);
  return `"${s}"`;
};

export function renderUlogdConfig(c: UlogdConfig): string {
  if (c.groups.length === 0) throw new Error("ulogd config: groups: at least one NFLOG group");
  for (const g of c.groups) {
    if (!Number.isInteger(g) || g < 0 || g > 65535) {
      throw new Error(`ulogd config: groups: ${g} is not an NFLOG group (0-65535)`);
    }
  }
  const lines = [
    "[global]",
    `logfile=${quote(c.logFile)}`,
    "loglevel=3",
    ...[...PLUGINS, ...(c.conntrackFile ? [CONNTRACK_PLUGIN] : [])].map(
      (p) => `plugin=${quote(join(c.pluginDir, p))}`,
    ),
    // One stack per group; they share the JSON output instance `out`.
    ...c.groups.map(
      (g) => `stack=nflog${g}:NFLOG,base${g}:BASE,ifi${g}:IFINDEX,ip2str${g}:IP2STR,out:JSON`,
    ),
    ...(c.conntrackFile ? ["stack=ct:NFCT,ctip2str:IP2STR,ctout:JSON"] : []),
    "",
  ];
  for (const g of c.groups) {
    lines.push(
      `[nflog${g}]`,
      `group=${g}`,
      // Hand each packet over at once: alerts are due within a second of the packet.
      "netlink_qthreshold=1",
      `numeric_label=${g}`,
      // Room for bursts: a full socket buffer loses records (counted by the kernel).
      "netlink_socket_buffer_size=1048576",
      "netlink_socket_buffer_maxsize=8388608",
      "",
    );
  }
  lines.push("[out]", `file=${quote(c.outputFile)}`, "sync=1", "");
  if (c.conntrackFile) {
    lines.push(
      "[ct]",
      // DESTROY only: the one event that carries the connection's counters.
      "event_mask=0x00000004",
      // Start and end come from the kernel's timestamps, so ulogd2 keeps no table of its own.
      "hash_enable=0",
      "netlink_socket_buffer_size=1048576",
      "netlink_socket_buffer_maxsize=8388608",
      "",
      "[ctout]",
      `file=${quote(c.conntrackFile)}`,
      "sync=1",
      "",
    );
  }
  return lines.join("\n");
}
