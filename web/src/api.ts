// The UI's one door to the server: the same public API paths the CLI and kubectl use, over
// fetch. A bearer token, when the server wants one, is asked once and kept for the tab.
import type {
  Description,
  Explanation,
  Matrix,
  MatrixFilter,
  Simulation,
} from "../../src/analysis/index.ts";
import type { FlowField } from "../../src/flows/flow-log.ts";
import type { FlowProjection, ProjectedFlowRecord } from "../../src/flows/projection.ts";
import type { StoredAlert, StoredFlowRecord } from "../../src/flows/wire.ts";

import type { ApiObject } from "./objects.ts";
import { projectionParam } from "./projection.ts";

export type {
  ApiObject,
  Description,
  Explanation,
  FlowProjection,
  Matrix,
  StoredAlert,
  StoredFlowRecord,
};

export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** A refusal from the server: its Kubernetes Status, causes with field paths. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly causes: readonly StatusCause[] = [],
  ) {
    super(message);
  }
}

const TOKEN_KEY = "microseg.token";

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** Dispatched on window when the server refuses for want of a (valid) token. */
export const UNAUTHORIZED_EVENT = "microseg-unauthorized";

async function failure(res: Response): Promise<ApiFailure> {
  if (res.status === 401) dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  const text = await res.text();
  try {
    const status = JSON.parse(text) as { message?: string; details?: { causes?: StatusCause[] } };
    return new ApiFailure(res.status, status.message ?? text, status.details?.causes ?? []);
  } catch {
    return new ApiFailure(res.status, text || res.statusText);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export const getJson = <T>(path: string) => call<T>("GET", path);
export const postJson = <T>(path: string, body: unknown) => call<T>("POST", path, body);

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export async function snapshot(): Promise<{ revision: number; items: ApiObject[] }> {
  const list = await getJson<{ metadata: { resourceVersion: string }; items: ApiObject[] }>(
    "/apis/microseg.io/v1/snapshot",
  );
  return { revision: Number(list.metadata.resourceVersion), items: list.items };
}

export interface TimeRange {
  readonly since?: string;
  readonly limit?: number;
}

export async function flows(range: TimeRange & { selector?: string }): Promise<StoredFlowRecord[]> {
  return (await getJson<{ items: StoredFlowRecord[] }>(`/api/v1/flows${query({ ...range })}`))
    .items;
}

/** The records of a range with only the projection's members: a fraction of the bytes. */
export async function projectedFlows<K extends keyof StoredFlowRecord, F extends FlowField>(
  range: TimeRange & { selector?: string },
  projection: FlowProjection<K, F>,
): Promise<ProjectedFlowRecord<K, F>[]> {
  const q = query({ ...range, fields: projectionParam(projection) });
  return (await getJson<{ items: ProjectedFlowRecord<K, F>[] }>(`/api/v1/flows${q}`)).items;
}

export async function alerts(range: TimeRange): Promise<StoredAlert[]> {
  return (await getJson<{ items: StoredAlert[] }>(`/api/v1/alerts${query({ ...range })}`)).items;
}

export const acknowledge = (id: number) =>
  postJson<StoredAlert>(`/api/v1/alerts/${id}/acknowledge`, {});

export const explain = (q: { from: string; to: string; port: number; protocol: string }) =>
  postJson<Explanation & { revision: number }>("/api/v1/explain", q);

/** The matrix of the live store, narrowed as `microseg matrix -n --from --to` narrows it. */
export const matrix = (filter: MatrixFilter = {}) =>
  getJson<Matrix & { revision: number }>(`/api/v1/matrix${query({ ...filter })}`);

export const describe = (o: {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}) => postJson<Description>("/api/v1/describe", o);

/** Prometheus text of /metrics (the policy board's hit counts). */
export async function metricsText(): Promise<string> {
  const res = await fetch("/metrics", { headers: headers() });
  if (!res.ok) throw await failure(res);
  return res.text();
}

const plurals = new Map<string, Promise<Map<string, { name: string; namespaced: boolean }>>>();

/** A kind's resource name from discovery, as kubectl finds it. */
async function resourceOf(apiVersion: string, kind: string) {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  let found = plurals.get(base);
  if (!found) {
    found = getJson<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
      base,
    ).then((l) => new Map(l.resources.map((r) => [r.kind, r])));
    plurals.set(base, found);
  }
  const r = (await found).get(kind);
  if (!r) throw new ApiFailure(404, `the server does not serve ${kind} in ${apiVersion}`);
  return { base, ...r };
}

/** The object's own path: `/apis/{gv}[/namespaces/{ns}]/{plural}/{name}`. */
export async function objectPath(o: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}): Promise<string> {
  const r = await resourceOf(o.apiVersion, o.kind);
  const ns =
    r.namespaced && o.metadata.namespace
      ? `/namespaces/${encodeURIComponent(o.metadata.namespace)}`
      : "";
  return `${r.base}${ns}/${r.name}/${encodeURIComponent(o.metadata.name)}`;
}

/** Replaces the object (PUT; the resourceVersion it carries guards against lost updates). */
export async function replace(o: ApiObject): Promise<ApiObject> {
  return call<ApiObject>("PUT", await objectPath(o), o);
}

/** What a change would do (`POST /api/v1/simulate`): the changed objects judged on the store. */
export interface LiveSimulation extends Simulation {
  readonly revision: number;
  readonly since: string;
  /** Flow records of the window judged. */
  readonly records: number;
}

/** `POST /api/v1/simulate`: the changed objects (as apply takes them) on top of the store. */
export const simulate = (objects: readonly unknown[]) =>
  postJson<LiveSimulation>("/api/v1/simulate", objects);

/**
 * Follows a server-sent event stream (`/api/v1/flows|alerts`) with fetch, so the bearer token
 * travels as a header; reconnects from the last id after 100 ms doubling to 5 s, as the CLI's
 * followers do. Returns the stop function.
 */
export function follow<T>(
  path: string,
  onItem: (item: T) => void,
  onState: (live: boolean) => void = () => {},
  /** The last id already read (with a GET first): the stream starts after it. */
  after?: number,
): () => void {
  const abort = new AbortController();
  let lastId = after === undefined ? undefined : String(after);
  let backoff = 100;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch(path, {
          headers: headers({
            accept: "text/event-stream",
            ...(lastId ? { "last-event-id": lastId } : {}),
          }),
          signal: abort.signal,
        });
        if (!res.ok || !res.body) throw await failure(res);
        onState(true);
        backoff = 100;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end = buffer.indexOf("\n\n");
          while (end >= 0) {
            const event = parseEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (event.id) lastId = event.id;
            if (event.data) onItem(JSON.parse(event.data) as T);
            end = buffer.indexOf("\n\n");
          }
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      onState(false);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
  };
  void run();
  return () => abort.abort();
}

function parseEvent(block: string): { id?: string; data?: string } {
  const out: { id?: string; data?: string } = {};
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("id:")) out.id = line.slice(3).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (data.length > 0) out.data = data.join("\n");
  return out;
}
