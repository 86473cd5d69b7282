import { compileFilter, type CompiledFilter } from './filter.js';
import type { LogEntry, LogFilter } from './types.js';

/**
 * Event-loop time a live reader's regular expression may take per LIVE_REGEX_WINDOW_MS. RE2 bounds a
 * line's cost by its length times the pattern's size, which can still be a tenth of a second for a
 * long line; a reader whose pattern costs more than this share is ended rather than slowing every write.
 */
export const LIVE_REGEX_BUDGET_MS = 100;
const LIVE_REGEX_WINDOW_MS = 1000;

interface Subscriber {
  filter: CompiledFilter;
  listener: (entry: LogEntry) => void;
  onEnd?: (reason: string) => void;
  /** Regex time spent in the window that started at `since`. */
  spent: number;
  since: number;
}

/** Hands each new line to the live readers whose filter it matches, as it is written. */
export class LiveHub {
  private readonly subscribers = new Set<Subscriber>();

  subscribe(
    filter: LogFilter,
    listener: (entry: LogEntry) => void,
    onEnd?: (reason: string) => void,
  ): () => void {
    const subscriber = { filter: compileFilter(filter), listener, onEnd, spent: 0, since: 0 };
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get size(): number {
    return this.subscribers.size;
  }

  publish(entry: LogEntry): void {
    for (const subscriber of this.subscribers) {
      if (!this.matches(subscriber, entry)) continue;
      try {
        subscriber.listener(entry);
      } catch {
        // One broken reader must not stop the others or the producer.
      }
    }
  }

  private matches(subscriber: Subscriber, entry: LogEntry): boolean {
    const { filter } = subscriber;
    if (!filter.regex) return filter.matches(entry);
    const start = performance.now();
    const matched = filter.matches(entry);
    const end = performance.now();
    if (end - subscriber.since > LIVE_REGEX_WINDOW_MS) {
      subscriber.since = start;
      subscriber.spent = 0;
    }
    subscriber.spent += end - start;
    if (subscriber.spent <= LIVE_REGEX_BUDGET_MS) return matched;
    this.subscribers.delete(subscriber);
    try {
      subscriber.onEnd?.(
        `regex: took more than ${LIVE_REGEX_BUDGET_MS} ms of every ${LIVE_REGEX_WINDOW_MS} ms on new lines; narrow it or use a keyword search`,
      );
    } catch {
      // As for listeners.
    }
    return false;
  }
}
