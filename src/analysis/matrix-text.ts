// The matrix as text: one grid per port in the style of the upstream e2e truth tables
// (`.` allowed, `X` denied), with numbered columns so it stays readable at dozens of workloads.
import type { MatrixCell, MatrixStream, PortProtocol } from "./matrix.ts";

/** What the grid needs: offline matrices and observed (lab) ones both have it. */
export interface MatrixGrid {
  readonly workloads: readonly string[];
  readonly ports: readonly PortProtocol[];
  readonly results: ReadonlyArray<
    Pick<MatrixCell, "from" | "to" | "port" | "protocol" | "allowed">
  >;
}

export function formatMatrix(m: MatrixGrid): string {
  const n = m.workloads.length;
  const index = new Map(m.workloads.map((w, i) => [w, i]));
  const nameWidth = Math.max(4, ...m.workloads.map((w) => w.length));
  const numWidth = String(n).length;
  const out: string[] = [];
  for (const { port, protocol } of m.ports) {
    const grid = Array.from({ length: n }, () => Array<string>(n).fill("?"));
    for (const c of m.results) {
      if (c.port !== port || c.protocol !== protocol) continue;
      grid[index.get(c.from)!]![index.get(c.to)!] = c.allowed ? "." : "X";
    }
    const allowed = grid.flat().filter((c) => c === ".").length;
    out.push(`${port}/${protocol}: ${allowed}/${n * n} allowed (rows: from, columns: to)`);
    // Column numbers written vertically, one digit per line.
    for (let d = numWidth - 1; d >= 0; d--) {
      const digits = m.workloads.map((_, j) => {
        const s = String(j + 1).padStart(numWidth, " ");
        return s[numWidth - 1 - d]!;
      });
      out.push(`${" ".repeat(numWidth + 1 + nameWidth)} ${digits.join(" ")}`);
    }
    m.workloads.forEach((w, i) => {
      out.push(`${String(i + 1).padStart(numWidth)} ${w.padEnd(nameWidth)} ${grid[i]!.join(" ")}`);
    });
    out.push("");
  }
  return out.join("\n");
}

/** Text is written on in pieces of about this size. */
const CHUNK_CHARS = 1 << 20;

/**
 * `{"results":[...]}` as `JSON.stringify` of the whole matrix writes it, handed to `write` in
 * pieces as the cells are judged: a 5,000-pod grid is never held whole.
 */
export function writeResultsJson(stream: MatrixStream, write: (text: string) => void): void {
  let chunk = '{"results":[';
  let first = true;
  stream.forEach((cell) => {
    chunk += first ? JSON.stringify(cell) : `,${JSON.stringify(cell)}`;
    first = false;
    if (chunk.length >= CHUNK_CHARS) {
      write(chunk);
      chunk = "";
    }
  });
  write(`${chunk}]}`);
}
