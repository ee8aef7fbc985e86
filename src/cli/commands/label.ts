import type { Command } from "commander";
import { DEFAULT_NAMESPACE } from "../../model/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { asKubectlNotFound, kubectlAction } from "../failure.ts";
import { kindRef, objectName, parseTargets } from "../kinds.ts";
import { CliError } from "../load.ts";

interface LabelFlags extends ConnectionFlags {
  namespace?: string;
  overwrite?: boolean;
}

interface LabelChanges {
  readonly set: ReadonlyMap<string, string>;
  readonly remove: readonly string[];
}

/** `k=v` sets, `k-` removes, as kubectl label takes them. */
export function parseLabelChanges(args: readonly string[]): LabelChanges {
  const set = new Map<string, string>();
  const remove: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq > 0) set.set(arg.slice(0, eq), arg.slice(eq + 1));
    else if (arg.endsWith("-") && arg.length > 1) remove.push(arg.slice(0, -1));
    else throw new CliError(`invalid label spec: ${arg}`);
  }
  if (set.size === 0 && remove.length === 0)
    throw new CliError("at least one label update is required");
  const both = remove.find((k) => set.has(k));
  if (both)
    throw new CliError(`can not both modify and remove a label in the same command: ${both}`);
  return { set, remove };
}

/** Splits `TYPE NAME changes...` or `TYPE/NAME changes...`. */
function splitArgs(args: readonly string[]): { target: string[]; changes: string[] } {
  const [first, second, ...rest] = args;
  if (first === undefined) throw new CliError("you must specify the type of resource");
  if (first.includes("/")) return { target: [first], changes: args.slice(1) };
  if (second === undefined)
    throw new CliError("resource(s) were provided, but no name was specified");
  return { target: [first, second], changes: rest };
}

async function label(args: string[], flags: LabelFlags): Promise<void> {
  const { target, changes } = splitArgs(args);
  const { set, remove } = parseLabelChanges(changes);
  const [t] = parseTargets(target);
  const name = t?.names[0];
  if (!t || name === undefined) throw new CliError("one object must be named");
  const client = connect(flags);
  const ref = {
    kind: kindRef(t.kind),
    namespace: t.kind.namespaced ? (flags.namespace ?? DEFAULT_NAMESPACE) : undefined,
    name,
  };
  const current = await client.get(ref).catch((error: unknown) => {
    throw asKubectlNotFound(error, t.kind, name);
  });
  const labels: Readonly<Record<string, string>> = current.metadata.labels ?? {};
  const patch: Record<string, string | null> = {};
  for (const [key, value] of set) {
    const old = labels[key];
    if (old === value) continue;
    if (old !== undefined && !flags.overwrite) {
      throw new CliError(`'${key}' already has a value (${old}), and --overwrite is false`);
    }
    patch[key] = value;
  }
  for (const key of remove) {
    if (key in labels) patch[key] = null;
    else console.error(`label "${key}" not found.`);
  }
  if (Object.keys(patch).length === 0) {
    process.stdout.write(`${objectName(current)} not labeled\n`);
    return;
  }
  // The read's resourceVersion makes the patch conditional: the --overwrite check above holds.
  const updated = await client.patch(ref, {
    metadata: { labels: patch, resourceVersion: current.metadata.resourceVersion },
  });
  process.stdout.write(`${objectName(updated)} labeled\n`);
}

export function registerLabel(program: Command): void {
  withConnection(
    program
      .command("label")
      .description("add, change or remove labels of an object (a JSON merge patch)")
      .argument("<args...>", "TYPE NAME KEY=VALUE... KEY-... (or TYPE/NAME ...)")
      .option("-n, --namespace <namespace>", "the namespace (default: default)")
      .option("--overwrite", "allow changing a label that already has a value")
      .addHelpText(
        "after",
        `
Examples:
  microseg label pod web-0 -n shop tier=frontend
  microseg label pod/web-0 -n shop app=web2 --overwrite
  microseg label ns shop env-`,
      ),
  ).action(kubectlAction(async (args: string[], flags: LabelFlags) => label(args, flags)));
}
