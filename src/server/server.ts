// The API server: one fastify instance composed of the route modules, every failure a
// Kubernetes Status, secure by default (loopback unless told otherwise; elsewhere only with a
// bearer token). `startServer` is what `microseg server` and `microseg up` run.
import type { AddressInfo } from "node:net";
import fastifyCompress from "@fastify/compress";
import Fastify, { type FastifyError, type FastifyInstance, LogController } from "fastify";
import type { Datastore } from "../datastore/index.ts";
import { AgentRegistry, registerAgentRoutes } from "./agents.ts";
import { registerAnalysisRoutes, WorldCache } from "./analysis.ts";
import { registerApplyRoute } from "./apply.ts";
import { isLoopback, registerBearerAuth } from "./auth.ts";
import { registerBodyParsers } from "./bodies.ts";
import type { BodyLimits, ServerContext } from "./context.ts";
import { registerDescribeRoute } from "./describe.ts";
import { registerDiscovery } from "./discovery.ts";
import { ApiError, toApiError } from "./errors.ts";
import { registerFlowRoutes } from "./flow-routes.ts";
import { FlowService, type FlowServiceOptions } from "./flow-service.ts";
import { createMetrics } from "./metrics.ts";
import { registerResourceRoutes } from "./resources.ts";
import { registerSimulateRoute } from "./simulate.ts";
import { withStagedStatus } from "./staged-status.ts";
import { registerStoreWideRoutes } from "./store-wide.ts";
import { registerUi } from "./ui.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by a route that knows better than its URL pattern what the request is. */
    metricLabels: { verb: string; resource: string } | null;
  }
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 7080;
export const DEFAULT_LIMITS: BodyLimits = {
  objectBytes: 3 * 1024 * 1024,
  applyBytes: 64 * 1024 * 1024,
};

export interface ServerOptions {
  /** The store to serve; the caller opened it and closes it after the server. */
  readonly store: Datastore;
  /** 127.0.0.1 unless set; any other address needs `token`. */
  readonly host?: string;
  /** 7080 unless set; 0 picks a free port. */
  readonly port?: number;
  /** The bearer token every request must carry; required off loopback. */
  readonly token?: string;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly limits?: Partial<BodyLimits>;
  /** The flow store and alert sinks; an in-memory flow store when absent. */
  readonly flows?: FlowServiceOptions;
  /** JSON logs (pino) at this level; silent when absent. */
  readonly logLevel?: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
}

export interface RunningServer {
  /** `http://127.0.0.1:7080`, with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly flows: FlowService;
  /** Ends open watches and stops listening; the store stays open. */
  close(): Promise<void>;
}

export class ServerConfigError extends Error {
  readonly code = "server.config";
}

/** fastify's own refusals (body too large, no parser for the media type) as Status. */
function statusFromFastify(error: FastifyError, contentType: string | undefined): ApiError {
  if (error instanceof ApiError) return error;
  const body = (reason: string, message: string) => ({
    causes: [{ reason, message, field: "body" }],
  });
  switch (error.statusCode) {
    case 413:
      return new ApiError(
        "RequestEntityTooLarge",
        `body: larger than this server takes for this request (${error.message})`,
        body("FieldValueTooLong", error.message),
      );
    case 415:
      return new ApiError(
        "UnsupportedMediaType",
        `Content-Type "${contentType ?? ""}" is not taken here: writes are application/json, PATCH also merge-patch+json`,
        {
          causes: [
            { reason: "FieldValueNotSupported", message: error.message, field: "Content-Type" },
          ],
        },
      );
    case 400:
      return new ApiError(
        "BadRequest",
        `body: ${error.message}`,
        body("FieldValueInvalid", error.message),
      );
    default:
      return toApiError(error);
  }
}

