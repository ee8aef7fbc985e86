/** A Map or a WeakMap: what getOrCreate needs of one. */
interface Keyed<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): unknown;
}

/** The value under `key`, created and stored first when absent. */
export function getOrCreate<K, V>(map: Keyed<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
