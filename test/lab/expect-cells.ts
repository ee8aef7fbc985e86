// Probes cells with an expected outcome and names the ones that differ. Shared by the lab tests
// that compare real packets with a truth table or with `microseg matrix`.

import type { Lab, ProbeSpec } from "../../src/lab/index.ts";

export interface ExpectedCell extends ProbeSpec {
  expected: boolean;
}

// A denied probe waits this long; an allowed one answers in about a millisecond.
const timeoutMs = 400;
// A cell expected open that timed out is probed once more with time to spare, so a busy machine
// cannot fail it; a real drop times out again. A cell that connected is never retried.
const retryTimeoutMs = 2000;

/** Every cell in one parallel batch; the flows that disagree, and how many were retried. */
export async function probeExpecting(
  lab: Lab,
  cells: readonly ExpectedCell[],
): Promise<{ wrong: string[]; retried: number }> {
  const first = await lab.probe(cells, { timeoutMs });
  const slow = cells.flatMap((c, i) => (c.expected && !first[i]!.allowed ? [i] : []));
  const again = await lab.probe(
    slow.map((i) => cells[i]!),
    { timeoutMs: retryTimeoutMs },
  );
  const results = [...first];
  slow.forEach((i, j) => {
    results[i] = again[j]!;
  });
  const wrong = cells.flatMap((c, i) => {
    const r = results[i]!;
    if (r.allowed === c.expected) return [];
    const want = c.expected ? "allow" : "deny";
    return [`${c.from} -> ${c.to} ${c.port}/${c.protocol}: expected ${want}, got ${r.outcome}`];
  });
  return { wrong, retried: slow.length };
}
