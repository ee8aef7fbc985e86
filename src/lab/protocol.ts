// The JSON lines spoken between the lab and the prober in each pod netns (prober.ts), and between
// the prober and its SCTP peer (sctp-peer.py).

import type { Protocol } from "./topology.ts";

export interface ProbeRequest {
  id: number;
  protocol: Protocol;
  host: string;
  port: number;
  timeoutMs: number;
}

/** `connected` is the only success: a TCP handshake, a UDP echo, or an SCTP INIT-ACK. */
export type ProbeOutcome = "connected" | "refused" | "timeout" | "error";

export interface ProbeReply {
  id: number;
  outcome: ProbeOutcome;
  /** Milliseconds from sending to the outcome. */
  ms: number;
  message?: string;
}

export interface ProberConfig {
  /** Servers to run; SCTP ones are answered by the SCTP peer. */
  ports: { port: number; protocol: Protocol }[];
  /** Interpreter for sctp-peer.py. */
  python: string;
}

/** The first line a prober or SCTP peer writes once every server listens. */
export interface ReadyLine {
  ready: true;
}
