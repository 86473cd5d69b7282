import { compileFilter, type CompiledFilter } from './filter.js';
import type { LogEntry, LogFilter } from './types.js';

interface Subscriber {
  filter: CompiledFilter;
  listener: (entry: LogEntry) => void;
}

/** Hands each new line to the live readers whose filter it matches, as it is written. */
export class LiveHub {
  private readonly subscribers = new Set<Subscriber>();

  subscribe(filter: LogFilter, listener: (entry: LogEntry) => void): () => void {
    const subscriber = { filter: compileFilter(filter), listener };
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get size(): number {
    return this.subscribers.size;
  }

  publish(entry: LogEntry): void {
    for (const { filter, listener } of this.subscribers) {
      if (!filter.matches(entry)) continue;
      try {
        listener(entry);
      } catch {
        // One broken reader must not stop the others or the producer.
      }
    }
  }
}
