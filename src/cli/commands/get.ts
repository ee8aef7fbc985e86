import type { Command } from "commander";
import type { ApiClient } from "../../client/index.ts";
import type { StoredResource } from "../../datastore/index.ts";
import { DEFAULT_NAMESPACE, type KindInfo } from "../../model/index.ts";
import { columnsFor } from "../columns.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { asKubectlNotFound, failureLines, kubectlAction } from "../failure.ts";
import { kindRef, objectName, parseTargets, type Target } from "../kinds.ts";
import { CliError } from "../load.ts";
import { asList, formatObject } from "../output.ts";
import { age, columnWidths, formatRow, formatTable, type Row } from "../table.ts";

type GetFormat = "table" | "wide" | "json" | "yaml" | "name";

interface GetFlags extends ConnectionFlags {
  namespace?: string;
  allNamespaces?: boolean;
  selector?: string;
  output?: string;
  watch?: boolean;
}

function getFormat(value: string | undefined): GetFormat {
  if (value === undefined) return "table";
  if (value === "wide" || value === "json" || value === "yaml" || value === "name") return value;
  throw new CliError(
    `unable to match a printer suitable for the output format "${value}", allowed formats are: json,name,wide,yaml`,
  );
}

interface View {
  readonly kind: KindInfo;
  readonly format: GetFormat;
  /** NAMESPACE first: -A on a namespaced kind. */
  readonly withNamespace: boolean;
  /** `kind/name` in the NAME column: several kinds in one get. */
  readonly prefixed: boolean;
  readonly now: number;
}

function header(v: View): Row {
  const cols = columnsFor(v.kind);
  return [
    ...(v.withNamespace ? ["NAMESPACE"] : []),
    "NAME",
    ...cols.headers,
    "AGE",
    ...(v.format === "wide" ? cols.wideHeaders : []),
  ];
}

function row(v: View, r: StoredResource): Row {
  const cols = columnsFor(v.kind);
  return [
    ...(v.withNamespace ? [r.metadata.namespace ?? ""] : []),
    v.prefixed ? objectName(r) : r.metadata.name,
    ...cols.cells(r),
    age(r.metadata.creationTimestamp, v.now),
    ...(v.format === "wide" ? cols.wideCells(r) : []),
  ];
}

function printObjects(v: View, items: readonly StoredResource[], single: boolean): void {
  if (v.format === "name") {
    for (const r of items) process.stdout.write(`${objectName(r)}\n`);
  } else if (v.format === "json" || v.format === "yaml") {
    const only = items[0];
    process.stdout.write(formatObject(single && only ? only : asList(items), v.format));
  } else if (items.length > 0) {
    process.stdout.write(formatTable([header(v), ...items.map((r) => row(v, r))]));
  }
}

interface Fetched {
  readonly items: StoredResource[];
  readonly revision: number;
  readonly failures: unknown[];
}

async function fetch(
  client: ApiClient,
  t: Target,
  namespace: string | undefined,
  selector?: string,
): Promise<Fetched> {
  const kind = kindRef(t.kind);
  if (t.names.length === 0) {
    const list = await client.list({
      kind,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(selector !== undefined ? { labelSelector: selector } : {}),
    });
    return { items: [...list.items], revision: list.revision, failures: [] };
  }
  const items: StoredResource[] = [];
  const failures: unknown[] = [];
  let revision = 0;
  for (const name of t.names) {
    try {
      const r = await client.get({ kind, namespace, name }).catch((error: unknown) => {
        throw asKubectlNotFound(error, t.kind, name);
      });
      items.push(r);
      revision = Math.max(revision, Number(r.metadata.resourceVersion ?? 0));
    } catch (error) {
      if (!failureLines(error)) throw error;
      failures.push(error);
    }
  }
  return { items, revision, failures };
}

