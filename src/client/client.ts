// The typed client of microseg's API: the datastore's verbs over HTTP (same references, list
// options, results and watch contract), plus the whole-set apply, the analyses over the live
// store and agent status. The CLI and the agent's watch of the API are built on it.

import type { ZodType } from "zod";
import type { AgentStatus } from "../agent/index.ts";
import type {
  Description,
  ExplainQuery,
  Explanation,
  LiveSimulation,
  Matrix,
  MatrixFilter,
  PortProtocol,
} from "../analysis/index.ts";
import type {
  KindRef,
  ListOptions,
  ListResult,
  ObjectRef,
  Preconditions,
  StoredResource,
  Watch,
  WatchListener,
} from "../datastore/index.ts";
import type { Alert, FlowRecord } from "../flows/index.ts";
import {
  type IngestResult,
  type StoredAlert,
  StoredAlertSchema,
  type StoredFlowRecord,
  StoredFlowRecordSchema,
} from "../flows/wire.ts";
import type { Resource } from "../model/index.ts";
import {
  decodeList,
  decodeResource,
  decodeWith,
  invalidAnswer,
  isRecord,
  revisionOf,
} from "./decode.ts";
import { type EventFollow, type EventListener, followEvents } from "./events.ts";
import {
  AGENTS_PATH,
  ALERTS_PATH,
  APPLY_PATH,
  agentStatusPath,
  alertAcknowledgePath,
  collectionPath,
  DESCRIBE_PATH,
  EXPLAIN_PATH,
  FLOWS_PATH,
  MATRIX_PATH,
  objectPath,
  SIMULATE_PATH,
  SNAPSHOT_PATH,
} from "./paths.ts";
import { type ClientOptions, Transport } from "./transport.ts";
import { type ApiWatchOptions, startWatch } from "./watch.ts";

/**
 * Analysis answers are the server's own types (src/analysis, src/agent); the check makes a
 * wrong endpoint or an old server fail here with a clear message rather than deep in a printer.
 */
function shaped<T>(value: unknown, fields: readonly string[], what: string): T {
  const missing = isRecord(value) ? fields.filter((f) => !(f in value)) : fields;
  if (missing.length) throw invalidAnswer(`a ${what} answer`, `${missing.join(", ")} missing`);
  return value as T;
}

/** What the whole-set apply did to one object, as the server reports it. */
export interface AppliedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly resourceVersion?: string;
  readonly action: "created" | "configured" | "unchanged";
}

export interface ApplySetResult {
  /** The store's revision after the set. */
  readonly revision: number;
  /** In input order. */
  readonly results: readonly AppliedObject[];
}

/** `GET /api/v1/flows`: times are RFC 3339, ms since the epoch, or a duration back (`10m`). */
export interface FlowsQuery {
  readonly since?: string;
  readonly until?: string;
  /** A selector over flow fields: `action == "deny" && dest_labels.role == "ldap-server"`. */
  readonly selector?: string;
  readonly limit?: number;
}

export interface AlertsQuery {
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
  readonly acknowledged?: boolean;
  /** A selector over the alert's fields: `alert == "blue-ldap-violation" && source_namespace == "blue"`. */
  readonly selector?: string;
}

function itemsOf<T>(body: unknown, schema: ZodType<T>, what: string): T[] {
  if (!isRecord(body) || !Array.isArray(body.items))
    throw invalidAnswer(`a ${what} list without items`, typeof body);
  return body.items.map((item, i) => decodeWith(schema, item, `${what} items[${i}]`));
}

const flowsQuery = (q: FlowsQuery) => ({
  since: q.since,
  until: q.until,
  selector: q.selector,
  limit: q.limit === undefined ? undefined : String(q.limit),
});
const alertsQuery = (q: AlertsQuery) => ({
  since: q.since,
  until: q.until,
  limit: q.limit === undefined ? undefined : String(q.limit),
  acknowledged: q.acknowledged === undefined ? undefined : String(q.acknowledged),
  selector: q.selector,
});

const ACTIONS = new Set(["created", "configured", "unchanged"]);

function refOf(resource: Resource): ObjectRef {
  return {
    kind: { apiVersion: resource.apiVersion, kind: resource.kind },
    namespace: resource.metadata.namespace,
    name: resource.metadata.name,
  };
}

function kindRefOf(resource: Resource): KindRef {
  return { apiVersion: resource.apiVersion, kind: resource.kind };
}

export class ApiClient {
  readonly #http: Transport;

  constructor(options: ClientOptions) {
    this.#http = new Transport(options);
  }

  /** `host:port`, as messages name the server. */
  get server(): string {
    return this.#http.server;
  }

  async get(ref: ObjectRef): Promise<StoredResource> {
    return decodeResource(
      await this.#http.json({ method: "GET", path: objectPath(ref) }),
      ref.kind,
    );
  }

