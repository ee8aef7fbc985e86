// `POST /api/v1/simulate`: what a change would do, before it is saved (the web UI's preview).
// The body is a manifest set as apply takes it (a List, or an array); the change is judged on
// top of the store's current objects against the recorded flows of a window (`since`, 24h by
// default) by the same function as `microseg simulate`. Nothing is written. A bad object is a
// 422 Status whose causes name `items[i].field`; a bad window is a 400 naming `since`.
import type { FastifyInstance } from "fastify";
import { type LiveSimulation, simulate, validateChange } from "../analysis/index.ts";
import { MICROSEG_V1, parseDuration, type Resource } from "../model/index.ts";
import { itemsOf } from "./apply.ts";
import type { ServerContext } from "./context.ts";
import { badRequest, invalid } from "./errors.ts";
import type { FlowService } from "./flow-service.ts";

export const SIMULATE_PATH = "/api/v1/simulate";
/** Every record of the window: a verdict change missed for a page limit would be a lie. */
const MAX_RECORDS = 1_000_000;

function windowMs(since: unknown): number {
  if (since === undefined || since === "") return parseDuration("24h")!;
  const ms = typeof since === "string" ? parseDuration(since) : undefined;
  if (ms === undefined || ms <= 0)
    throw badRequest("since", `"${String(since)}" is not a duration such as 30m or 24h`);
  return ms;
}

export function registerSimulateRoute(
  app: FastifyInstance,
  ctx: ServerContext,
  flows: FlowService,
): void {
  app.post(
    SIMULATE_PATH,
    { bodyLimit: ctx.limits.applyBytes },
    async (req): Promise<LiveSimulation> => {
      req.metricLabels = { verb: "simulate", resource: "" };
      const window = windowMs((req.query as Record<string, unknown>).since);
      const items = itemsOf(req.body);
      const snap = await ctx.store.snapshot();
      const current: readonly Resource[] = snap.items;
      const checked = validateChange(current, items);
      if (!checked.ok) throw invalid({ kind: "List" }, checked.issues);
      const since = Date.now() - window;
      const records = flows.records.query({ since, limit: MAX_RECORDS });
      return {
        apiVersion: MICROSEG_V1,
        kind: "Simulation" as const,
        revision: snap.revision,
        since: new Date(since).toISOString(),
        records: records.length,
        ...simulate(current, checked.change, records),
      };
    },
  );
}
