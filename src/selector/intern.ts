// V8 keeps property names in its string table, so a string read back as a property key is the
// table's single copy. Label values stored by the index and literals in compiled selectors go
// through here: `===` between two such strings is then a pointer comparison that never reads
// their characters, which matters when 100k endpoints' labels are scattered across the heap.
// The table is weak, so values nobody holds any more are still collected.
export function internalize(s: string): string {
  const holder: Record<string, 0> = { [s]: 0 };
  for (const key in holder) return key;
  return s;
}
