// Failures of API calls as typed errors. A Kubernetes `Status` body becomes an ApiError that
// keeps the HTTP status, the Status reason and every cause with its field path; the datastore's
// code says what a caller can do about it (Unavailable: retry; anything else: the request itself
// is refused). A 410 is the datastore's ExpiredError, so a watch over HTTP fails like one over
// the store.
import { z } from "zod";
import { DatastoreError, type DatastoreErrorCode, ExpiredError } from "../datastore/index.ts";
import type { ResourceIssue } from "../model/index.ts";

const StatusSchema = z.object({
  kind: z.literal("Status"),
  message: z.string().optional(),
  reason: z.string().optional(),
  code: z.number().optional(),
  details: z
    .object({
      name: z.string().optional(),
      kind: z.string().optional(),
      causes: z
        .array(
          z.object({
            reason: z.string().optional(),
            message: z.string().optional(),
            field: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

export type Status = z.infer<typeof StatusSchema>;

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  /** The field path (`spec.ingress[0].ports[0].port`); "" for the object as a whole. */
  readonly field: string;
}

export class ApiError extends DatastoreError {
  constructor(
    code: DatastoreErrorCode,
    /** HTTP status; 0 when no response came (refused, reset, timed out). */
    readonly status: number,
    /** The Status reason as Kubernetes names it (`NotFound`, `Invalid`, `Unauthorized`). */
    readonly reason: string,
    message: string,
    readonly causes: readonly StatusCause[] = [],
  ) {
    super(code, message, causes.map(issueOf));
    this.name = "ApiError";
  }
}

function issueOf(cause: StatusCause): ResourceIssue {
  return { code: "manifest.field", path: cause.field, message: cause.message };
}

const REASON_BY_STATUS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  406: "NotAcceptable",
  409: "Conflict",
  410: "Expired",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

function codeOf(status: number, reason: string): DatastoreErrorCode {
  if (reason === "NotFound" || reason === "AlreadyExists" || reason === "Conflict") return reason;
  if (status === 404) return "NotFound";
  if (status === 409) return "Conflict";
  if (status === 429 || status >= 500) return "Unavailable";
  return "Invalid";
}

/** What the server said: its Status when the body is one, else the HTTP status alone. */
export function errorFromResponse(status: number, body: string): DatastoreError {
  let parsed: Status | undefined;
  try {
    const result = StatusSchema.safeParse(JSON.parse(body));
    if (result.success) parsed = result.data;
  } catch {
    // Not JSON (a proxy's page, a truncated body): the HTTP status is all there is.
  }
  return errorFromStatus(status, parsed, body);
}

/** The server's own words for an oldest revision, if it gave them (`oldest kept: N`). */
function compactedFrom(message: string, requested: number): number {
  const m = /oldest kept: (\d+)/.exec(message);
  return m ? Number(m[1]) - 1 : requested;
}

export function errorFromStatus(
  httpStatus: number,
  status: Status | undefined,
  fallbackText = "",
  requestedRevision = 0,
): DatastoreError {
  const code = status?.code ?? httpStatus;
  const reason = status?.reason ?? REASON_BY_STATUS[code] ?? `HTTP${code}`;
  const message = status?.message ?? (fallbackText.trim().slice(0, 200) || `HTTP ${code}`);
  if (code === 410 || reason === "Expired" || reason === "Gone") {
    return new ExpiredError(requestedRevision, compactedFrom(message, requestedRevision));
  }
  const causes = (status?.details?.causes ?? []).map((c) => ({
    reason: c.reason ?? "",
    message: c.message ?? "",
    field: c.field ?? "",
  }));
  return new ApiError(codeOf(code, reason), code, reason, message, causes);
}

export function parseStatus(value: unknown): Status | undefined {
  const result = StatusSchema.safeParse(value);
  return result.success ? result.data : undefined;
}

/** No response at all: the server is down, unreachable or reset the connection. */
export function connectionError(server: string, cause: Error): ApiError {
  const code = (cause as NodeJS.ErrnoException).code;
  const message =
    code === "ECONNREFUSED"
      ? `the connection to the server ${server} was refused - did you specify the right host or port?`
      : `the server ${server} could not be reached: ${cause.message}`;
  return new ApiError("Unavailable", 0, "ServiceUnavailable", message);
}
