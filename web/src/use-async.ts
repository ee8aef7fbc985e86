// One loading pattern for every view: run an async load, keep its value or its error.
import { useEffect, useState } from "preact/hooks";

export interface Loaded<T> {
  readonly value?: T;
  readonly error?: Error;
  readonly loading: boolean;
}

export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ loading: true });
  // The caller names what the load reads in `deps`.
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (value) => current && setState({ value, loading: false }),
      (error: Error) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, deps);
  return state;
}
