// Which flow logs opened which connection, so a connection's end (conntrack's counters) adds its
// packets and bytes to the flow records of the logs that opened it. Keyed by the original
// direction's 5-tuple, as conntrack names a connection; one log per reporter (a connection
// between two local workloads is logged at egress and at ingress, and both records count it).
// The logged packets (the opening one, a retransmitted SYN) were counted when logged, so an end
// adds the rest. Bounded: the oldest connection is forgotten first. Pure.
import type { ConnectionEnd } from "./conntrack-log.ts";
import type { FlowLog } from "./flow-log.ts";
import { protoName } from "./protocols.ts";

export interface ConnectionShare {
  readonly log: FlowLog;
  readonly packets: number;
  readonly bytes: number;
}

export interface ConnectionStats {
  /** Connections ended that a log had opened, ended that none had (not logged, or sampled out). */
  readonly attributed: number;
  readonly unattributed: number;
  /** Open connections forgotten to keep the bound. */
  readonly evicted: number;
  readonly open: number;
}

interface Opener {
  log: FlowLog;
  /** What the logs of this reporter and policy already counted. */
  packets: number;
  bytes: number;
}

const key = (proto: string, src: string, sport: string, dst: string, dport: string) =>
  `${proto} ${src} ${sport} ${dst} ${dport}`;

export class ConnectionTable {
  readonly #open = new Map<string, Opener[]>();
  readonly #max: number;
  #attributed = 0;
  #unattributed = 0;
  #evicted = 0;

  constructor(maxConnections = 200_000) {
    this.#max = maxConnections;
  }

  /** Remembers a log that opened a connection the packet went on with (allowed or logged). */
  opened(log: FlowLog): void {
    const f = log.fields;
    if (log.connections === 0 || f.action === "deny" || f.source_port === "") return;
    const k = key(f.proto, f.source_ip, f.source_port, f.dest_ip, f.dest_port);
    const opener = { log, packets: log.packets, bytes: log.bytes };
    const openers = this.#open.get(k);
    if (openers) {
      // A retransmitted SYN logs again: one opener per reporter and policy, counting both.
      const o = openers.find(
        (x) => x.log.fields.reporter === f.reporter && x.log.fields.policy === f.policy,
      );
      if (o) {
        o.packets += log.packets;
        o.bytes += log.bytes;
      } else openers.push(opener);
      return;
    }
    if (this.#open.size >= this.#max) {
      this.#open.delete(this.#open.keys().next().value!);
      this.#evicted++;
    }
    this.#open.set(k, [opener]);
  }

  /** The connection's packets and bytes beyond each opening log's, one share per log. */
  ended(c: ConnectionEnd): ConnectionShare[] {
    const k = key(
      protoName(c.protocol),
      c.sourceIp,
      c.sourcePort === undefined ? "" : String(c.sourcePort),
      c.destIp,
      c.destPort === undefined ? "" : String(c.destPort),
    );
    const openers = this.#open.get(k);
    if (!openers) {
      this.#unattributed++;
      return [];
    }
    this.#open.delete(k);
    this.#attributed++;
    return openers.map((o) => ({
      log: o.log,
      packets: Math.max(0, c.packets - o.packets),
      bytes: Math.max(0, c.bytes - o.bytes),
    }));
  }

  stats(): ConnectionStats {
    return {
      attributed: this.#attributed,
      unattributed: this.#unattributed,
      evicted: this.#evicted,
      open: this.#open.size,
    };
  }
}
