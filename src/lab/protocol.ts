// The JSON lines spoken on a prober's control socket (prober.ts, prober-client.ts), and between
// the prober and its SCTP peer (sctp-peer.py).

import type { PortSpec, Protocol } from "./topology.ts";

export interface ProbeRequest {
  id: number;
  op: "probe";
  protocol: Protocol;
  host: string;
  port: number;
  timeoutMs: number;
}

/** Replaces the set of ports the prober serves. */
export interface ServeRequest {
  id: number;
  op: "serve";
  ports: PortSpec[];
}

export type ProberRequest = ProbeRequest | ServeRequest;

/** `connected` is the only success: a TCP handshake, a UDP echo, or an SCTP INIT-ACK. */
export type ProbeOutcome = "connected" | "refused" | "timeout" | "error";

export interface ProbeReply {
  id: number;
  outcome: ProbeOutcome;
  /** Milliseconds from sending to the outcome. */
  ms: number;
  message?: string;
}

export interface ServeReply {
  id: number;
  served: PortSpec[];
  error?: string;
}

export interface ProberConfig {
  /** Where the control socket listens; it appears once every server listens. */
  socket: string;
  ports: PortSpec[];
  /** Interpreter for sctp-peer.py. */
  python: string;
}

/** The first line the SCTP peer writes once its sockets are open. */
export interface ReadyLine {
  ready: true;
}
