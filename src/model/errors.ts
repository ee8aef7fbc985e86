// Manifest errors are data: a stable code, where (file, document, object, field path) and a
// message. Every code is listed with its meaning, so the CLI, API and UI can rely on them.

export const MANIFEST_ERROR_CODES = {
  "manifest.read": "a file or directory could not be read",
  "manifest.syntax": "the text is not valid YAML or JSON (the message gives line and column)",
  "manifest.shape": "a document is not an object, or a List's items is not a list",
  "manifest.kind": "apiVersion or kind is missing, or names a kind that is not accepted",
  "manifest.field": "a field is missing, unknown or invalid (path names it)",
  "manifest.duplicate": "the same object (group, kind, namespace, name) appears twice in one set",
  "manifest.empty": "the files named hold no objects at all",
  "manifest.namespace": "an object names another namespace than the one given with -n",
  "manifest.reference": "a field names an object that is not in the set (path names the field)",
} as const;

export type ManifestErrorCode = keyof typeof MANIFEST_ERROR_CODES;

/** A problem with one object, before it is placed in a file (see parseResource). */
export interface ResourceIssue {
  readonly code: ManifestErrorCode;
  /** Field path such as `spec.ingress[0].ports[1].port`; "" for the object as a whole. */
  readonly path: string;
  readonly message: string;
}

export interface ManifestError extends ResourceIssue {
  readonly file: string;
  /** 1-based YAML document in the file; 0 when the error concerns the whole file. */
  readonly document: number;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** `examples/bad.yaml#2 NetworkPolicy prod/web: spec.ingress[0].ports[1].port: must be ...` */
export function formatManifestError(e: ManifestError): string {
  let where = e.document > 0 ? `${e.file}#${e.document}` : e.file;
  if (e.kind) where += ` ${e.kind}`;
  if (e.name) where += ` ${e.namespace ? `${e.namespace}/` : ""}${e.name}`;
  return `${where}: ${e.path ? `${e.path}: ` : ""}${e.message}`;
}
