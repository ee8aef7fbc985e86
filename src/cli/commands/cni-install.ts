import type { Command } from "commander";
import { type InstallReport, installCni, uninstallCni, watchCni } from "../../cni/install.ts";
import { DEFAULT_CNI_SOCKET } from "../../cni/wire.ts";
import { CliError } from "../load.ts";

interface Flags {
  binDir: string;
  confDir: string;
  plugin?: string;
  socket: string;
  timeoutSeconds: string;
  conflist?: string;
  waitSeconds: string;
  uninstall?: boolean;
  watch?: boolean;
}

function print(r: InstallReport): void {
  console.log(`microseg: ${r.binary} ${r.binaryChanged ? "installed" : "unchanged"}`);
  console.log(`microseg: ${r.conflist} ${r.conflistChanged ? "chained" : "unchanged"}`);
}

function seconds(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!(n > 0 && n <= max) && !(flag === "--wait-seconds" && n === 0))
    throw new CliError(`${flag}: "${text}" is not a number of seconds up to ${max}`);
  return n;
}

export function registerCniInstall(program: Command): void {
  program
    .command("cni-install")
    .description(
      "install the CNI plugin on this node: its executable into the CNI bin directory, microseg chained into the network configuration (the agent DaemonSet's init container)",
    )
    .option("--bin-dir <dir>", "the host's CNI bin directory", "/host/opt/cni/bin")
    .option("--conf-dir <dir>", "the host's CNI configuration directory", "/host/etc/cni/net.d")
    .option("--plugin <file>", "the plugin's executable (npm run build:cni: dist/microseg-cni)")
    .option("--socket <path>", "the agent's CNI socket, as the host sees it", DEFAULT_CNI_SOCKET)
    .option("--timeout-seconds <n>", "how long ADD waits for the agent to confirm", "10")
    .option(
      "--conflist <file>",
      "the file of --conf-dir to chain into (default: the first by name, as the runtime picks it)",
    )
    .option(
      "--wait-seconds <n>",
      "wait this long for the cluster's network plugin to write its configuration",
      "0",
    )
    .option("--uninstall", "take microseg out of every network list and remove the executable")
    .option(
      "--watch",
      "after installing, keep running and chain microseg again whenever the configuration directory changes",
    )
    .addHelpText(
      "after",
      `
Examples:
  microseg cni-install --plugin /opt/microseg/microseg-cni --wait-seconds 300
  microseg cni-install --bin-dir /opt/cni/bin --conf-dir /etc/cni/net.d --plugin dist/microseg-cni
  microseg cni-install --uninstall --bin-dir /opt/cni/bin --conf-dir /etc/cni/net.d`,
    )
    .action(async (f: Flags) => {
      if (f.uninstall) {
        const r = uninstallCni(f);
        for (const file of r.conflists) console.log(`microseg: removed from ${file}`);
        for (const why of r.unreadable) console.error(`microseg: left alone: ${why}`);
        if (r.binaryRemoved) console.log(`microseg: removed ${f.binDir}/microseg`);
        return;
      }
      if (f.plugin === undefined) throw new CliError("--plugin is required to install");
      if (!f.socket.startsWith("/"))
        throw new CliError(`--socket: "${f.socket}" is not an absolute path`);
      try {
        const options = {
          binDir: f.binDir,
          confDir: f.confDir,
          plugin: f.plugin,
          socket: f.socket,
          timeoutSeconds: seconds("--timeout-seconds", f.timeoutSeconds, 300),
          ...(f.conflist !== undefined ? { conflist: f.conflist } : {}),
        };
        print(
          await installCni({
            ...options,
            waitSeconds: seconds("--wait-seconds", f.waitSeconds, 3600),
          }),
        );
        if (!f.watch) return;
        const watcher = watchCni(options, (outcome) => {
          if (outcome instanceof Error) console.error(`microseg cni-install: ${outcome.message}`);
          else if (outcome.binaryChanged || outcome.conflistChanged) print(outcome);
        });
        process.once("SIGTERM", () => watcher.close());
      } catch (e) {
        if (e instanceof CliError || !(e instanceof Error)) throw e;
        console.error(`microseg cni-install: ${e.message}`);
        process.exitCode = 1;
      }
    });
}