function watchRows(
  client: ApiClient,
  v: View,
  t: Target,
  namespace: string | undefined,
  fromRevision: number,
  selector: string | undefined,
  firstRows: readonly Row[],
): Promise<void> {
  const widths = columnWidths(firstRows);
  const names = new Set(t.names);
  return new Promise((_resolve, reject) => {
    client.watch(
      {
        kind: kindRef(t.kind),
        ...(namespace !== undefined ? { namespace } : {}),
        fromRevision,
        ...(selector !== undefined ? { labelSelector: selector } : {}),
      },
      {
        onEvent(event) {
          if (event.type === "BOOKMARK") return;
          if (names.size > 0 && !names.has(event.object.metadata.name)) return;
          const now = { ...v, now: Date.now() };
          if (v.format === "table" || v.format === "wide") {
            process.stdout.write(`${formatRow(row(now, event.object), widths)}\n`);
          } else if (v.format === "name") process.stdout.write(`${objectName(event.object)}\n`);
          else {
            if (v.format === "yaml") process.stdout.write("---\n");
            process.stdout.write(formatObject(event.object, v.format));
          }
        },
        onError: reject,
      },
    );
  });
}

async function get(args: string[], flags: GetFlags): Promise<void> {
  const format = getFormat(flags.output);
  const targets = parseTargets(args);
  if (flags.watch && targets.length > 1) {
    throw new CliError("you may only specify a single resource type with --watch");
  }
  const client = connect(flags);
  const now = Date.now();
  const collected: StoredResource[] = [];
  const failures: unknown[] = [];
  let printedTables = 0;
  for (const t of targets) {
    const namespace =
      !t.kind.namespaced || flags.allNamespaces
        ? undefined
        : (flags.namespace ?? DEFAULT_NAMESPACE);
    const v: View = {
      kind: t.kind,
      format,
      withNamespace: Boolean(flags.allNamespaces) && t.kind.namespaced && t.names.length === 0,
      prefixed: targets.length > 1,
      now,
    };
    const fetched = await fetch(client, t, namespace, flags.selector);
    failures.push(...fetched.failures);
    if (format === "json" || format === "yaml") {
      collected.push(...fetched.items);
      continue;
    }
    if (printedTables > 0 && fetched.items.length > 0 && format !== "name")
      process.stdout.write("\n");
    if (fetched.items.length > 0) printedTables += 1;
    printObjects(v, fetched.items, false);
    if (flags.watch) {
      const shown = fetched.items.length
        ? [header(v), ...fetched.items.map((r) => row(v, r))]
        : [header(v)];
      if (fetched.items.length === 0 && format !== "name")
        process.stdout.write(`${formatRow(header(v), columnWidths(shown))}\n`);
      await watchRows(client, v, t, namespace, fetched.revision, flags.selector, shown);
    }
  }
  if (format === "json" || format === "yaml") {
    const single = targets.length === 1 && targets[0]?.names.length === 1;
    const first = targets[0];
    if (first)
      printObjects(
        { kind: first.kind, format, withNamespace: false, prefixed: false, now },
        collected,
        single,
      );
  } else if (
    collected.length === 0 &&
    printedTables === 0 &&
    failures.length === 0 &&
    targets.every((t) => t.names.length === 0)
  ) {
    const everywhere = flags.allNamespaces || !targets.some((t) => t.kind.namespaced);
    console.error(
      everywhere
        ? "No resources found"
        : `No resources found in ${flags.namespace ?? DEFAULT_NAMESPACE} namespace.`,
    );
  }
  for (const error of failures) for (const line of failureLines(error) ?? []) console.error(line);
  if (failures.length > 0) process.exitCode = 1;
}

export function registerGet(program: Command): void {
  withConnection(
    program
      .command("get")
      .description("display one or many resources from the API server")
      .argument(
        "<type[,type...]|type/name>",
        "resource type (pods, netpol, gnp, networkpolicies.microseg.io, ...) or TYPE/NAME",
      )
      .argument("[names...]", "names of objects of that type")
      .option("-n, --namespace <namespace>", "the namespace (default: default)")
      .option("-A, --all-namespaces", "list the objects of every namespace")
      .option("-l, --selector <selector>", "label selector, e.g. app=web,tier in (a,b),!legacy")
      .option("-o, --output <format>", "json, yaml, wide or name (default: a table)")
      .option("-w, --watch", "after listing, print each change as it happens")
      .addHelpText(
        "after",
        `
Examples:
  microseg get pods -n shop
  microseg get netpol -A -o wide
  microseg get gnp security.blue-ldap -o yaml
  microseg get networkpolicies.microseg.io,tiers -A
  microseg get pods -l app=web --watch`,
      ),
  ).action(
    kubectlAction(async (type: string, names: string[], flags: GetFlags) =>
      get([type, ...names], flags),
    ),
  );
}
