// Structured logs: one JSON object per line on stderr, so a supervisor or a test can read them
// back. `time`, `level` and `msg` come first; the fields name what the message is about.

export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  /** Messages below this level are dropped; info by default. */
  readonly level?: LogLevel;
  /** Fields every line carries (the node, say). */
  readonly base?: LogFields;
  /** Where lines go; stderr by default. */
  readonly write?: (line: string) => void;
}

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}

export function jsonLogger(opts: LoggerOptions = {}): Logger {
  const min = RANK[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const emit = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    const entry = { time: new Date().toISOString(), level, msg, ...opts.base, ...fields };
    write(`${JSON.stringify(entry, errorsAsText)}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

// Error objects stringify to {}; their message is what a reader needs.
function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}
