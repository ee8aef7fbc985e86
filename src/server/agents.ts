// Agent status reports: `PUT /api/v1/agents/{node}/status` with the agent's AgentStatus, listed
// by `GET /api/v1/agents`. Kept in memory: agents report after every apply and on a period, so
// a restarted server learns them again within one report.
import type { FastifyInstance } from "fastify";
import { type AgentStatus, AgentStatusSchema } from "../agent/index.ts";
import { issuesFromZod } from "../model/index.ts";
import { ApiError, invalid } from "./errors.ts";

export interface AgentReport {
  readonly status: AgentStatus;
  /** When the server received it (ms since the epoch). */
  readonly receivedAt: number;
}

export class AgentRegistry {
  readonly #byNode = new Map<string, AgentReport>();

  report(status: AgentStatus, now = Date.now()): AgentReport {
    const report = { status, receivedAt: now };
    this.#byNode.set(status.node, report);
    return report;
  }

  list(): AgentReport[] {
    return [...this.#byNode.values()].sort((a, b) => (a.status.node < b.status.node ? -1 : 1));
  }
}

function wire(report: AgentReport) {
  return { ...report.status, reportedAt: new Date(report.receivedAt).toISOString() };
}

export function registerAgentRoutes(app: FastifyInstance, agents: AgentRegistry): void {
  app.put<{ Params: { node: string } }>("/api/v1/agents/:node/status", async (req) => {
    const parsed = AgentStatusSchema.safeParse(req.body);
    if (!parsed.success) {
      throw invalid({ kind: "AgentStatus", name: req.params.node }, issuesFromZod(parsed.error));
    }
    if (parsed.data.node !== req.params.node) {
      throw new ApiError(
        "BadRequest",
        `node: "${parsed.data.node}" does not match the path's node "${req.params.node}"`,
        {
          causes: [
            { reason: "FieldValueInvalid", message: "does not match the path", field: "node" },
          ],
        },
      );
    }
    return wire(agents.report(parsed.data as AgentStatus));
  });
  app.get("/api/v1/agents", async () => ({
    kind: "AgentStatusList",
    apiVersion: "v1",
    items: agents.list().map(wire),
  }));
}