export function buildServer(opts: ServerOptions): {
  app: FastifyInstance;
  ctx: ServerContext;
  flows: FlowService;
} {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const app = Fastify({
    logger: opts.logLevel ? { level: opts.logLevel } : false,
    // One line per request comes from the onResponse hook below, with the metric labels.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.objectBytes,
    // close() ends every connection, also a client still sending a refused body or a watcher.
    forceCloseConnections: true,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
  });
  const agents = new AgentRegistry();
  const metrics = createMetrics(opts.store, agents);
  const flows = new FlowService(opts.flows ?? {}, metrics.registry);
  const ctx: ServerContext = {
    store: opts.store,
    metrics,
    limits,
    shown: withStagedStatus(flows),
    watches: new Set(),
  };
  app.addHook("onClose", async () => flows.close());

  app.decorateRequest("metricLabels", null);
  if (opts.token !== undefined) registerBearerAuth(app, opts.token);
  app.addHook("onResponse", async (req, reply) => {
    const labels = req.metricLabels ?? {
      verb: req.method.toLowerCase(),
      resource: req.routeOptions.url ?? "unmatched",
    };
    metrics.requestDuration.observe(
      { ...labels, code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode >= 500)
      req.log.error({ url: req.url, code: reply.statusCode }, "request failed");
    else req.log.debug({ method: req.method, url: req.url, code: reply.statusCode }, "request");
  });
  app.setErrorHandler((error: FastifyError, req, reply) => {
    const api = statusFromFastify(error, req.headers["content-type"]);
    if (api.status >= 500) reply.log.error({ err: error }, api.message);
    return reply.code(api.status).type("application/json").send(api.toStatus());
  });
  app.setNotFoundHandler((req, reply) => {
    const api = new ApiError(
      "NotFound",
      `the server could not find the requested resource (${req.url})`,
    );
    return reply.code(404).type("application/json").send(api.toStatus());
  });

  // Answers are compressed for clients that accept it (browsers, kubectl, fetch): a flow or
  // snapshot list is JSON of repeated keys, and gzip or brotli makes it a tenth. Request bodies
  // are not decompressed: agents post plain JSON, and the body limits stay limits of bytes read.
  app.register(fastifyCompress, { globalDecompression: false });
  // The routes go in a plugin registered after it: a route gets the hooks there are when it is
  // declared, and the compression hook arrives only when its plugin loads.
  app.register(async (api) => {
    registerBodyParsers(api);
    registerDiscovery(api);
    api.get("/healthz", async () => "ok");
    api.get("/readyz", async (_req, reply) => {
      try {
        await opts.store.revision();
        return "ok";
      } catch (error) {
        return reply.code(503).send(`datastore unavailable: ${(error as Error).message}`);
      }
    });
    api.get("/metrics", async (_req, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    );
    registerAgentRoutes(api, agents);
    const worlds = new WorldCache(opts.store);
    registerAnalysisRoutes(api, worlds);
    registerDescribeRoute(api, ctx, worlds);
    registerStoreWideRoutes(api, ctx);
    registerApplyRoute(api, ctx);
    registerFlowRoutes(api, ctx, flows);
    registerSimulateRoute(api, ctx, flows);
    registerResourceRoutes(api, ctx);
    registerUi(api);
  });
  return { app, ctx, flows };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? DEFAULT_HOST;
  const port = opts.port ?? DEFAULT_PORT;
  if (!isLoopback(host) && opts.token === undefined) {
    throw new ServerConfigError(
      `--listen ${host}: an address other than loopback needs --token-file (every request must then carry the bearer token)`,
    );
  }
  if (opts.token !== undefined && opts.token.trim() === "") {
    throw new ServerConfigError("the bearer token is empty");
  }
  const { app, ctx, flows } = buildServer(opts);
  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `${opts.tls ? "https" : "http"}://${shown}:${address.port}`,
    host: address.address,
    port: address.port,
    app,
    flows,
    async close() {
      for (const end of [...ctx.watches]) end();
      await app.close();
    },
  };
}
