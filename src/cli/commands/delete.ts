import type { Command } from "commander";
import type { ApiClient } from "../../client/index.ts";
import { ApiError } from "../../client/index.ts";
import type { ObjectRef } from "../../datastore/index.ts";
import { DEFAULT_NAMESPACE, lookupKind } from "../../model/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { asKubectlNotFound, failureLines, kubectlAction } from "../failure.ts";
import { kindPrefix, kindRef, parseTargets } from "../kinds.ts";
import { CliError, loadOrExit } from "../load.ts";

interface DeleteFlags extends ConnectionFlags {
  filename?: string[];
  namespace?: string;
  selector?: string;
  ignoreNotFound?: boolean;
}

async function refsFromArgs(
  client: ApiClient,
  args: string[],
  flags: DeleteFlags,
): Promise<ObjectRef[]> {
  const refs: ObjectRef[] = [];
  for (const t of parseTargets(args)) {
    const namespace = t.kind.namespaced ? (flags.namespace ?? DEFAULT_NAMESPACE) : undefined;
    const kind = kindRef(t.kind);
    if (t.names.length > 0) {
      for (const name of t.names) refs.push({ kind, namespace, name });
    } else if (flags.selector !== undefined) {
      const list = await client.list({
        kind,
        ...(namespace ? { namespace } : {}),
        labelSelector: flags.selector,
      });
      for (const r of list.items)
        refs.push({ kind, namespace: r.metadata.namespace, name: r.metadata.name });
    } else {
      throw new CliError(
        "resource(s) were provided, but no name was specified (use -l to delete by label)",
      );
    }
  }
  return refs;
}

async function del(args: string[], flags: DeleteFlags): Promise<void> {
  if (flags.filename && args.length > 0)
    throw new CliError("delete takes -f or TYPE NAME, not both");
  const client = connect(flags);
  // Manifests are deleted last object first, so policies go before the tiers they live in.
  const refs = flags.filename
    ? (await loadOrExit(flags.filename)).reverse().map((r) => ({
        kind: { apiVersion: r.apiVersion, kind: r.kind },
        namespace: r.metadata.namespace,
        name: r.metadata.name,
      }))
    : await refsFromArgs(client, args, flags);
  let failed = false;
  for (const ref of refs) {
    try {
      await client.delete(ref);
      const info = lookupKind(ref.kind.apiVersion, ref.kind.kind);
      process.stdout.write(`${info ? kindPrefix(info) : ref.kind.kind} "${ref.name}" deleted\n`);
    } catch (error) {
      if (flags.ignoreNotFound && error instanceof ApiError && error.code === "NotFound") continue;
      const info = lookupKind(ref.kind.apiVersion, ref.kind.kind);
      const lines = failureLines(info ? asKubectlNotFound(error, info, ref.name) : error);
      if (!lines) throw error;
      for (const line of lines) console.error(line);
      failed = true;
    }
  }
  if (failed) process.exitCode = 1;
}

export function registerDelete(program: Command): void {
  withConnection(
    program
      .command("delete")
      .description("delete objects by manifest, by type and name, or by type and label selector")
      .argument("[args...]", "TYPE NAME..., TYPE/NAME..., or TYPE -l SELECTOR")
      .option(
        "-f, --filename <paths...>",
        "delete the objects these manifests name (- for standard input)",
      )
      .option("-n, --namespace <namespace>", "the namespace (default: default)")
      .option("-l, --selector <selector>", "delete every object of the type whose labels match")
      .option("--ignore-not-found", "treat an object that is already gone as deleted")
      .addHelpText(
        "after",
        `
Examples:
  microseg delete -f examples/blue-ldap
  microseg delete pod web-0 -n shop
  microseg delete netpol/allow-web gnp/security.quarantine -n shop
  microseg delete pods -l app=web -n shop`,
      ),
  ).action(kubectlAction(async (args: string[], flags: DeleteFlags) => del(args, flags)));
}
