// Conjunction and disjunction of compiled tests, whatever they test (a label set, a slot).
// Small fixed arities unrolled: they are most selectors, and V8 inlines them well.

type Test<T> = (x: T) => boolean;

export function allOf<T>(fns: readonly Test<T>[]): Test<T> {
  if (fns.length === 1) return fns[0]!;
  if (fns.length === 2) {
    const [a, b] = fns as [Test<T>, Test<T>];
    return (x) => a(x) && b(x);
  }
  if (fns.length === 3) {
    const [a, b, c] = fns as [Test<T>, Test<T>, Test<T>];
    return (x) => a(x) && b(x) && c(x);
  }
  return (x) => {
    for (let i = 0; i < fns.length; i++) if (!fns[i]!(x)) return false;
    return true;
  };
}

export function anyOf<T>(fns: readonly Test<T>[]): Test<T> {
  if (fns.length === 1) return fns[0]!;
  if (fns.length === 2) {
    const [a, b] = fns as [Test<T>, Test<T>];
    return (x) => a(x) || b(x);
  }
  if (fns.length === 3) {
    const [a, b, c] = fns as [Test<T>, Test<T>, Test<T>];
    return (x) => a(x) || b(x) || c(x);
  }
  return (x) => {
    for (let i = 0; i < fns.length; i++) if (fns[i]!(x)) return true;
    return false;
  };
}
