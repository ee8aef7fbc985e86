// A long-lived response (a watch, an event stream) read line by line and reopened when it
// ends, whether by close or, when the server goes away mid-response, by an abort error: after
// 100 ms doubling to 5 s while the server is unavailable; any other refusal ends it through
// onError. The caller says what to ask on each (re)connection and when progress resets backoff.
import type { IncomingMessage } from "node:http";
import { createInterface } from "node:readline";
import type { DatastoreError } from "../datastore/index.ts";
import { Backoff } from "../util/backoff.ts";

export interface LineStreamOptions {
  /** Opens the response anew; called on every connection, so it can carry a resume point. */
  readonly open: () => Promise<IncomingMessage>;
  readonly onLine: (line: string) => void;
  readonly onConnected?: () => void;
  readonly onError: (error: DatastoreError) => void;
}

export interface LineStream {
  /** Ends the stream with this error (reported once); nothing more is read. */
  fail(error: DatastoreError): void;
  /** Progress was made: the next reconnection waits the shortest time again. */
  resetBackoff(): void;
  stop(): void;
  readonly stopped: boolean;
}

export function followLines(opts: LineStreamOptions): LineStream {
  let stopped = false;
  const backoff = new Backoff({ first: 100, max: 5_000 });
  let current: IncomingMessage | undefined;
  let timer: NodeJS.Timeout | undefined;

  const retryLater = () => {
    if (stopped) return;
    timer = setTimeout(connect, backoff.next());
  };

  function connect(): void {
    if (stopped) return;
    opts
      .open()
      .then((res) => {
        if (stopped) return void res.destroy();
        current = res;
        opts.onConnected?.();
        // A peer that vanished without a FIN is noticed by keepalive probes, not by waiting.
        res.socket?.setKeepAlive(true, 10_000);
        const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
        lines.on("line", (line) => {
          if (!stopped) opts.onLine(line);
        });
        let ended = false;
        const reconnect = () => {
          if (ended) return;
          ended = true;
          current = undefined;
          retryLater();
        };
        lines.on("close", reconnect);
        lines.on("error", () => {
          res.destroy();
          reconnect();
        });
        res.on("error", () => res.destroy());
      })
      .catch((error: DatastoreError) => {
        if (error.code === "Unavailable") retryLater();
        else stream.fail(error);
      });
  }

  const stream: LineStream = {
    fail(error) {
      if (stopped) return;
      stopped = true;
      current?.destroy();
      opts.onError(error);
    },
    resetBackoff() {
      backoff.reset();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.destroy();
    },
    get stopped() {
      return stopped;
    },
  };
  connect();
  return stream;
}
