// Follows a file of JSON lines as its writer appends, through rotation: when the path names a
// new file (renamed away and recreated, as ulogd2 does on SIGHUP) the old one is read to its end
// first, then the new one from its start; a truncated file is read again from the start. Polls,
// since inotify on a rotated path is more moving parts than a 20 ms stat.
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";

export interface FollowerOptions {
  readonly pollMs?: number;
  /** Start at the end of an existing file (skip history) rather than its start. */
  readonly fromEnd?: boolean;
  readonly onLine: (line: string) => void;
  readonly onError?: (e: unknown) => void;
}

const CHUNK = 1 << 16;

export class JsonLinesFollower {
  readonly #path: string;
  readonly #opts: FollowerOptions;
  #fd: number | undefined;
  #ino = -1;
  #pos = 0;
  #partial = "";
  #decoder = new StringDecoder("utf8");
  #timer: NodeJS.Timeout | undefined;
  readonly #buf = Buffer.allocUnsafe(CHUNK);
  /** Lines read so far. */
  lines = 0;
  /** Files switched to after a rotation. */
  rotations = 0;

  constructor(path: string, opts: FollowerOptions) {
    this.#path = path;
    this.#opts = opts;
  }

  start(): void {
    this.#open(this.#opts.fromEnd ?? false);
    this.#timer = setInterval(() => this.poll(), this.#opts.pollMs ?? 20);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.poll();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Reads whatever has been written since the last poll; called by the timer. */
  poll(): void {
    try {
      if (this.#fd === undefined) this.#open(false);
      if (this.#fd === undefined) return;
      this.#drain();
      const now = statOrUndefined(this.#path);
      if (now && now.ino !== this.#ino) {
        // Rotated: the old file is complete once its writer reopened; take its tail, then move.
        this.#drain();
        closeSync(this.#fd);
        this.#fd = undefined;
        this.#partial = "";
        this.#decoder = new StringDecoder("utf8");
        this.rotations++;
        this.#open(false);
        this.#drain();
      } else if (now && now.size < this.#pos) {
        this.#pos = 0;
        this.#partial = "";
        this.#drain();
      }
    } catch (e) {
      this.#opts.onError?.(e);
    }
  }

  #open(fromEnd: boolean): void {
    try {
      this.#fd = openSync(this.#path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    const st = fstatSync(this.#fd);
    this.#ino = st.ino;
    this.#pos = fromEnd ? st.size : 0;
  }

  #drain(): void {
    if (this.#fd === undefined) return;
    for (;;) {
      const n = readSync(this.#fd, this.#buf, 0, CHUNK, this.#pos);
      if (n <= 0) return;
      this.#pos += n;
      const text = this.#partial + this.#decoder.write(this.#buf.subarray(0, n));
      const lines = text.split("\n");
      this.#partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        this.lines++;
        this.#opts.onLine(line);
      }
    }
  }
}

function statOrUndefined(path: string): { ino: number; size: number } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
