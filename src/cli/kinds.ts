// kubectl's resource names: a kind is named by its plural, its singular, a short name or its
// Kind, optionally qualified by the group (`networkpolicies.microseg.io`). All of them come from
// the registry. Unqualified names shared by two groups mean the Kubernetes one, as in kubectl
// (`networkpolicies` is networking.k8s.io's).
import type { KindRef } from "../datastore/index.ts";
import { CALICO_V3, KINDS, type KindInfo } from "../model/index.ts";

export class KindNameError extends Error {
  readonly code = "cli.kind";
}

const CALICO_GROUP = CALICO_V3.split("/")[0];

function names(k: KindInfo): string[] {
  return [k.plural, k.kind.toLowerCase(), ...k.shortNames];
}

/** Words users try with `get` that name no kind but a command of their own. */
const ALERTS_HINT =
  " (alerts raised: `microseg alerts`; the rules that raise them: `microseg get globalalerts`)";
const FLOWS_HINT = " (flow records: `microseg flows`)";
const COMMAND_NOT_KIND: ReadonlyMap<string, string> = new Map([
  ["alert", ALERTS_HINT],
  ["alerts", ALERTS_HINT],
  ["flow", FLOWS_HINT],
  ["flows", FLOWS_HINT],
]);

/** The kind a user's word names; throws kubectl's message when none does. */
export function resolveKind(word: string): KindInfo {
  const lower = word.toLowerCase();
  const dot = lower.indexOf(".");
  const name = dot < 0 ? lower : lower.slice(0, dot);
  const rawGroup = dot < 0 ? undefined : lower.slice(dot + 1);
  const group = rawGroup === CALICO_GROUP ? "microseg.io" : rawGroup;
  // Registry order puts the Kubernetes groups first, so the first match is kubectl's choice.
  const found = KINDS.find(
    (k) => names(k).includes(name) && (group === undefined || k.group === group),
  );
  if (!found)
    throw new KindNameError(
      `the server doesn't have a resource type "${word}"${COMMAND_NOT_KIND.get(name) ?? ""}`,
    );
  return found;
}

export function kindRef(info: KindInfo): KindRef {
  return { apiVersion: info.apiVersion, kind: info.kind };
}

/** `pod`, `networkpolicy.networking.k8s.io`, `globalnetworkpolicy.microseg.io`: kubectl's prefix. */
export function kindPrefix(info: { readonly kind: string; readonly group: string }): string {
  const lower = info.kind.toLowerCase();
  return info.group ? `${lower}.${info.group}` : lower;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** `pod/web-0` as `-o name` and apply print an object (a Resource, or an apply result). */
export function objectName(
  r: { apiVersion: string; kind: string } & ({ metadata: { name: string } } | { name: string }),
): string {
  const name = "metadata" in r ? r.metadata.name : r.name;
  return `${kindPrefix({ kind: r.kind, group: groupOf(r.apiVersion) })}/${name}`;
}

export interface Target {
  readonly kind: KindInfo;
  readonly names: readonly string[];
}

/**
 * kubectl's argument forms: `KIND [NAME...]`, `KIND1,KIND2`, and `KIND/NAME ...` (each its own
 * kind). Names may not follow a `KIND/NAME` argument.
 */
export function parseTargets(args: readonly string[]): Target[] {
  const [first, ...rest] = args;
  if (first === undefined) throw new KindNameError("you must specify the type of resource");
  if (first.includes("/")) {
    return args.map((arg) => {
      const slash = arg.indexOf("/");
      if (slash < 0) {
        throw new KindNameError(
          `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form ("${arg}")`,
        );
      }
      return { kind: resolveKind(arg.slice(0, slash)), names: [arg.slice(slash + 1)] };
    });
  }
  return first.split(",").map((word) => ({ kind: resolveKind(word), names: rest }));
}
