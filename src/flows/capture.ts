// Capture for one node: ulogd2 supervised in the node's netns, its JSON output followed through
// rotation (rotated when it grows past maxBytes), each line parsed into a PacketLog, and with
// conntrack its connection ends into ConnectionEnds. Lines that do not parse are counted and
// reported, never guessed at.
import { type ConnectionEnd, parseConntrackLine } from "./conntrack-log.ts";
import { JsonLinesFollower } from "./json-follower.ts";
import { type PacketLog, PacketLogError, parseUlogdLine } from "./packet-log.ts";
import {
  type SupervisorLog,
  type UlogdHealth,
  UlogdSupervisor,
  type UlogdSupervisorOptions,
} from "./ulogd-supervisor.ts";

export interface CaptureOptions extends UlogdSupervisorOptions {
  readonly onPacket: (p: PacketLog) => void;
  /** Connection ends, when `conntrack` is asked for and available. */
  readonly onConnectionEnd?: (c: ConnectionEnd) => void;
  /** Rotate ulogd2's output past this size; 64 MiB by default. */
  readonly maxBytes?: number;
  readonly pollMs?: number;
  readonly log?: SupervisorLog;
}

export interface CaptureHealth {
  readonly ulogd: UlogdHealth;
  readonly records: number;
  readonly connectionEnds: number;
  readonly badRecords: number;
  readonly rotations: number;
  readonly lastBadRecord?: string;
}

export class FlowCapture {
  readonly supervisor: UlogdSupervisor;
  readonly #follower: JsonLinesFollower;
  readonly #conntrack: JsonLinesFollower;
  readonly #opts: CaptureOptions;
  #records = 0;
  #ends = 0;
  #bad = 0;
  #lastBad: string | undefined;
  #rotateTimer: NodeJS.Timeout | undefined;

  constructor(opts: CaptureOptions) {
    this.#opts = opts;
    this.supervisor = new UlogdSupervisor(opts);
    this.#follower = new JsonLinesFollower(this.supervisor.outputFile, {
      pollMs: opts.pollMs ?? 20,
      // Records written before this agent started were attributed by the one that ran then.
      fromEnd: true,
      onLine: (line) => this.#line(line),
      onError: (e) => opts.log?.warn("flow reader failed", { error: String(e) }),
    });
    this.#conntrack = new JsonLinesFollower(this.supervisor.conntrackFile, {
      pollMs: opts.pollMs ?? 20,
      fromEnd: true,
      onLine: (line) => this.#connectionLine(line),
      onError: (e) => opts.log?.warn("conntrack reader failed", { error: String(e) }),
    });
  }

  async start(): Promise<void> {
    await this.supervisor.start();
    this.#follower.start();
    if (this.supervisor.health().conntrack) this.#conntrack.start();
    const max = this.#opts.maxBytes ?? 64 * 1024 * 1024;
    this.#rotateTimer = setInterval(() => {
      if (this.supervisor.outputBytes() > max) this.supervisor.rotate();
    }, 1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.#rotateTimer);
    await this.supervisor.stop();
    this.#follower.stop();
    if (this.supervisor.health().conntrack) this.#conntrack.stop();
  }

  /** Reads what ulogd2 has written so far (the followers also do on their timers). */
  poll(): void {
    this.#follower.poll();
    if (this.supervisor.health().conntrack) this.#conntrack.poll();
  }

  health(): CaptureHealth {
    return {
      ulogd: this.supervisor.health(),
      records: this.#records,
      connectionEnds: this.#ends,
      badRecords: this.#bad,
      rotations: this.#follower.rotations,
      ...(this.#lastBad ? { lastBadRecord: this.#lastBad } : {}),
    };
  }

  #line(line: string): void {
    const p = this.#parse(line, parseUlogdLine);
    if (!p) return;
    this.#records++;
    this.#opts.onPacket(p);
  }

  #connectionLine(line: string): void {
    const c = this.#parse(line, (l) => parseConntrackLine(l, Date.now()));
    if (!c) return;
    this.#ends++;
    this.#opts.onConnectionEnd?.(c);
  }

  #parse<T>(line: string, parse: (line: string) => T): T | undefined {
    try {
      return parse(line);
    } catch (e) {
      if (!(e instanceof PacketLogError)) throw e;
      this.#bad++;
      this.#lastBad = e.message;
      return undefined;
    }
  }
}
