// API paths of every kind, Kubernetes-shaped and derived from the registry alone:
// core `/api/v1[/namespaces/{ns}]/{plural}[/{name}]`, groups
// `/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}]`.
import type { KindRef, ObjectRef } from "../datastore/index.ts";
import { type KindInfo, lookupKind } from "../model/index.ts";

/** Where the whole-set apply is posted (one store transaction). */
export const APPLY_PATH = "/apis/microseg.io/v1/apply";
/** One watch carrying every kind (an agent's single connection; src/server/store-wide.ts). */
export const WATCH_ALL_PATH = "/apis/microseg.io/v1/watch";
/** Every object of every kind at one revision (an agent's full sync). */
export const SNAPSHOT_PATH = "/apis/microseg.io/v1/snapshot";
export const EXPLAIN_PATH = "/api/v1/explain";
export const MATRIX_PATH = "/api/v1/matrix";
export const DESCRIBE_PATH = "/api/v1/describe";
/** A change judged on the live store and its recorded flows, nothing written. */
export const SIMULATE_PATH = "/api/v1/simulate";
export const AGENTS_PATH = "/api/v1/agents";
/** Flow records: agents POST them, readers GET (or follow) them. */
export const FLOWS_PATH = "/api/v1/flows";
/** Alerts: agents POST them, readers GET (or follow) them; `{id}/acknowledge`. */
export const ALERTS_PATH = "/api/v1/alerts";

export class UnknownKindError extends Error {
  readonly code = "client.kind";
}

export function kindInfo(ref: KindRef): KindInfo {
  const info = lookupKind(ref.apiVersion, ref.kind);
  if (!info) throw new UnknownKindError(`unknown kind ${ref.kind} in ${ref.apiVersion}`);
  return info;
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

/** The collection path of a kind; a namespaced kind without a namespace lists all of them. */
export function collectionPath(ref: KindRef, namespace?: string): string {
  const info = kindInfo(ref);
  const root = info.group === "" ? `/api/${info.apiVersion}` : `/apis/${info.apiVersion}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${segment(namespace)}` : "";
  return `${root}${ns}/${info.plural}`;
}

export function objectPath(ref: ObjectRef): string {
  return `${collectionPath(ref.kind, ref.namespace)}/${segment(ref.name)}`;
}

export function agentStatusPath(node: string): string {
  return `${AGENTS_PATH}/${segment(node)}/status`;
}

export function alertAcknowledgePath(id: number): string {
  return `${ALERTS_PATH}/${id}/acknowledge`;
}
