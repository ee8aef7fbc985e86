// The lines of a long-lived response (a watch, an event stream), and one call when it ends,
// whether by close or, when the server goes away mid-response, by an abort error.
import type { IncomingMessage } from "node:http";
import { createInterface } from "node:readline";

export function readLines(
  res: IncomingMessage,
  onLine: (line: string) => void,
  onEnd: () => void,
): void {
  // A peer that vanished without a FIN is noticed by keepalive probes, not by waiting.
  res.socket?.setKeepAlive(true, 10_000);
  const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", onLine);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  lines.on("close", end);
  lines.on("error", () => {
    res.destroy();
    end();
  });
  res.on("error", () => res.destroy());
}
