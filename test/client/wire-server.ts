// A small HTTP server speaking the API's documented wire format (Kubernetes-shaped paths,
// `*List` bodies, Status errors, newline-delimited watch events), so the client is tested over
// real sockets before and independently of src/server. Each test scripts its answers; the server
// records every request it got.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { type StatusCause, statusBody } from "../kube-status.ts";

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export type Handler = (req: Received, res: ServerResponse) => void;

export interface WireServer {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

export function status(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
  causes?: StatusCause[],
): void {
  json(res, code, statusBody(code, reason, message, causes));
}

export function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startWireServer(
  handler: Handler,
  tls?: { key: string; cert: string },
): Promise<WireServer> {
  const received: Received[] = [];
  const sockets = new Set<import("node:net").Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const r: Received = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      received.push(r);
      handler(r, res);
    });
  };
  const server = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
