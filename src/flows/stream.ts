// A live stream: subscribers get every item published after they subscribed, synchronously and
// in order. A subscriber that throws is dropped, so one broken listener cannot stop the rest.
export type Unsubscribe = () => void;

export class LiveStream<T> {
  readonly #subscribers = new Set<(item: T) => void>();

  subscribe(fn: (item: T) => void): Unsubscribe {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  publish(item: T): void {
    for (const fn of this.#subscribers) {
      try {
        fn(item);
      } catch {
        this.#subscribers.delete(fn);
      }
    }
  }

  get size(): number {
    return this.#subscribers.size;
  }
}
