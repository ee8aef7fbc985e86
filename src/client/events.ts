// A live stream of flow records or alerts: server-sent events (`text/event-stream`) read as
// they come. Each event's id is the item's store id; when the connection drops, the stream
// reconnects with `Last-Event-ID` (backoff 100 ms to 5 s), so the server replays what came in
// meanwhile and nothing is delivered twice. A refusal (4xx) ends it through onError.
import type { IncomingMessage } from "node:http";
import type { DatastoreError } from "../datastore/index.ts";
import { invalidAnswer } from "./decode.ts";
import { readLines } from "./stream-lines.ts";
import type { Transport } from "./transport.ts";

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

export interface EventListener<T> {
  onItem(item: T): void;
  onError(error: DatastoreError): void;
  /** Each (re)connection the server accepted; for tests and status lines. */
  onConnected?(): void;
}

export interface EventFollow {
  stop(): void;
}

export interface FollowCall {
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The event name carrying items (`flow`, `alert`); other events are ignored. */
  readonly event: string;
  readonly decode: (data: unknown) => unknown;
  /** Start after this item (one the caller already has), as a reconnect would. */
  readonly afterId?: number;
}

export function followEvents<T extends { id: number }>(
  transport: Transport,
  call: FollowCall,
  listener: EventListener<T>,
): EventFollow {
  let last: number | undefined = call.afterId;
  let stopped = false;
  let backoff = FIRST_BACKOFF_MS;
  let current: IncomingMessage | undefined;
  let timer: NodeJS.Timeout | undefined;

  const fail = (error: DatastoreError) => {
    if (stopped) return;
    stopped = true;
    current?.destroy();
    listener.onError(error);
  };
  const retryLater = () => {
    if (stopped) return;
    timer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  function connect(): void {
    if (stopped) return;
    transport
      .stream({
        method: "GET",
        path: call.path,
        query: call.query,
        headers: {
          accept: "text/event-stream",
          ...(last !== undefined ? { "last-event-id": String(last) } : {}),
        },
      })
      .then((res) => {
        if (stopped) return void res.destroy();
        current = res;
        backoff = FIRST_BACKOFF_MS;
        listener.onConnected?.();
        let event = "message";
        let data: string[] = [];
        const onLine = (line: string) => {
          if (stopped) return;
          if (line === "") {
            if (event === call.event && data.length > 0) deliver(data.join("\n"));
            event = "message";
            data = [];
          } else if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        };
        readLines(res, onLine, () => {
          current = undefined;
          retryLater();
        });
      })
      .catch((error: DatastoreError) => {
        if (error.code === "Unavailable") retryLater();
        else fail(error);
      });
  }

  function deliver(text: string): void {
    let item: T;
    try {
      item = call.decode(JSON.parse(text)) as T;
    } catch (error) {
      fail(
        error instanceof Error && "code" in error
          ? (error as DatastoreError)
          : invalidAnswer(`a ${call.event} event that is not one`, text.slice(0, 100)),
      );
      return;
    }
    if (last !== undefined && item.id <= last) return;
    last = item.id;
    listener.onItem(item);
  }

  connect();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.destroy();
    },
  };
}
