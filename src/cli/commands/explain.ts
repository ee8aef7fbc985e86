import type { Command } from "commander";
import { type Explanation, explainFlow, formatExplanation } from "../../analysis/index.ts";
import { isPortName } from "../../model/names.ts";
import { buildWorld, flowIcmp, normalizeProtocol, qualifyWorkloadRef } from "../../policy/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { CliError, loadOrExit, STRICT_HELP, tableOutputFormat } from "../load.ts";
import { formatObject } from "../output.ts";
import { explainWide } from "../wide.ts";

/** A number, or a named port resolved on the destination's container ports. */
function port(value: string): number | string {
  if (isPortName(value)) return value;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError(`--port: "${value}" is neither 0-65535 nor a port name`);
  return n;
}

/** A number for --icmp-type and --icmp-code; the range is checked with the protocol. */
function byte(value: string): number {
  if (!/^\d+$/.test(value)) throw new CliError(`"${value}" is not a number 0-255`);
  return Number(value);
}

interface ExplainFlags extends ConnectionFlags {
  filename?: string[];
  strict?: boolean;
  from: string;
  to: string;
  port?: number | string;
  icmpType?: number;
  icmpCode?: number;
  protocol: string;
  output: string;
  namespace?: string;
}

/** kubectl's `-n`: a name (`web-0`, `deploy/web`) without a namespace is taken in this one. */
function inNamespace(ref: string, namespace: string | undefined): string {
  return namespace === undefined ? ref : qualifyWorkloadRef(ref, namespace);
}

/** Exit status as `kubectl auth can-i`: 0 when the flow is allowed, 1 when it is denied. */
async function explain(flags: ExplainFlags): Promise<void> {
  const format = tableOutputFormat(flags.output);
  const query = {
    from: inNamespace(flags.from, flags.namespace),
    to: inNamespace(flags.to, flags.namespace),
    protocol: normalizeProtocol(flags.protocol),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.icmpType !== undefined ? { icmpType: flags.icmpType } : {}),
    ...(flags.icmpCode !== undefined ? { icmpCode: flags.icmpCode } : {}),
  };
  // Checked here too, so a bad combination is refused before a server is asked.
  flowIcmp(query.protocol, query.port, query.icmpType, query.icmpCode);
  const explanation: Explanation = flags.filename
    ? explainFlow(buildWorld(await loadOrExit(flags.filename, { strict: flags.strict })), query)
    : await connect(flags).explain(query);
  if (format === "text") console.log(formatExplanation(explanation));
  else if (format === "wide") process.stdout.write(explainWide(explanation));
  else if (format === "json") console.log(JSON.stringify(explanation));
  else process.stdout.write(formatObject(explanation, "yaml"));
  if (!explanation.allowed) process.exitCode = 1;
}

export function registerExplain(program: Command): void {
  withConnection(
    program
      .command("explain")
      .description(
        "why a flow is allowed or denied: the tier, policy and rule deciding each direction",
      )
      .option(
        "-f, --filename <paths...>",
        "judge these manifests offline instead of the server's store",
      )
      .option("--strict", STRICT_HELP)
      .option(
        "-n, --namespace <name>",
        "namespace of --from and --to names given without one (unset: a HostEndpoint of that name, else namespace default)",
      )
      .requiredOption(
        "--from <peer>",
        "source: namespace/name of a workload (a controller's template: namespace/deploy/name), or an IP address",
      )
      .requiredOption(
        "--to <peer>",
        "destination: namespace/name of a workload (namespace/sts/name, ...), or an IP address",
      )
      .option(
        "--port <port>",
        "destination port: a number, or a name of the destination's container ports (required but for ICMP)",
        port,
      )
      .option("--protocol <protocol>", "TCP, UDP, SCTP, ICMP, ICMPv6 or a number", "TCP")
      .option(
        "--icmp-type <type>",
        "ICMP or ICMPv6 type, 0-255 (echo request: 8, ICMPv6 128)",
        byte,
      )
      .option("--icmp-code <code>", "ICMP or ICMPv6 code, 0-255 (with --icmp-type)", byte)
      .option(
        "-o, --output <format>",
        "text, wide (a row per direction: tier, policy, rule), json or yaml",
        "text",
      )
      .addHelpText(
        "after",
        `
Exit status: 0 when the flow is allowed, 1 when it is denied (like kubectl auth can-i),
2 when it cannot be judged (an unknown workload, bad arguments, no server).

Examples:
  microseg explain --from directory/blue-web-0 --to directory/ldap-server-0 --port 389
  microseg explain -n directory --from blue-web-0 --to ldap-server-0 --port 389
  microseg explain -f examples/ --from directory/ldap-client-0 --to directory/ldap-server-0 --port ldap
  microseg explain -f examples/ --from 203.0.113.9 --to order-input/frontend-0 --port 8080 -o json
  microseg explain -f examples/ --from directory/blue-batch-0 --to directory/ldap-server-1 --port 636 -o wide
  microseg explain -f examples/ --from shop/web-0 --to shop/db-0 --protocol ICMP --icmp-type 8 --icmp-code 0
  microseg explain -f repo/ -n shop --from deploy/web --to statefulset/db --port pg   # templates, before deploying`,
      ),
  ).action(kubectlAction(explain, 2));
}
