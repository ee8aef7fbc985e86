// A live stream of flow records or alerts: server-sent events (`text/event-stream`) read as
// they come. Each event's id is the item's store id; when the connection drops, the stream
// reconnects with `Last-Event-ID` (backoff 100 ms to 5 s), so the server replays what came in
// meanwhile and nothing is delivered twice. A refusal (4xx) ends it through onError.
import type { DatastoreError } from "../datastore/index.ts";
import { invalidAnswer } from "./decode.ts";
import { followLines } from "./stream-lines.ts";
import type { Transport } from "./transport.ts";

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
  let event = "message";
  let data: string[] = [];

  const deliver = (text: string) => {
    let item: T;
    try {
      item = call.decode(JSON.parse(text)) as T;
    } catch (error) {
      stream.fail(
        error instanceof Error && "code" in error
          ? (error as DatastoreError)
          : invalidAnswer(`a ${call.event} event that is not one`, text.slice(0, 100)),
      );
      return;
    }
    if (last !== undefined && item.id <= last) return;
    last = item.id;
    listener.onItem(item);
  };
  const onLine = (line: string) => {
    if (line === "") {
      if (event === call.event && data.length > 0) deliver(data.join("\n"));
      event = "message";
      data = [];
    } else if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  };
  // Each reconnection says the last item delivered, and the server replays what came after.
  const stream = followLines({
    open: () => {
      event = "message";
      data = [];
      return transport.stream({
        method: "GET",
        path: call.path,
        query: call.query,
        headers: {
          accept: "text/event-stream",
          ...(last !== undefined ? { "last-event-id": String(last) } : {}),
        },
      });
    },
    onLine,
    onConnected: () => {
      stream.resetBackoff();
      listener.onConnected?.();
    },
    onError: (error) => listener.onError(error),
  });
  return { stop: () => stream.stop() };
}
