// The body of a failed Kubernetes API call (`Status`, as the API concepts document gives it),
// for the test servers that speak the API's wire format: the API double and the client's wire
// server.
export interface StatusCause {
  readonly field: string;
  readonly message: string;
  readonly reason?: string;
}

export function statusBody(
  code: number,
  reason: string,
  message: string,
  causes?: readonly StatusCause[],
): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
    ...(causes ? { details: { causes } } : {}),
  };
}
