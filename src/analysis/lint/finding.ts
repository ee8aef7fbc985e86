// What lint reports: one finding per problem, naming the object, the field path and why, with a
// severity that sets the command's exit code.
import type { Resource } from "../../model/index.ts";
import type { World } from "../../policy/index.ts";

export type Severity = "error" | "warning" | "info";

export const SEVERITIES: readonly Severity[] = ["error", "warning", "info"];

export interface Finding {
  /** The check's stable id, `rule.shadowed`. */
  readonly check: string;
  readonly severity: Severity;
  /** `networking.k8s.io/NetworkPolicy shop/web-in`: group/kind, then namespace/name. */
  readonly object: string;
  /** Field path inside the object, `spec.ingress[0].from[1]`. */
  readonly path: string;
  readonly message: string;
}

/** The set a check reads: the resources as written and the world compiled from them. */
export interface LintInput {
  readonly resources: readonly Resource[];
  readonly world: World;
}

export interface Check {
  readonly id: string;
  readonly severity: Severity;
  /** One line for `microseg lint --help` and the README. */
  readonly summary: string;
  run(input: LintInput): Finding[];
}
