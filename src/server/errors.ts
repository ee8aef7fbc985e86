// The one catalogue of API errors: each stable code maps to an HTTP status and a Kubernetes
// Status reason, and carries the sentence that documents it (README's table lists them all; a
// test holds the two together). Every failure the API returns is a Status object built here.
import { DatastoreError, ExpiredError } from "../datastore/index.ts";
import type { ResourceIssue } from "../model/index.ts";

export const API_ERRORS = {
  BadRequest: {
    status: 400,
    reason: "BadRequest",
    doc: "malformed request: truncated or non-JSON body, a body whose apiVersion, kind, namespace or name does not match the path, a bad label or field selector, a bad query parameter",
  },
  Unauthorized: {
    status: 401,
    reason: "Unauthorized",
    doc: "the server requires a bearer token (--token-file) and the request has none or a wrong one",
  },
  NotFound: {
    status: 404,
    reason: "NotFound",
    doc: "no such object, or no such path (unknown group, version or resource plural)",
  },
  MethodNotAllowed: {
    status: 405,
    reason: "MethodNotAllowed",
    doc: "the path exists but does not take this verb (PUT on a collection, POST on an object)",
  },
  NotAcceptable: {
    status: 406,
    reason: "NotAcceptable",
    doc: "the Accept header names only representations the server does not produce (protobuf, for one)",
  },
  AlreadyExists: {
    status: 409,
    reason: "AlreadyExists",
    doc: "create of an object whose kind, namespace and name already exist",
  },
  Conflict: {
    status: 409,
    reason: "Conflict",
    doc: "a resourceVersion precondition is stale, or a referenced object still has dependants (a tier holding policies)",
  },
  Expired: {
    status: 410,
    reason: "Expired",
    doc: "a watch from a resourceVersion the store has compacted away: list again and watch from the list's resourceVersion",
  },
  RequestEntityTooLarge: {
    status: 413,
    reason: "RequestEntityTooLarge",
    doc: "the body is larger than the server's limit (--max-body, --max-apply-body); refused before parsing",
  },
  UnsupportedMediaType: {
    status: 415,
    reason: "UnsupportedMediaType",
    doc: "the Content-Type is not one the verb takes (JSON for writes; merge-patch or strategic-merge-patch JSON for PATCH)",
  },
  Invalid: {
    status: 422,
    reason: "Invalid",
    doc: "the object fails validation or a referential rule: details.causes names every field path",
  },
  InternalError: {
    status: 500,
    reason: "InternalError",
    doc: "a bug in the server: the message says what failed; nothing was changed",
  },
  ServiceUnavailable: {
    status: 503,
    reason: "ServiceUnavailable",
    doc: "the datastore cannot be reached or is closing",
  },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** One entry of a Status's details.causes: Kubernetes' field-level cause. */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
}

/** Kubernetes' metav1.Status for a failure, as the API server sends it. */
export interface Status {
  readonly kind: "Status";
  readonly apiVersion: "v1";
  readonly metadata: Record<string, never>;
  readonly status: "Failure";
  readonly message: string;
  readonly reason: string;
  readonly details?: StatusDetails;
  readonly code: number;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = API_ERRORS[code].status;
  }

  toStatus(): Status {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: API_ERRORS[this.code].reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.status,
    };
  }
}

/** A model issue as a Status cause; an issue about the whole object names its kind field. */
export function causeOf(issue: ResourceIssue): StatusCause {
  // An unknown kind is an issue of the whole object (a set's `items[i]`): its field is `kind`.
  const whole = issue.path === "" || /^items\[\d+\]$/.test(issue.path);
  const field =
    whole && issue.code === "manifest.kind"
      ? `${issue.path ? `${issue.path}.` : ""}kind`
      : issue.path;
  const reason = issue.message === "unknown field" ? "FieldValueNotSupported" : "FieldValueInvalid";
  return { reason, message: `${field ? `${field}: ` : ""}${issue.message}`, field };
}

/** 422 with every issue as a cause, in Kubernetes' words (`Pod "web" is invalid: ...`). */
export function invalid(
  what: { kind: string; name?: string; group?: string },
  issues: readonly ResourceIssue[],
): ApiError {
  const causes = issues.map(causeOf);
  const subject = `${what.kind}${what.name ? ` "${what.name}"` : ""}`;
  return new ApiError(
    "Invalid",
    `${subject} is invalid: ${causes.map((c) => c.message).join(", ")}`,
    {
      ...(what.name ? { name: what.name } : {}),
      ...(what.group !== undefined ? { group: what.group } : {}),
      kind: what.kind,
      causes,
    },
  );
}

/** A bad request naming the query parameter or body field at fault. */
export function badRequest(field: string, message: string): ApiError {
  return new ApiError("BadRequest", `${field}: ${message}`, {
    causes: [{ reason: "FieldValueInvalid", message, field }],
  });
}

const STORE_CODES: Record<DatastoreError["code"], ApiErrorCode> = {
  NotFound: "NotFound",
  AlreadyExists: "AlreadyExists",
  Conflict: "Conflict",
  Invalid: "Invalid",
  Expired: "Expired",
  Unavailable: "ServiceUnavailable",
};

/** What a store error is about, to name it in the Status. */
export interface ErrorSubject {
  readonly kind: string;
  readonly group?: string;
  readonly name?: string;
  /** The request's resourceVersion precondition, named as the field a Conflict is about. */
  readonly preconditionField?: string;
}

/** The store's typed errors as API errors; the store's Invalid issues become causes. */
export function fromStoreError(error: DatastoreError, what?: ErrorSubject): ApiError {
  if (error.code === "Invalid" && error.issues.length > 0) {
    const kind = what?.kind ?? error.object?.split(" ")[0] ?? "object";
    return invalid(
      {
        kind,
        ...(what?.group !== undefined ? { group: what.group } : {}),
        ...(what?.name ? { name: what.name } : {}),
      },
      error.issues,
    );
  }
  const field = error.code === "Conflict" ? what?.preconditionField : undefined;
  const details: StatusDetails | undefined = what
    ? {
        kind: what.kind,
        ...(what.name ? { name: what.name } : {}),
        ...(field
          ? { causes: [{ reason: "FieldValueInvalid", message: error.message, field }] }
          : {}),
      }
    : undefined;
  return new ApiError(STORE_CODES[error.code], error.message, details);
}

/** Anything thrown while serving, as the error the client sees. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ExpiredError || error instanceof DatastoreError) {
    return fromStoreError(error);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError("InternalError", message);
}
