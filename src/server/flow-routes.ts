// Flow records and alerts over HTTP: agents POST what they captured (`/api/v1/flows`,
// `/api/v1/alerts`), readers GET them by time range and selector, or follow them live as
// server-sent events (`Accept: text/event-stream` or `?follow=1`; `Last-Event-ID` resumes), and
// acknowledge alerts. Bodies are validated whole by the wire schemas: a bad one is a 422 whose
// causes name every field path, and nothing of it is stored.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { alertMatches } from "../flows/alert-store.ts";
import { flowMatches } from "../flows/flow-store.ts";
import {
  AlertsBodySchema,
  FlowQueryError,
  FlowsBodySchema,
  type StoredAlert,
  type StoredFlowRecord,
} from "../flows/index.ts";
import { parseFlowProjection, projectFlowRecord } from "../flows/projection.ts";
import { issuesFromZod, parseDuration } from "../model/index.ts";
import { objectBody } from "./bodies.ts";
import type { ServerContext } from "./context.ts";
import { ApiError, badRequest, invalid } from "./errors.ts";
import { openEventStream, wantsEventStream } from "./event-stream.ts";
import type { FlowService } from "./flow-service.ts";

export const FLOWS_PATH = "/api/v1/flows";
export const ALERTS_PATH = "/api/v1/alerts";
/** Bytes of one POST of flow records (10,000 records with labels fit) or alerts. */
export const FLOWS_BODY_BYTES = 32 * 1024 * 1024;
export const ALERTS_BODY_BYTES = 8 * 1024 * 1024;
/** Items a resumed stream replays at most before going live. */
const RESUME_LIMIT = 10_000;

type Query = Record<string, string | undefined>;

/** A time parameter: RFC 3339, milliseconds since the epoch, or a duration back from now. */
export function parseTime(field: string, v: string | undefined, now: number): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const back = parseDuration(v);
  if (back !== undefined) return now - back;
  const t = /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) {
    throw badRequest(field, `"${v}" is neither a time (RFC 3339), milliseconds, nor a duration`);
  }
  return t;
}

function parseCount(field: string, v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) === 0)
    throw badRequest(field, `"${v}" is not a positive whole number`);
  return Number(v);
}

function lastEventId(req: FastifyRequest, q: Query): number | undefined {
  const header = req.headers["last-event-id"];
  const v = (Array.isArray(header) ? header[0] : header) ?? q.lastEventId;
  if (v === undefined || v === "") return undefined;
  if (!/^\d{1,15}$/.test(v)) throw badRequest("Last-Event-ID", `"${v}" is not an event id`);
  return Number(v);
}

/** The store's query errors name their parameter; everything else is the server's. */
function asBadQuery<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof FlowQueryError) throw badRequest(error.field, error.message);
    throw error;
  }
}

function parsedBody<T>(schema: z.ZodType<T>, body: unknown, kind: string): T {
  const o = objectBody(body);
  const parsed = schema.safeParse(o);
  if (!parsed.success) {
    const name = typeof o.node === "string" && o.node !== "" ? o.node : undefined;
    throw invalid({ kind, ...(name ? { name } : {}) }, issuesFromZod(parsed.error));
  }
  return parsed.data;
}

interface Live<T extends { id: number }> {
  readonly event: string;
  readonly backlog: () => T[];
  readonly subscribe: (fn: (item: T) => void) => () => void;
  readonly matches: (item: T) => boolean;
  /** What is sent of an item (a projection); the item itself when absent. */
  readonly shown?: (item: T) => unknown;
}

/** Backlog, then live items; subscribed first so nothing published meanwhile is missed. */
function follow<T extends { id: number }>(
  ctx: ServerContext,
  reply: FastifyReply,
  heartbeatMs: number,
  live: Live<T>,
): void {
  const backlog = live.backlog();
  const stream = openEventStream(ctx, reply, heartbeatMs);
  let last = 0;
  const send = (item: T) => {
    if (item.id <= last || !live.matches(item)) return;
    last = item.id;
    stream.send(item.id, live.event, live.shown ? live.shown(item) : item);
  };
  const pending: T[] = [];
  let replaying = true;
  const unsubscribe = live.subscribe((item) => (replaying ? pending.push(item) : send(item)));
  stream.onEnd(unsubscribe);
  for (const item of backlog) send(item);
  replaying = false;
  for (const item of pending) send(item);
}

