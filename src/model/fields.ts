// Scalar field schemas shared by several kinds. Each carries the exact wording users see, so a
// rule reads the same wherever it applies.
import { z } from "zod";
import { type SelectorAst, tryParseSelector } from "../selector/index.ts";
import { parseCidrText, parseIp } from "./addresses.ts";
import { checkLabelValue, checkQualifiedName, isPortName, PORT_NAME_RULE } from "./names.ts";

/** A value checked by `test`; a missing value says "required" rather than the rule. */
export function scalar<T>(test: (value: unknown) => boolean, rule: string) {
  return z.custom<T>(test, { error: (issue) => (issue.input === undefined ? "required" : rule) });
}

/**
 * A documented field this project knows but does not enforce: any value is an error with this
 * reason, because ignoring it would enforce something other than what was written.
 */
export function refusedField(reason: string) {
  return z.custom<never>(() => false, { error: reason });
}

export function intInRange(min: number, max: number, rule = `must be an integer ${min}-${max}`) {
  return scalar<number>(
    (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
    rule,
  );
}

export const PortNumberSchema = intInRange(1, 65535, "must be 1-65535");

export const PortNameSchema = scalar<string>(
  (v) => typeof v === "string" && isPortName(v),
  PORT_NAME_RULE,
);

export const NonEmptyStringSchema = z.string().min(1, "must not be empty");

export const IpSchema = scalar<string>(
  (v) => typeof v === "string" && parseIp(v) !== undefined,
  "must be an IP address",
);

/** Kubernetes and AdminNetworkPolicy CIDRs: the prefix length is mandatory. */
export const CidrSchema = scalar<string>(
  (v) => typeof v === "string" && parseCidrText(v, false) !== undefined,
  "must be a CIDR such as 10.0.0.0/16 or fd00::/64",
);

/** Calico nets: a CIDR, or a bare address meaning that one host. */
export const NetSchema = scalar<string>(
  (v) => typeof v === "string" && parseCidrText(v, true) !== undefined,
  "must be a CIDR such as 10.0.0.0/16 or an IP address",
);

export const LabelKeySchema = z.string().superRefine((key, ctx) => {
  const problem = checkQualifiedName(key);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const LabelMapSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  for (const [key, value] of Object.entries(labels)) {
    const problem = checkQualifiedName(key) ?? checkLabelValue(value);
    if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
  }
});

export const AnnotationMapSchema = z.record(z.string(), z.string()).superRefine((notes, ctx) => {
  for (const key of Object.keys(notes)) {
    // Kubernetes lowercases annotation keys before checking them.
    const problem = checkQualifiedName(key.toLowerCase());
    if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
  }
});

/** A list whose items must be distinct, like `policyTypes`. */
export function uniqueList<T extends z.ZodType<string>>(item: T) {
  return z.array(item).superRefine((items, ctx) => {
    items.forEach((value, i) => {
      if (items.indexOf(value) !== i) {
        ctx.addIssue({ code: "custom", path: [i], message: `duplicate value "${value}"` });
      }
    });
  });
}

function containsGlobal(ast: SelectorAst): boolean {
  switch (ast.kind) {
    case "global":
      return true;
    case "not":
      return containsGlobal(ast.operand);
    case "and":
    case "or":
      return ast.operands.some(containsGlobal);
    default:
      return false;
  }
}

function selectorKeys(ast: SelectorAst): string[] {
  switch (ast.kind) {
    case "all":
    case "global":
      return [];
    case "not":
      return selectorKeys(ast.operand);
    case "and":
    case "or":
      return ast.operands.flatMap(selectorKeys);
    default:
      return [ast.key];
  }
}

interface SelectorRules {
  /** Only a rule's namespaceSelector may be `global()`, and then nothing else (as in Calico). */
  allowGlobal?: boolean;
  /** Extra check of each label key the selector reads; returns the problem. */
  checkKey?: (key: string) => string | undefined;
}

/** A Calico selector expression, parsed here so a bad one is refused with its column. */
export function selectorSchema(rules: SelectorRules = {}) {
  return z.string().superRefine((text, ctx) => {
    const parsed = tryParseSelector(text);
    if (!parsed.ok) {
      const { reason, column } = parsed.error;
      ctx.addIssue({ code: "custom", message: `invalid selector: ${reason} at column ${column}` });
      return;
    }
    if (containsGlobal(parsed.value)) {
      if (!rules.allowGlobal) {
        ctx.addIssue({
          code: "custom",
          message: "global() is only valid in a rule's namespaceSelector",
        });
      } else if (parsed.value.kind !== "global") {
        ctx.addIssue({ code: "custom", message: "global() cannot be combined with other terms" });
      }
    }
    if (rules.checkKey) {
      for (const key of new Set(selectorKeys(parsed.value))) {
        const problem = rules.checkKey(key);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }
    }
  });
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** A Go duration ("5m", "1h30m", "1.5s") in milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === "") return undefined;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const match = DURATION_PART.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  }
  return total;
}

export const DurationSchema = scalar<string>(
  (v) => typeof v === "string" && (parseDuration(v) ?? 0) > 0,
  'must be a positive duration such as "30s", "5m" or "1h30m"',
);
