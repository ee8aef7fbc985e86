import type { Command } from "commander";
import { describeIn, formatDescription } from "../../analysis/index.ts";
import { listFilter } from "../../datastore/filters.ts";
import { DEFAULT_NAMESPACE, lookupKind, type Resource } from "../../model/index.ts";
import { buildWorld } from "../../policy/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { asKubectlNotFound, kubectlAction } from "../failure.ts";
import { kindRef, parseTargets } from "../kinds.ts";
import { CliError, loadOrExit, STRICT_HELP } from "../load.ts";

interface DescribeFlags extends ConnectionFlags {
  namespace?: string;
  selector?: string;
  filename?: string[];
  strict?: boolean;
}

/**
 * kubectl's `describe -f`, offline: the objects of the files (every one, or those the
 * arguments name among them), each judged in the world of the files, as the server judges its
 * store's.
 */
async function describeOffline(args: string[], flags: DescribeFlags): Promise<void> {
  // -n names the namespace of the names asked for, as explain's does, and places nothing.
  const resources = await loadOrExit(flags.filename!, { strict: flags.strict ?? false });
  const matches = listFilter({ labelSelector: flags.selector });
  let chosen: Resource[] = resources.filter((r) => matches(r));
  if (args.length > 0) {
    chosen = [];
    for (const t of parseTargets(args)) {
      const namespace = t.kind.namespaced ? (flags.namespace ?? DEFAULT_NAMESPACE) : undefined;
      const ofKind = resources.filter(
        (r) =>
          lookupKind(r.apiVersion, r.kind) === t.kind &&
          (namespace === undefined || r.metadata.namespace === namespace) &&
          matches(r),
      );
      if (t.names.length === 0) chosen.push(...ofKind);
      for (const name of t.names) {
        const found = ofKind.find((r) => r.metadata.name === name);
        if (!found) {
          const resource = t.kind.group ? `${t.kind.plural}.${t.kind.group}` : t.kind.plural;
          const where = namespace !== undefined ? ` in namespace ${namespace}` : "";
          throw new CliError(`${resource} "${name}" not found in the files${where}`);
        }
        chosen.push(found);
      }
    }
  }
  const world = buildWorld(resources);
  if (chosen.length === 0)
    console.error(`No resources found in ${flags.namespace ?? DEFAULT_NAMESPACE} namespace.`);
  process.stdout.write(chosen.map((r) => formatDescription(describeIn(world, r))).join("\n"));
}

async function describeObjects(args: string[], flags: DescribeFlags): Promise<void> {
  if (flags.filename) return describeOffline(args, flags);
  if (args.length === 0) throw new CliError("you must specify the type of resource, or -f");
  const client = connect(flags);
  const texts: string[] = [];
  for (const t of parseTargets(args)) {
    const kind = kindRef(t.kind);
    const namespace = t.kind.namespaced ? (flags.namespace ?? DEFAULT_NAMESPACE) : undefined;
    const names =
      t.names.length > 0
        ? t.names
        : (
            await client.list({
              kind,
              ...(namespace ? { namespace } : {}),
              ...(flags.selector ? { labelSelector: flags.selector } : {}),
            })
          ).items.map((r) => r.metadata.name);
    for (const name of names) {
      const d = await client.describe({ kind, namespace, name }).catch((error: unknown) => {
        throw asKubectlNotFound(error, t.kind, name);
      });
      texts.push(formatDescription(d));
    }
  }
  if (texts.length === 0)
    console.error(`No resources found in ${flags.namespace ?? DEFAULT_NAMESPACE} namespace.`);
  process.stdout.write(texts.join("\n"));
}

export function registerDescribe(program: Command): void {
  withConnection(
    program
      .command("describe")
      .description(
        "show an object in words: for a pod or endpoint the policies selecting it per direction and tier and its addresses; for a policy the endpoints it selects and its rules",
      )
      .argument(
        "[args...]",
        "TYPE [NAME...] or TYPE/NAME... (with -f: optional, among the files' objects)",
      )
      .option(
        "-f, --filename <paths...>",
        "describe the objects of these manifests offline, judged among them (- reads standard input)",
      )
      .option("--strict", STRICT_HELP)
      .option("-n, --namespace <namespace>", "the namespace (default: default)")
      .option("-l, --selector <selector>", "describe every object of the type whose labels match")
      .addHelpText(
        "after",
        `
Examples:
  microseg describe pod ldap-server-0 -n directory
  microseg describe gnp security.blue-ldap
  microseg describe netpol -n shop
  microseg describe -f repo/                         # every object of the files, offline
  microseg describe -f repo/ deploy web -n shop      # what selects a Deployment's pods, before deploying`,
      ),
  ).action(
    kubectlAction(async (args: string[], flags: DescribeFlags) => describeObjects(args, flags)),
  );
}