export function registerFlowRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  flows: FlowService,
): void {
  app.post(FLOWS_PATH, { bodyLimit: FLOWS_BODY_BYTES }, async (req) => {
    const body = parsedBody(FlowsBodySchema, req.body, "FlowRecords");
    return { accepted: flows.ingestFlows(body.node, body.records, body.dropped).length };
  });
  app.post(ALERTS_PATH, { bodyLimit: ALERTS_BODY_BYTES }, async (req) => {
    const body = parsedBody(AlertsBodySchema, req.body, "Alerts");
    return { accepted: flows.ingestAlerts(body.node, body.alerts, body.dropped).length };
  });

  app.get(FLOWS_PATH, async (req, reply) => {
    const q = req.query as Query;
    const now = Date.now();
    const since = parseTime("since", q.since, now);
    const until = parseTime("until", q.until, now);
    const limit = parseCount("limit", q.limit);
    const selector = q.selector || undefined;
    const projection = asBadQuery(() => parseFlowProjection(q.fields));
    const shown = projection && ((r: StoredFlowRecord) => projectFlowRecord(r, projection));
    const range = {
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(selector !== undefined ? { selector } : {}),
    };
    if (!wantsEventStream(req.headers.accept, q.follow)) {
      const items = asBadQuery(() =>
        flows.records.query({ ...range, ...(limit ? { limit } : {}) }),
      );
      return { kind: "FlowRecordList", apiVersion: "v1", items: shown ? items.map(shown) : items };
    }
    if (until !== undefined) throw badRequest("until", "a live stream has no end; leave it out");
    const after = lastEventId(req, q);
    // Validates the selector before the stream opens, so a bad one is a 400, not a dead stream.
    const first = asBadQuery(() =>
      flows.records.query(
        after !== undefined
          ? { ...range, afterId: after, limit: RESUME_LIMIT }
          : { ...range, ...(limit ? { limit } : {}) },
      ),
    );
    follow<StoredFlowRecord>(ctx, reply, flows.heartbeatMs, {
      event: "flow",
      backlog: () => first,
      subscribe: (fn) => flows.records.live.subscribe(fn),
      matches: (r) =>
        (since === undefined || r.end > since) &&
        (selector === undefined || flowMatches(selector, r)),
      ...(shown ? { shown } : {}),
    });
  });

  app.get(ALERTS_PATH, async (req, reply) => {
    const q = req.query as Query;
    const now = Date.now();
    const since = parseTime("since", q.since, now);
    const until = parseTime("until", q.until, now);
    const limit = parseCount("limit", q.limit);
    if (q.acknowledged !== undefined && q.acknowledged !== "true" && q.acknowledged !== "false") {
      throw badRequest("acknowledged", `"${q.acknowledged}" is neither true nor false`);
    }
    const acknowledged = q.acknowledged === undefined ? undefined : q.acknowledged === "true";
    const selector = q.selector || undefined;
    const range = {
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(acknowledged !== undefined ? { acknowledged } : {}),
      ...(selector !== undefined ? { selector } : {}),
    };
    if (!wantsEventStream(req.headers.accept, q.follow)) {
      const items = asBadQuery(() => flows.alerts.query({ ...range, ...(limit ? { limit } : {}) }));
      return { kind: "AlertList", apiVersion: "v1", items };
    }
    if (until !== undefined) throw badRequest("until", "a live stream has no end; leave it out");
    const after = lastEventId(req, q);
    const first = asBadQuery(() =>
      flows.alerts.query(
        after !== undefined
          ? { ...range, afterId: after, limit: RESUME_LIMIT }
          : { ...range, ...(limit ? { limit } : {}) },
      ),
    );
    follow<StoredAlert>(ctx, reply, flows.heartbeatMs, {
      event: "alert",
      backlog: () => first,
      subscribe: (fn) => flows.alerts.live.subscribe(fn),
      matches: (a) =>
        (since === undefined || Date.parse(a.time) >= since) &&
        (selector === undefined || alertMatches(selector, a)),
    });
  });

  app.post<{ Params: { id: string } }>(`${ALERTS_PATH}/:id/acknowledge`, async (req) => {
    const { id } = req.params;
    if (!/^\d{1,15}$/.test(id)) throw badRequest("id", `"${id}" is not an alert id`);
    const acknowledged = flows.alerts.acknowledge(Number(id));
    if (!acknowledged) throw new ApiError("NotFound", `alert ${id} not found`);
    return acknowledged;
  });
}
