// A bounded queue in front of a slow or absent receiver: `push` never waits (the dataplane and
// the agent must not), one worker delivers in order, retrying a failed batch with backoff until
// it goes through; when the queue is full the oldest item is dropped and counted.
import { Backoff, type BackoffOptions } from "../../util/backoff.ts";

export interface DeliveryQueueOptions<T> {
  readonly deliver: (batch: readonly T[]) => Promise<void>;
  /** Items held at most; 10,000 by default. */
  readonly capacity?: number;
  /** Items per delivery; 1 by default. */
  readonly batchSize?: number;
  /** First and longest wait between retries; 100 ms and 5 s by default. */
  readonly backoffMs?: BackoffOptions;
  readonly onError?: (e: unknown) => void;
}

export interface DeliveryStats {
  readonly queued: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly failures: number;
}

export class DeliveryQueue<T> {
  readonly #opts: DeliveryQueueOptions<T>;
  readonly #items: T[] = [];
  #running = false;
  #stopped = false;
  #delivered = 0;
  #dropped = 0;
  #failures = 0;
  #wake: (() => void) | undefined;
  #inFlight = 0;

  constructor(opts: DeliveryQueueOptions<T>) {
    this.#opts = opts;
  }

  push(item: T): void {
    if (this.#stopped) return;
    if (
      this.#items.length > 0 &&
      this.#items.length + this.#inFlight >= (this.#opts.capacity ?? 10_000)
    ) {
      this.#items.shift();
      this.#dropped++;
    }
    this.#items.push(item);
    if (!this.#running) void this.#run();
  }

  stats(): DeliveryStats {
    return {
      queued: this.#items.length + this.#inFlight,
      delivered: this.#delivered,
      dropped: this.#dropped,
      failures: this.#failures,
    };
  }

  /** Stops delivering; what is still queued is abandoned (and counted as dropped). */
  stop(): void {
    this.#stopped = true;
    this.#dropped += this.#items.length;
    this.#items.length = 0;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    this.#running = true;
    const backoff = new Backoff({
      first: this.#opts.backoffMs?.first ?? 100,
      max: this.#opts.backoffMs?.max ?? 5000,
    });
    while (!this.#stopped && this.#items.length > 0) {
      // Taken out while in flight, so overflow meanwhile drops older queued items, not these.
      const batch = this.#items.splice(0, this.#opts.batchSize ?? 1);
      this.#inFlight = batch.length;
      try {
        await this.#opts.deliver(batch);
        this.#inFlight = 0;
        this.#delivered += batch.length;
        backoff.reset();
      } catch (e) {
        this.#inFlight = 0;
        this.#failures++;
        // Back to the front for the retry; past the bound the oldest of them go.
        const room = Math.max(0, (this.#opts.capacity ?? 10_000) - this.#items.length);
        const back = batch.slice(Math.max(0, batch.length - room));
        this.#dropped += batch.length - back.length;
        if (this.#stopped) this.#dropped += back.length;
        else this.#items.unshift(...back);
        this.#opts.onError?.(e);
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff.next());
          this.#wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
    this.#running = false;
  }
}
