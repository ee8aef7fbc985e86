// `microseg alerts`: alerts the agents raised (GlobalAlerts and the built-in denied-connection
// alert), as a table or JSON lines; `--follow` keeps printing them as they are raised.
import type { Command } from "commander";
import type { StoredAlert } from "../../flows/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { type LiveTable, liveOutput, printAndFollow } from "../live-table.ts";
import { CliError } from "../load.ts";
import { timeText } from "./flows.ts";

interface AlertsFlags extends ConnectionFlags {
  follow?: boolean;
  selector?: string;
  since?: string;
  limit?: string;
  output?: string;
  unacknowledged?: boolean;
  acknowledge?: string;
}

function table(json: boolean): LiveTable<StoredAlert> {
  return {
    json,
    header: [
      "ID",
      "TIME",
      "SEVERITY",
      "ALERT",
      "SOURCE",
      "DESTINATION",
      "PORT",
      "POLICY",
      "COUNT",
      "ACKNOWLEDGED",
    ],
    minWidths: [4, 20, 8, 20, 24, 24, 9, 16, 5],
    row: (a) => [
      String(a.id),
      timeText(Date.parse(a.time)),
      String(a.severity),
      a.alert,
      a.source || "-",
      a.destination || "-",
      a.port ? `${a.port}/${a.protocol.toUpperCase()}` : a.protocol || "-",
      a.policy || "<none>",
      String(a.count),
      a.acknowledgedAt ? timeText(Date.parse(a.acknowledgedAt)) : "<none>",
    ],
  };
}

async function alerts(flags: AlertsFlags): Promise<void> {
  const output = liveOutput(flags.output, ["table", "json"]);
  const client = connect(flags);
  if (flags.acknowledge !== undefined) {
    if (!/^\d+$/.test(flags.acknowledge))
      throw new CliError(`--acknowledge: "${flags.acknowledge}" is not an alert id`);
    const a = await client.acknowledgeAlert(Number(flags.acknowledge));
    process.stdout.write(`alert ${a.id} acknowledged\n`);
    return;
  }
  const query = {
    ...(flags.since !== undefined ? { since: flags.since } : {}),
    ...(flags.limit !== undefined ? { limit: Number(flags.limit) } : {}),
    ...(flags.unacknowledged ? { acknowledged: false } : {}),
    ...(flags.selector !== undefined ? { selector: flags.selector } : {}),
  };
  const items = await client.alerts(query);
  await printAndFollow(
    table(output === "json"),
    items,
    flags.follow ? (listener, after) => client.followAlerts(query, listener, after) : undefined,
  );
}

export function registerAlerts(program: Command): void {
  withConnection(
    program
      .command("alerts")
      .description("show alerts raised by GlobalAlerts and the built-in denied-connection alert")
      .option("-f, --follow", "keep printing alerts as they are raised")
      .option(
        "-l, --selector <selector>",
        'a selector over alert and flow fields: alert == "blue-ldap-violation", severity == "100", source_namespace == "blue"',
      )
      .option("--since <time>", "alerts raised after this: 10m, 1h, or RFC 3339")
      .option("--limit <n>", "at most this many stored alerts (the newest); 1000 by default")
      .option("--unacknowledged", "only alerts nobody acknowledged yet")
      .option("--acknowledge <id>", "mark the alert with this id acknowledged")
      .option(
        "-o, --output <format>",
        "json: one alert per line (time, severity, alert, source, destination, port, protocol, policy, count)",
      ),
  )
    .addHelpText(
      "after",
      `
Examples:
  microseg alerts
  microseg alerts --follow
  microseg alerts -l 'alert == "blue-ldap-violation" && source_namespace == "blue"'
  microseg alerts --since 1h -o json | jq 'select(.severity >= 80)'
  microseg alerts --acknowledge 12`,
    )
    .action(kubectlAction(alerts));
}
