// zod issues in our words: one issue per problem, a dotted path, and messages that say what is
// wanted ("required", "unknown field", "must be one of ...") instead of zod's defaults.
import type { z } from "zod";
import type { ResourceIssue } from "./errors.ts";

type Issue = z.core.$ZodIssue;
type Segment = PropertyKey;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `spec.ingress[0].ports[1].port`; keys that are not plain words are quoted: `labels["a/b"]`. */
export function formatPath(path: readonly Segment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && IDENTIFIER.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  return typeof value;
}

function describe(issue: Issue, path: Segment[]): { path: Segment[]; message: string }[] {
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path: [...path, key], message: "unknown field" }));
    case "invalid_type":
      return [
        {
          path,
          message:
            issue.input === undefined
              ? "required"
              : `expected ${issue.expected === "array" ? "list" : issue.expected}, got ${typeName(issue.input)}`,
        },
      ];
    case "invalid_value": {
      if (issue.input === undefined) return [{ path, message: "required" }];
      const values = issue.values.map((v) => (typeof v === "string" ? v : String(v)));
      const message =
        values.length === 1 ? `must be "${values[0]}"` : `must be one of ${values.join(", ")}`;
      return [{ path, message }];
    }
    case "invalid_union": {
      // Report the branch that got furthest (fewest issues); unions here are rare and small.
      const branches = issue.errors.map((branch) =>
        branch.flatMap((inner) => describe(inner, [...path, ...inner.path])),
      );
      branches.sort((a, b) => a.length - b.length);
      return branches[0] ?? [{ path, message: issue.message }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

export function issuesFromZod(error: z.ZodError): ResourceIssue[] {
  return error.issues.flatMap((issue) =>
    describe(issue, [...issue.path]).map(({ path, message }) => ({
      code: "manifest.field" as const,
      path: formatPath(path),
      message,
    })),
  );
}
