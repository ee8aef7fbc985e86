// Namespace, service-account and orchestrator scoping, expressed in the selector language itself.
//
// Every endpoint is judged on one flat label map (`effectiveLabels`): its own labels plus
// synthetic keys for its namespace, the namespace's labels under `pcns.`, its service account,
// and its orchestrator. Scoping a selector is then just another conjunct, so one canonical
// selector text names one address set, whatever kind of policy it came from (Calico's approach).
import {
  ALL_SELECTOR,
  andSelectors,
  canonicalSelector,
  compileSelector,
  equalsSelector,
  hasSelector,
  type Labels,
  ownValue,
  type SelectorAst,
  setSelector,
} from "../selector/index.ts";
import type { CompiledSelector } from "./types.ts";

export const NAMESPACE_KEY = "projectcalico.org/namespace";
export const ORCHESTRATOR_KEY = "projectcalico.org/orchestrator";
export const SERVICE_ACCOUNT_KEY = "projectcalico.org/serviceaccount";
export const NAME_KEY = "projectcalico.org/name";
export const NAMESPACE_LABEL_PREFIX = "pcns.";
export const SERVICE_ACCOUNT_LABEL_PREFIX = "pcsa.";
/** Pods carry this orchestrator; Kubernetes and AdminNetworkPolicy selectors only see pods. */
export const KUBERNETES_ORCHESTRATOR = "k8s";

export interface EffectiveLabelInput {
  readonly labels?: Labels | null;
  readonly namespace?: string;
  readonly namespaceLabels?: Labels;
  readonly serviceAccount?: string;
  /** The ServiceAccount object's labels, what Calico's serviceAccountSelector matches. */
  readonly serviceAccountLabels?: Labels;
  readonly orchestrator?: string;
}

/**
 * Frozen: the label index keeps the object as it is rather than a copy. Built key by key from
 * `{}`, so label sets with the same keys in the same order share one hidden class; a spread
 * (`{ ...labels }`) followed by added keys gave every pod a hidden class of its own (its map,
 * descriptors and enum cache: about 700 B per pod). The values are the resource's own strings.
 */
export function effectiveLabels(input: EffectiveLabelInput): Labels {
  const out: Record<string, string> = {};
  copyLabels(out, input.labels, "");
  if (input.namespace !== undefined) {
    putLabel(out, NAMESPACE_KEY, input.namespace);
    copyLabels(out, input.namespaceLabels, NAMESPACE_LABEL_PREFIX);
    putLabel(out, `${NAMESPACE_LABEL_PREFIX}${NAME_KEY}`, input.namespace);
  }
  if (input.serviceAccount !== undefined) {
    copyLabels(out, input.serviceAccountLabels, SERVICE_ACCOUNT_LABEL_PREFIX);
    putLabel(out, SERVICE_ACCOUNT_KEY, input.serviceAccount);
    putLabel(out, `${SERVICE_ACCOUNT_LABEL_PREFIX}${NAME_KEY}`, input.serviceAccount);
  }
  if (input.orchestrator !== undefined) putLabel(out, ORCHESTRATOR_KEY, input.orchestrator);
  return Object.freeze(out);
}

// Functions of the module, not closures per call: tsx names every closure it creates
// (keepNames), which cost 1 us per pod at cold start.
function putLabel(out: Record<string, string>, key: string, value: string): void {
  // An assignment to `__proto__` would set the prototype, not a label.
  if (key === "__proto__")
    Object.defineProperty(out, key, { value, enumerable: true, writable: true });
  else out[key] = value;
}

function copyLabels(
  out: Record<string, string>,
  labels: Labels | null | undefined,
  prefix: string,
): void {
  if (!labels) return;
  for (const key of Object.keys(labels)) putLabel(out, prefix + key, ownValue(labels, key));
}

/** Rewrites every label key of a selector (for namespace and service-account selectors). */
export function prefixKeys(ast: SelectorAst, prefix: string): SelectorAst {
  switch (ast.kind) {
    case "all":
    case "global":
      return ast;
    case "not":
      return { kind: "not", operand: prefixKeys(ast.operand, prefix) };
    case "and":
    case "or":
      return { kind: ast.kind, operands: ast.operands.map((o) => prefixKeys(o, prefix)) };
    default:
      return { ...ast, key: prefix + ast.key };
  }
}

export function inNamespace(namespace: string): SelectorAst {
  return equalsSelector(NAMESPACE_KEY, namespace);
}

/**
 * A namespaceSelector as a conjunct over endpoints: `global()` means the non-namespaced ones
 * (host endpoints, global network sets); anything else means namespaced endpoints whose
 * namespace's labels match.
 */
export function namespaceScope(namespaceSelector: SelectorAst): SelectorAst {
  if (namespaceSelector.kind === "global")
    return { kind: "not", operand: hasSelector(NAMESPACE_KEY) };
  return andSelectors(
    hasSelector(NAMESPACE_KEY),
    prefixKeys(namespaceSelector, NAMESPACE_LABEL_PREFIX),
  );
}

export function serviceAccountScope(
  names?: readonly string[],
  selector?: SelectorAst,
): SelectorAst {
  const parts: SelectorAst[] = [];
  if (names && names.length > 0) parts.push(setSelector("in", SERVICE_ACCOUNT_KEY, names));
  if (selector)
    parts.push(
      andSelectors(
        hasSelector(SERVICE_ACCOUNT_KEY),
        prefixKeys(selector, SERVICE_ACCOUNT_LABEL_PREFIX),
      ),
    );
  return andSelectors(ALL_SELECTOR, ...parts);
}

export const PODS_ONLY: SelectorAst = equalsSelector(ORCHESTRATOR_KEY, KUBERNETES_ORCHESTRATOR);

/** Compiles once per canonical text; equal selectors from different policies share one object. */
export class SelectorCache {
  readonly #byKey = new Map<string, CompiledSelector>();

  compile(ast: SelectorAst): CompiledSelector {
    const key = canonicalSelector(ast);
    let c = this.#byKey.get(key);
    if (c === undefined) {
      c = { ast, key, matches: compileSelector(ast) };
      this.#byKey.set(key, c);
    }
    return c;
  }
}
