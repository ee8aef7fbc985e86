// How the verbs that talk to the server fail, as kubectl does: the server's refusal as
// `Error from server (Reason): message` (with each field cause), a refused connection in
// kubectl's words, our own argument errors as `error: ...`; exit status 1 for all of them.
import { ApiError } from "../client/index.ts";
import { DatastoreError } from "../datastore/index.ts";

function isTyped(error: unknown): error is Error & { code: string } {
  return error instanceof Error && "code" in error && typeof error.code === "string";
}

/**
 * A named object's NotFound in kubectl's words (`pods "web-0" not found`,
 * `networkpolicies.networking.k8s.io "deny" not found`), whatever the server's message.
 */
export function asKubectlNotFound(
  error: unknown,
  info: { readonly plural: string; readonly group: string },
  name: string,
): unknown {
  if (!(error instanceof ApiError) || error.code !== "NotFound") return error;
  const resource = info.group ? `${info.plural}.${info.group}` : info.plural;
  return new ApiError("NotFound", error.status, "NotFound", `${resource} "${name}" not found`);
}

/** The lines kubectl would print for `error`; undefined for an untyped error (a bug). */
export function failureLines(error: unknown): string[] | undefined {
  if (error instanceof ApiError) {
    if (error.status === 0) return [error.message.replace(/^the /, "The ")];
    const causes = error.causes
      .filter((c) => c.field !== "" || c.message !== "")
      .map((c) => `  ${c.field ? `${c.field}: ` : ""}${c.message}`);
    return [`Error from server (${error.reason}): ${error.message}`, ...causes];
  }
  if (error instanceof DatastoreError)
    return [`Error from server (${error.code}): ${error.message}`];
  if (isTyped(error)) return [`error: ${error.message}`];
  return undefined;
}

/** Wraps a command action: typed failures print and exit with `status`; bugs keep their stack. */
export function kubectlAction<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
  status = 1,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      const lines = failureLines(error);
      if (!lines) throw error;
      for (const line of lines) console.error(line);
      process.exit(status);
    }
  };
}
