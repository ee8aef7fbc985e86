import type { Command } from "commander";
import { formatDescription } from "../../analysis/describe-text.ts";
import { DEFAULT_NAMESPACE } from "../../model/index.ts";
import { type ConnectionFlags, connect, withConnection } from "../connection.ts";
import { asKubectlNotFound, kubectlAction } from "../failure.ts";
import { kindRef, parseTargets } from "../kinds.ts";

interface DescribeFlags extends ConnectionFlags {
  namespace?: string;
  selector?: string;
}

async function describeObjects(args: string[], flags: DescribeFlags): Promise<void> {
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
      .argument("<args...>", "TYPE [NAME...] or TYPE/NAME...")
      .option("-n, --namespace <namespace>", "the namespace (default: default)")
      .option("-l, --selector <selector>", "describe every object of the type whose labels match")
      .addHelpText(
        "after",
        `
Examples:
  microseg describe pod ldap-server-0 -n directory
  microseg describe gnp security.blue-ldap
  microseg describe netpol -n shop`,
      ),
  ).action(
    kubectlAction(async (args: string[], flags: DescribeFlags) => describeObjects(args, flags)),
  );
}
