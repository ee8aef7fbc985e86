// V8 keeps property names in its string table, so a string read back as a property key is the
// table's single copy. Label values stored by the index and literals in compiled selectors go
// through here: `===` between two such strings is then a pointer comparison that never reads
// their characters, which matters when 100k endpoints' labels are scattered across the heap.
// The table is weak, so values nobody holds any more are still collected.
//
// The holder is a prototype-free object, which V8 keeps as a dictionary: a key added to it makes
// no hidden class. A fresh `{ [s]: 0 }` per value made one transition from the empty object's
// hidden class per distinct value; past V8's limit on transitions from one class, every object
// later built up from `{}` got a hidden class of its own (one per pod: about 700 B each).
const holder: Record<string, 0> = Object.create(null);

export function internalize(s: string): string {
  holder[s] = 0;
  let out = s;
  for (const key in holder) out = key;
  delete holder[s];
  return out;
}
