// Explain and matrix over the live store: the policy world is built from one store snapshot
// with the same functions the offline CLI uses, and reused until the store's revision moves.
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  explainFlow,
  type MatrixFilter,
  MatrixFilterError,
  PortListError,
  parsePortList,
  reachabilityMatrix,
} from "../analysis/index.ts";
import type { Datastore } from "../datastore/index.ts";
import { isPortName } from "../model/names.ts";
import {
  buildWorld,
  FlowShapeError,
  NamedPortNotFoundError,
  normalizeProtocol,
  PeerNotFoundError,
  type World,
} from "../policy/index.ts";
import { badRequest } from "./errors.ts";

/** The world at the store's current revision, built once per revision. */
export class WorldCache {
  #cached: { revision: number; world: World } | undefined;
  constructor(private readonly store: Datastore) {}

  async current(): Promise<{ revision: number; world: World }> {
    const revision = await this.store.revision();
    if (this.#cached?.revision === revision) return this.#cached;
    const snap = await this.store.snapshot();
    this.#cached = { revision: snap.revision, world: buildWorld(snap.items) };
    return this.#cached;
  }
}

type Params = Record<string, unknown>;

/** GET takes query parameters, POST the same names in a JSON body. */
function paramsOf(req: FastifyRequest): Params {
  const source = req.method === "POST" ? req.body : req.query;
  return typeof source === "object" && source !== null && !Array.isArray(source)
    ? (source as Params)
    : {};
}

function text(p: Params, field: string, required: boolean): string | undefined {
  const v = p[field];
  if (v === undefined || v === "") {
    if (required) throw badRequest(field, "required");
    return undefined;
  }
  if (typeof v !== "string" && typeof v !== "number") throw badRequest(field, "must be a string");
  return String(v);
}

/** A number, or a named port (resolved on the destination by explainFlow); none for ICMP. */
function port(p: Params): number | string | undefined {
  const raw = text(p, "port", false);
  if (raw === undefined) return undefined;
  if (isPortName(raw)) return raw;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 0 || n > 65535) {
    throw badRequest("port", `"${raw}" is neither 0-65535 nor a port name`);
  }
  return n;
}

/** An ICMP type or code: digits (the range is checked with the protocol by flowIcmp). */
function byte(p: Params, field: string): number | undefined {
  const raw = text(p, field, false);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(field, `"${raw}" is not a number 0-255`);
  return Number(raw);
}

export function registerAnalysisRoutes(app: FastifyInstance, worlds: WorldCache): void {
  const explain = async (req: FastifyRequest) => {
    req.metricLabels = { verb: "explain", resource: "" };
    const p = paramsOf(req);
    const portValue = port(p);
    const icmpType = byte(p, "icmpType");
    const icmpCode = byte(p, "icmpCode");
    const query = {
      from: text(p, "from", true) as string,
      to: text(p, "to", true) as string,
      protocol: normalizeProtocol(text(p, "protocol", false) ?? "TCP"),
      ...(portValue !== undefined ? { port: portValue } : {}),
      ...(icmpType !== undefined ? { icmpType } : {}),
      ...(icmpCode !== undefined ? { icmpCode } : {}),
    };
    const { revision, world } = await worlds.current();
    try {
      return { revision, ...explainFlow(world, query) };
    } catch (error) {
      if (error instanceof PeerNotFoundError) {
        const field = error.field.replace(/^--/, "");
        throw badRequest(
          field,
          `"${error.ref}" is neither a known workload (namespace/name) nor an IP address`,
        );
      }
      if (error instanceof NamedPortNotFoundError) {
        throw badRequest("port", error.message.replace(/^--port: /, ""));
      }
      if (error instanceof FlowShapeError) {
        const field = {
          "--port": "port",
          "--icmp-type": "icmpType",
          "--icmp-code": "icmpCode",
          "--protocol": "protocol",
        };
        throw badRequest(field[error.field], error.message.replace(/^--[\w-]+: /, ""));
      }
      throw error;
    }
  };
  const matrix = async (req: FastifyRequest) => {
    req.metricLabels = { verb: "matrix", resource: "" };
    const p = paramsOf(req);
    const raw = text(p, "ports", false);
    let ports: ReturnType<typeof parsePortList> | undefined;
    try {
      ports = raw !== undefined ? parsePortList(raw) : undefined;
    } catch (error) {
      if (error instanceof PortListError)
        throw badRequest("ports", error.message.replace(/^--ports: /, ""));
      throw error;
    }
    // The CLI's `-n`, `--from`, `--to`: a namespace's workloads, rows and columns by selector.
    const filter: MatrixFilter = Object.fromEntries(
      (["namespace", "from", "to"] as const).flatMap((f) => {
        const v = text(p, f, false);
        return v === undefined ? [] : [[f, v]];
      }),
    );
    const { revision, world } = await worlds.current();
    try {
      return { revision, ...reachabilityMatrix(world.cluster, world.evaluator, ports, filter) };
    } catch (error) {
      if (error instanceof MatrixFilterError) {
        const [, field = "selector", message = error.message] =
          /^--(\w+): (.*)$/s.exec(error.message) ?? [];
        throw badRequest(field, message);
      }
      throw error;
    }
  };
  app.get("/api/v1/explain", explain);
  app.post("/api/v1/explain", explain);
  app.get("/api/v1/matrix", matrix);
  app.post("/api/v1/matrix", matrix);
}
