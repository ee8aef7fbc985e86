// Typed errors of the selector language. They are data (a stable `code` plus where it happened),
// so the API, CLI and UI can point at the offending spot without parsing messages.

/** The selector text is not valid Calico selector syntax. `column` is 1-based. */
export class SelectorParseError extends Error {
  readonly code = "selector.parse";
  readonly column: number;
  readonly selector: string;
  /** The message without the caret excerpt, for callers that render position themselves. */
  readonly reason: string;

  constructor(selector: string, column: number, reason: string) {
    super(`${reason} at column ${column}\n  ${selector}\n  ${" ".repeat(column - 1)}^`);
    this.name = "SelectorParseError";
    this.selector = selector;
    this.column = column;
    this.reason = reason;
  }
}

/** A Kubernetes LabelSelector that cannot be converted; `path` names the offending field. */
export class LabelSelectorError extends Error {
  readonly code = "selector.labelSelector";
  readonly path: string;

  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "LabelSelectorError";
    this.path = path;
  }
}

/**
 * A selector built from data (not parsed) holds a key or value the selector syntax cannot
 * express, so it would have no canonical text. Refused where the AST is built.
 */
export class SelectorBuildError extends Error {
  readonly code = "selector.build";

  constructor(message: string) {
    super(message);
    this.name = "SelectorBuildError";
  }
}
