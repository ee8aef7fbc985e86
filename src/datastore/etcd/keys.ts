// The etcd key space of one store, under its prefix (`/microseg` unless the URL names another):
//   PREFIX/o/GROUP/Kind/NAMESPACE/NAME  an object, as JSON (cluster-scoped: empty NAMESPACE)
//   PREFIX/rev                          microseg's revision: the last change's, a decimal
//   PREFIX/log/REVISION                 one empty key per write transaction, named by its last
//                                       revision (zero-padded); its mod revision is the etcd
//                                       revision of that transaction, so a watch from any
//                                       microseg revision knows where to start in etcd
//   PREFIX/compacted                    the change log is forgotten up to this revision
// Every key the watch needs (objects and rev) is under PREFIX/, so one etcd watch carries all.
import { resourceKey } from "../../model/index.ts";
import type { StoredResource } from "../types.ts";

const REVISION_DIGITS = 16;

export interface KeySpace {
  readonly prefix: string;
  readonly objects: string;
  readonly revision: string;
  readonly compacted: string;
  readonly log: string;
}

export function keySpace(prefix: string): KeySpace {
  const p = prefix.replace(/\/+$/, "");
  return {
    prefix: `${p}/`,
    objects: `${p}/o/`,
    revision: `${p}/rev`,
    compacted: `${p}/compacted`,
    log: `${p}/log/`,
  };
}

export function objectKey(keys: KeySpace, r: StoredResource): string {
  return keys.objects + resourceKey(r);
}

/** The log key of a transaction whose last revision is `revision`. */
export function logKey(keys: KeySpace, revision: number): string {
  return keys.log + String(revision).padStart(REVISION_DIGITS, "0");
}

/** The end of a prefix range: the prefix with its last byte incremented, as etcd takes it. */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  return end;
}

/** `GROUP/Kind/NAMESPACE/NAME` of an object key, split; undefined for keys of other kinds. */
export function parseObjectKey(
  keys: KeySpace,
  key: string,
): { readonly kind: string; readonly namespace: string } | undefined {
  if (!key.startsWith(keys.objects)) return undefined;
  const parts = key.slice(keys.objects.length).split("/");
  if (parts.length !== 4) return undefined;
  return { kind: `${parts[0]}/${parts[1]}`, namespace: parts[2]! };
}
