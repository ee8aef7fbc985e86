// `microseg lint`: every check over one resource set, findings sorted by severity, object and
// path; the exit code follows the worst severity found.
import type { Resource } from "../../model/index.ts";
import { buildWorld } from "../../policy/index.ts";
import { applyStaged } from "../staged.ts";
import { cidrCoversWorkloads, ipv4OnlyCidrs } from "./checks/addresses.ts";
import { egressWithoutDns } from "./checks/egress-dns.ts";
import { logEverything } from "./checks/log.ts";
import { combinedPeer, separatePeers } from "./checks/peers.ts";
import { denyOnlyIsolation, shadowedRule, undecidedPass } from "./checks/reach.ts";
import { matchesNothing, stageSelectsWorkloadsOnly, unknownNamedPort } from "./checks/selectors.ts";
import { type Check, type Finding, SEVERITIES, type Severity } from "./finding.ts";
import { objectName } from "./objects.ts";

export type { Check, Finding, Severity } from "./finding.ts";

export const CHECKS: readonly Check[] = [
  separatePeers,
  combinedPeer,
  shadowedRule,
  matchesNothing,
  unknownNamedPort,
  cidrCoversWorkloads,
  ipv4OnlyCidrs,
  denyOnlyIsolation,
  egressWithoutDns,
  undecidedPass,
  logEverything,
  stageSelectsWorkloadsOnly,
];

const rank = (s: Severity) => SEVERITIES.indexOf(s);

const run = (resources: readonly Resource[]) => {
  const input = { resources, world: buildWorld(resources) };
  return CHECKS.flatMap((c) => c.run(input));
};

/**
 * Staged policies are linted as what they would enforce: every check over the set with the
 * staged changes applied, keeping the findings about promoted objects under the staged
 * object's name (`microseg.io/StagedNetworkPolicy shop/web`). What the staged world says of the
 * enforced objects is the enforced run's to say.
 */
function stagedFindings(resources: readonly Resource[]): Finding[] {
  const applied = applyStaged(resources);
  if (!applied) return [];
  const names = new Map([...applied.origins].map(([p, s]) => [objectName(p), objectName(s)]));
  return run(applied.resources).flatMap((f) => {
    const object = names.get(f.object);
    return object ? [{ ...f, object }] : [];
  });
}

export function lint(resources: readonly Resource[]): Finding[] {
  return [...run(resources), ...stagedFindings(resources)].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      (a.object < b.object ? -1 : a.object > b.object ? 1 : 0) ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
      (a.check < b.check ? -1 : a.check > b.check ? 1 : 0),
  );
}

/** 2 when any error, 1 when any warning, else 0 (info findings never fail a build). */
export function lintExitCode(findings: readonly Finding[]): number {
  if (findings.some((f) => f.severity === "error")) return 2;
  if (findings.some((f) => f.severity === "warning")) return 1;
  return 0;
}

/** One line per finding, as compilers print them, and a count. */
/**
 * The namespace of a finding's object, read back from `object` (`group/Kind namespace/name`:
 * names hold no `/`); undefined for cluster-scoped objects.
 */
export function findingNamespace(f: Finding): string | undefined {
  const ref = f.object.slice(f.object.indexOf(" ") + 1);
  const slash = ref.indexOf("/");
  return slash < 0 ? undefined : ref.slice(0, slash);
}

export function formatFindings(findings: readonly Finding[]): string {
  if (findings.length === 0) return "no findings\n";
  const lines = findings.map(
    (f) => `${f.severity}: ${f.object}: ${f.path}: ${f.message} [${f.check}]`,
  );
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  lines.push(`${count("error")} error(s), ${count("warning")} warning(s), ${count("info")} info`);
  return `${lines.join("\n")}\n`;
}
