// labelSelector and fieldSelector query parameters, read with the store's own filter (one
// parser for lists and watches): a bad one is a 400 naming the parameter before the store is
// asked anything; watches apply the compiled filter on the way out.
import { DatastoreError, listFilter, type ObjectFilter } from "../datastore/index.ts";
import { badRequest } from "./errors.ts";

export interface Selectors {
  /** What the store's list takes: only the parameters given. */
  readonly store: { labelSelector?: string; fieldSelector?: string };
  /** Absent when neither parameter is given. */
  readonly filter?: ObjectFilter;
}

export function selectorsFrom(q: Record<string, string | undefined>): Selectors {
  const store: { labelSelector?: string; fieldSelector?: string } = {};
  if (q.labelSelector) store.labelSelector = q.labelSelector;
  if (q.fieldSelector) store.fieldSelector = q.fieldSelector;
  if (!store.labelSelector && !store.fieldSelector) return { store };
  try {
    return { store, filter: listFilter(store) };
  } catch (error) {
    const issue = error instanceof DatastoreError ? error.issues[0] : undefined;
    if (!issue) throw error;
    throw badRequest(issue.path, issue.message);
  }
}
