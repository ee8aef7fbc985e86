// Tables as kubectl prints them: upper-case headers, columns padded to their widest cell and
// three spaces apart, AGE in kubectl's short human durations.

export type Row = readonly string[];

const GAP = 3;

export function columnWidths(rows: readonly Row[]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return widths;
}

/** One line; the last cell is not padded. */
export function formatRow(row: Row, widths: readonly number[]): string {
  return row
    .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + GAP - 1)))
    .join(" ");
}

export function formatTable(rows: readonly Row[]): string {
  const widths = columnWidths(rows);
  return rows.map((row) => `${formatRow(row, widths)}\n`).join("");
}

/** kubectl's HumanDuration: `45s`, `3m20s`, `12m`, `5h3m`, `20h`, `3d4h`, `40d`, `2y30d`, `9y`. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 192)
    return hours % 24 === 0
      ? `${Math.floor(hours / 24)}d`
      : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (days < 730) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

export function age(creationTimestamp: string | undefined, now: number): string {
  const created = creationTimestamp ? Date.parse(creationTimestamp) : Number.NaN;
  return Number.isNaN(created) ? "<unknown>" : humanDuration(now - created);
}
