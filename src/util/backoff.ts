/** First and longest delay, in milliseconds. */
export interface BackoffOptions {
  readonly first: number;
  readonly max: number;
  /**
   * The largest share of a delay taken off at random; a quarter by default. 0 for one
   * restarter of its own (up's agent supervisor), which has no fleet to spread out.
   */
  readonly jitter?: number;
}

/**
 * Retry delays that double from `first` to `max`, each with up to `jitter` (a quarter) of random
 * jitter below it, so many followers retrying the same server (every node's agent) do not retry in
 * step. `reset` after progress starts over at `first`.
 */
export class Backoff {
  readonly #first: number;
  readonly #max: number;
  readonly #jitter: number;
  #next: number;

  constructor(opts: BackoffOptions) {
    this.#first = opts.first;
    this.#max = Math.max(opts.first, opts.max);
    this.#jitter = opts.jitter ?? 0.25;
    this.#next = this.#first;
  }

  /** The delay to wait now; the one after it is twice as long, up to `max`. */
  next(): number {
    const base = this.#next;
    this.#next = Math.min(base * 2, this.#max);
    return Math.round(base * (1 - Math.random() * this.#jitter));
  }

  reset(): void {
    this.#next = this.#first;
  }
}
