// Stored items as a kubectl table (or JSON lines), then, with --follow, each new item as one
// more line in the same columns, as `kubectl get -w` prints. Widths come from the header, the
// stored rows and a minimum per column, so live rows of usual length stay aligned.
import type { EventFollow, EventListener } from "../client/index.ts";
import { CliError } from "./load.ts";
import { columnWidths, formatRow, type Row } from "./table.ts";

export interface LiveTable<T> {
  readonly header: Row;
  /** The narrowest each column is printed, for rows that come later. */
  readonly minWidths: readonly number[];
  readonly row: (item: T) => Row;
  /** JSON lines (`-o json`) rather than a table. */
  readonly json: boolean;
}

export function printItems<T>(t: LiveTable<T>, items: readonly T[]): number[] {
  if (t.json) {
    for (const item of items) process.stdout.write(`${JSON.stringify(item)}\n`);
    return [];
  }
  const rows = items.map(t.row);
  const widths = columnWidths([t.header, ...rows]).map((w, i) => Math.max(w, t.minWidths[i] ?? 0));
  process.stdout.write(`${formatRow(t.header, widths)}\n`);
  for (const r of rows) process.stdout.write(`${formatRow(r, widths)}\n`);
  return widths;
}

/** Prints the stored items, then follows until the stream fails (Ctrl-C ends it otherwise). */
export function printAndFollow<T extends { id: number }>(
  t: LiveTable<T>,
  items: readonly T[],
  follow: ((listener: EventListener<T>, afterId: number | undefined) => EventFollow) | undefined,
): Promise<void> {
  const widths = printItems(t, items);
  if (!follow) return Promise.resolve();
  return new Promise((_resolve, reject) => {
    follow(
      {
        onItem(item) {
          process.stdout.write(
            t.json ? `${JSON.stringify(item)}\n` : `${formatRow(t.row(item), widths)}\n`,
          );
        },
        onError: reject,
      },
      items.at(-1)?.id,
    );
  });
}

export type OutputKind = "table" | "wide" | "json";

export function liveOutput(value: string | undefined, allowed: readonly OutputKind[]): OutputKind {
  if (value === undefined) return "table";
  const found = allowed.find((a) => a === value && a !== "table");
  if (found) return found;
  throw new CliError(
    `unable to match a printer suitable for the output format "${value}", allowed formats are: ${allowed.filter((a) => a !== "table").join(",")}`,
  );
}
