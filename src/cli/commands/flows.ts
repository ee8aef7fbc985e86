// `microseg flows`: flow records the agents shipped, as a table (or JSON lines), filtered by a
// selector over flow fields and a time range; `--follow` keeps printing as records arrive.
import type { Command } from "commander";
import type { StoredFlowRecord } from "../../flows/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { kubectlAction } from "../failure.ts";
import { type LiveTable, liveOutput, printAndFollow } from "../live-table.ts";

interface FlowsFlags extends ConnectionFlags {
  follow?: boolean;
  selector?: string;
  since?: string;
  until?: string;
  limit?: string;
  output?: string;
}

/** `namespace/name` of a workload, the name of a global endpoint, else the address. */
export function endpointText(r: StoredFlowRecord, side: "source" | "dest"): string {
  const f = r.fields;
  const [kind, ns, name, ip] = [
    f[`${side}_kind`],
    f[`${side}_namespace`],
    f[`${side}_name`],
    f[`${side}_ip`],
  ];
  if (kind === "net" || name === "") return ip || "-";
  return ns ? `${ns}/${name}` : name;
}

/** Seconds precision, UTC, as kubectl prints timestamps. */
export const timeText = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function table(wide: boolean, json: boolean): LiveTable<StoredFlowRecord> {
  return {
    json,
    header: [
      "LAST SEEN",
      "SOURCE",
      "DESTINATION",
      "PORT",
      // Which side's node reported the record: one connection is an egress record at its
      // source and an ingress one at its destination, and their actions can differ.
      "REPORTER",
      "ACTION",
      "POLICY",
      "PACKETS",
      "CONNECTIONS",
      ...(wide ? ["BYTES", "TIER", "RULE", "NODE", "WOULD DENY", "REASON"] : []),
    ],
    minWidths: [20, 24, 24, 9, 8, 6, 16],
    row: (r) => [
      timeText(r.lastSeen),
      endpointText(r, "source"),
      endpointText(r, "dest"),
      r.fields.dest_port ? `${r.fields.dest_port}/${r.fields.proto.toUpperCase()}` : r.fields.proto,
      r.fields.reporter || "<none>",
      r.fields.action,
      r.fields.policy || "<none>",
      String(r.packets),
      String(r.connections),
      ...(wide
        ? [
            String(r.bytes),
            r.fields.tier || "<none>",
            r.fields.rule || "<none>",
            r.node || "<none>",
            r.wouldDeny > 0 ? `${r.wouldDeny} (${r.wouldDenyBy.join(",")})` : "0",
            r.reason || "-",
          ]
        : []),
    ],
  };
}

async function flows(flags: FlowsFlags): Promise<void> {
  const output = liveOutput(flags.output, ["table", "wide", "json"]);
  const client = connect(flags);
  const query = {
    ...(flags.since !== undefined ? { since: flags.since } : {}),
    ...(flags.until !== undefined && !flags.follow ? { until: flags.until } : {}),
    ...(flags.selector !== undefined ? { selector: flags.selector } : {}),
    ...(flags.limit !== undefined ? { limit: Number(flags.limit) } : {}),
  };
  const items = await client.flows(query);
  await printAndFollow(
    table(output === "wide", output === "json"),
    items,
    flags.follow ? (listener, after) => client.followFlows(query, listener, after) : undefined,
  );
}

export function registerFlows(program: Command): void {
  withConnection(
    program
      .command("flows")
      .description(
        "show flow records: who talked to whom, allowed or denied by which policy (live with --follow)",
      )
      .option("-f, --follow", "keep printing records as agents ship them")
      .option(
        "-l, --selector <selector>",
        'a selector over flow fields: action == "deny", source_namespace == "prod", dest_labels.app == "db"',
      )
      .option("--since <time>", "records of intervals ending after this: 10m, 1h, or RFC 3339")
      .option("--until <time>", "records of intervals starting before this (not with --follow)")
      .option("--limit <n>", "at most this many stored records (the newest); 1000 by default")
      .option("-o, --output <format>", "wide (more columns) or json (one record per line)"),
  )
    .addHelpText(
      "after",
      `
Examples:
  microseg flows --since 10m
  microseg flows -l 'action == "deny"' -o wide
  microseg flows -l 'dest_labels.role == "ldap-server" && source_namespace == "directory"' --follow
  microseg flows --since 1h -o json | jq .fields.policy`,
    )
    .action(kubectlAction(flows));
}
