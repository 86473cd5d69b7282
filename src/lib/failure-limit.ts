/** `{count, window}`: at most `count` failed password checks per client in `window` milliseconds. */
export interface FailureLimitConfig {
  count: number;
  window: number;
}

/** Clients remembered at most; past it, windows that ended are forgotten first, then the oldest. */
const MAX_CLIENTS = 10_000;

/**
 * Failed password checks per client (the remote address: these listeners have no proxy in front, so
 * X-Forwarded-For would be the client's own word). A client that failed `count` times within one
 * window is refused until the window ends, before any bcrypt work; a success is not counted.
 */
export class FailureLimiter {
  /** client → failures in the window that started at `since`. Insertion order is age order. */
  private readonly clients = new Map<string, { failures: number; since: number }>();

  constructor(private readonly config: FailureLimitConfig) {}

  /** Seconds until the client may try again, or 0 when it may now. */
  retryAfter(client: string, now = Date.now()): number {
    const entry = this.clients.get(client);
    if (!entry) return 0;
    const end = entry.since + this.config.window;
    if (end <= now) {
      this.clients.delete(client);
      return 0;
    }
    return entry.failures >= this.config.count ? Math.ceil((end - now) / 1000) : 0;
  }

  failed(client: string, now = Date.now()): void {
    const entry = this.clients.get(client);
    if (entry && entry.since + this.config.window > now) {
      entry.failures++;
      return;
    }
    this.clients.delete(client);
    if (this.clients.size >= MAX_CLIENTS) this.forgetOld(now);
    this.clients.set(client, { failures: 1, since: now });
  }

  private forgetOld(now: number): void {
    for (const [client, entry] of this.clients) {
      if (entry.since + this.config.window <= now) this.clients.delete(client);
    }
    // Every window still running: the oldest goes (a flood of addresses cannot grow the map).
    if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
  }
}
