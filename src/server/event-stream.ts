// Server-sent events (text/event-stream) for the live flow and alert streams: `id:` is the
// item's store id, so a client reconnecting with Last-Event-ID resumes after what it saw;
// a comment line every `heartbeatMs` keeps proxies and idle timeouts from closing the stream
// and lets the client notice a dead server. A reader too slow for the stream is cut off past a
// backlog (it resumes from its last id). Streams end when the server closes.
import type { FastifyReply } from "fastify";
import type { ServerContext } from "./context.ts";

const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
/** Tells EventSource clients how long to wait before reconnecting. */
const RETRY_MS = 1000;

export interface EventStream {
  send(id: number, event: string, data: unknown): void;
  /** Called once when the stream ends, whoever ended it. */
  onEnd(fn: () => void): void;
  end(): void;
  readonly closed: boolean;
}

/** Whether the request asks for a live stream: `Accept: text/event-stream` or `follow=1`. */
export function wantsEventStream(accept: string | undefined, follow: string | undefined): boolean {
  return (
    follow === "1" ||
    follow === "true" ||
    (accept ?? "").toLowerCase().includes("text/event-stream")
  );
}

export function openEventStream(
  ctx: ServerContext,
  reply: FastifyReply,
  heartbeatMs: number,
): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, private",
    "x-accel-buffering": "no",
  });
  res.write(`retry: ${RETRY_MS}\n\n`);
  let closed = false;
  const endHooks: Array<() => void> = [];
  const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), heartbeatMs);
  const end = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    ctx.metrics.watchers.dec();
    ctx.watches.delete(end);
    for (const fn of endHooks) fn();
    res.end();
  };
  ctx.metrics.watchers.inc();
  ctx.watches.add(end);
  res.on("close", end);
  return {
    send(id, event, data) {
      if (closed) return;
      ctx.metrics.watchEvents.inc({ type: event });
      res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (res.writableLength > MAX_BACKLOG_BYTES) end();
    },
    onEnd(fn) {
      if (closed) fn();
      else endHooks.push(fn);
    },
    end,
    get closed() {
      return closed;
    },
  };
}