  /** Without a namespace, a namespaced kind is listed across all namespaces (`-A`). */
  async list(opts: ListOptions): Promise<ListResult> {
    const body = await this.#http.json({
      method: "GET",
      path: collectionPath(opts.kind, opts.namespace),
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
    });
    return decodeList(body, opts.kind);
  }

  async create(resource: Resource): Promise<StoredResource> {
    const body = await this.#http.json({
      method: "POST",
      path: collectionPath(kindRefOf(resource), resource.metadata.namespace),
      body: resource,
    });
    return decodeResource(body, kindRefOf(resource));
  }

  /** PUT: metadata.resourceVersion, when set, must still be the stored one (409 otherwise). */
  async replace(resource: Resource): Promise<StoredResource> {
    const body = await this.#http.json({
      method: "PUT",
      path: objectPath(refOf(resource)),
      body: resource,
    });
    return decodeResource(body, kindRefOf(resource));
  }

  /** JSON merge patch (RFC 7386): null removes a key, objects merge, anything else replaces. */
  async patch(ref: ObjectRef, patch: Record<string, unknown>): Promise<StoredResource> {
    const body = await this.#http.json({
      method: "PATCH",
      path: objectPath(ref),
      body: patch,
      contentType: "application/merge-patch+json",
    });
    return decodeResource(body, ref.kind);
  }

  /** The object as it was when deleted. */
  async delete(ref: ObjectRef, preconditions?: Preconditions): Promise<StoredResource> {
    const body = await this.#http.json({
      method: "DELETE",
      path: objectPath(ref),
      ...(preconditions?.resourceVersion
        ? {
            body: {
              apiVersion: "v1",
              kind: "DeleteOptions",
              preconditions: { resourceVersion: preconditions.resourceVersion },
            },
          }
        : {}),
    });
    return decodeResource(body, ref.kind);
  }

  /** Creates or replaces every object as one store transaction: all of them or none. */
  async applySet(resources: readonly Resource[]): Promise<ApplySetResult> {
    const body = await this.#http.json({
      method: "POST",
      path: APPLY_PATH,
      body: { apiVersion: "v1", kind: "List", items: resources },
    });
    if (!isRecord(body) || !Array.isArray(body.results) || typeof body.revision !== "number") {
      throw invalidAnswer("an apply answer without revision and results", typeof body);
    }
    const results = body.results.map((r, i) => {
      const ok =
        isRecord(r) &&
        typeof r.apiVersion === "string" &&
        typeof r.kind === "string" &&
        typeof r.name === "string" &&
        typeof r.action === "string" &&
        ACTIONS.has(r.action);
      if (!ok)
        throw invalidAnswer("an apply result without kind, name and action", `results[${i}]`);
      return r as unknown as AppliedObject;
    });
    return { revision: body.revision, results };
  }

  /**
   * Every object of every kind at one revision: where an agent's watch starts. With `peersOf`,
   * other nodes' pods come as that node's peer views.
   */
  async snapshot(opts: { readonly peersOf?: string } = {}): Promise<ListResult> {
    return decodeList(
      await this.#http.json({
        method: "GET",
        path: SNAPSHOT_PATH,
        query: { peersOf: opts.peersOf },
      }),
    );
  }

  /** What `node`'s agent follows: the snapshot and all-kinds watch with peer views. */
  forNode(node: string): Pick<ApiClient, "snapshot" | "watch"> {
    return {
      snapshot: () => this.snapshot({ peersOf: node }),
      watch: (opts, listener) => this.watch({ ...opts, peersOf: node }, listener),
    };
  }

  /** The store's current revision, read from an empty-enough list. */
  async revision(): Promise<number> {
    const body = await this.#http.json({
      method: "GET",
      path: collectionPath({ apiVersion: "v1", kind: "Namespace" }),
      query: { limit: "1" },
    });
    return revisionOf(body, "a list");
  }

  /** Reconnects from the last delivered revision by itself; ends with onError only. */
  watch(opts: ApiWatchOptions, listener: WatchListener): Watch {
    return startWatch(this.#http, opts, listener);
  }

  /** Why a flow is allowed or denied, judged over the live store (src/analysis's explain). */
  async explain(query: ExplainQuery): Promise<Explanation> {
    const body = await this.#http.json({ method: "POST", path: EXPLAIN_PATH, body: query });
    return shaped<Explanation>(body, ["from", "to", "allowed", "egress", "ingress"], "explain");
  }

  /**
   * The reachability matrix of the live store; every declared port when `ports` is absent,
   * narrowed on the server by `filter` (a namespace, source and destination selectors).
   */
  async matrix(ports?: readonly PortProtocol[], filter: MatrixFilter = {}): Promise<Matrix> {
    const body = await this.#http.json({
      method: "POST",
      path: MATRIX_PATH,
      body: {
        ...(ports ? { ports: ports.map((p) => `${p.port}/${p.protocol}`).join(",") } : {}),
        ...filter,
      },
    });
    return shaped<Matrix>(body, ["workloads", "ports", "results"], "matrix");
  }

  /**
   * What a change would do on the live store (`microseg simulate`, the UI's preview): flows of
   * the window `since` (24h by default) and matrix cells whose verdict changes. Nothing is written.
   */
  async simulate(
    change: readonly Resource[],
    opts: { readonly since?: string } = {},
  ): Promise<LiveSimulation> {
    const body = await this.#http.json({
      method: "POST",
      path: SIMULATE_PATH,
      query: { since: opts.since },
      body: { apiVersion: "v1", kind: "List", items: change },
    });
    return shaped<LiveSimulation>(
      body,
      ["revision", "since", "records", "flows", "cells"],
      "simulate",
    );
  }

  /** `describe` of one object over the live store (src/analysis/describe.ts on the server). */
  async describe(ref: ObjectRef): Promise<Description> {
    const body = await this.#http.json({
      method: "GET",
      path: DESCRIBE_PATH,
      query: {
        apiVersion: ref.kind.apiVersion,
        kind: ref.kind.kind,
        namespace: ref.namespace,
        name: ref.name,
      },
    });
    return shaped<Description>(body, ["type", "object"], "describe");
  }

  async putAgentStatus(status: AgentStatus): Promise<void> {
    await this.#http.json({ method: "PUT", path: agentStatusPath(status.node), body: status });
  }

  async listAgents(): Promise<AgentStatus[]> {
    const body = await this.#http.json({ method: "GET", path: AGENTS_PATH });
    const list = shaped<{ items: AgentStatus[] }>(body, ["items"], "agents");
    return list.items.map((item) => shaped<AgentStatus>(item, ["node", "revision"], "agents"));
  }

  /** Ships closed (or early-flushed) flow records of one node; the server stores them. */
  async postFlows(
    node: string,
    records: readonly FlowRecord[],
    dropped?: number,
  ): Promise<IngestResult> {
    const body = await this.#http.json({
      method: "POST",
      path: FLOWS_PATH,
      body: { node, records, ...(dropped ? { dropped } : {}) },
    });
    return shaped<IngestResult>(body, ["accepted"], "flows ingest");
  }

  /** Ships alerts one node raised; the server stores them and hands them to its sinks. */
  async postAlerts(
    node: string,
    alerts: readonly Alert[],
    dropped?: number,
  ): Promise<IngestResult> {
    const body = await this.#http.json({
      method: "POST",
      path: ALERTS_PATH,
      body: { node, alerts, ...(dropped ? { dropped } : {}) },
    });
    return shaped<IngestResult>(body, ["accepted"], "alerts ingest");
  }

  async flows(query: FlowsQuery = {}): Promise<StoredFlowRecord[]> {
    const body = await this.#http.json({
      method: "GET",
      path: FLOWS_PATH,
      query: flowsQuery(query),
    });
    return itemsOf(body, StoredFlowRecordSchema, "flow record");
  }

  /**
   * Stored records from `query` (or only those after `afterId`), then every new one as agents
   * ship it; resumes by itself.
   */
  followFlows(
    query: FlowsQuery,
    listener: EventListener<StoredFlowRecord>,
    afterId?: number,
  ): EventFollow {
    return followEvents(
      this.#http,
      {
        path: FLOWS_PATH,
        ...(afterId !== undefined ? { afterId } : {}),
        query: { ...flowsQuery(query), until: undefined },
        event: "flow",
        decode: (v) => decodeWith(StoredFlowRecordSchema, v, "flow record"),
      },
      listener,
    );
  }

  async alerts(query: AlertsQuery = {}): Promise<StoredAlert[]> {
    const body = await this.#http.json({
      method: "GET",
      path: ALERTS_PATH,
      query: alertsQuery(query),
    });
    return itemsOf(body, StoredAlertSchema, "alert");
  }

  /** Stored alerts from `query` (or after `afterId`), then every new one. */
  followAlerts(
    query: AlertsQuery,
    listener: EventListener<StoredAlert>,
    afterId?: number,
  ): EventFollow {
    return followEvents(
      this.#http,
      {
        path: ALERTS_PATH,
        ...(afterId !== undefined ? { afterId } : {}),
        query: { ...alertsQuery(query), until: undefined },
        event: "alert",
        decode: (v) => decodeWith(StoredAlertSchema, v, "alert"),
      },
      listener,
    );
  }

  async acknowledgeAlert(id: number): Promise<StoredAlert> {
    const body = await this.#http.json({ method: "POST", path: alertAcknowledgePath(id) });
    return decodeWith(StoredAlertSchema, body, "alert");
  }
}
