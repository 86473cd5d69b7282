import type { Instance, Traffic } from '../sites/index.js';

/**
 * Requests (and upgrades) in flight per instance: the front door's own accounting. The balancer reads
 * it for least-connections; sites drain an instance by asking it (`whenIdle`) through the `Traffic`
 * interface the front door hands the site manager, instead of polling a counter on their objects.
 */
export class InFlight implements Traffic {
  private readonly counts = new WeakMap<Instance, number>();
  private readonly idleWaiters = new WeakMap<Instance, Set<() => void>>();

  of(instance: Instance): number {
    return this.counts.get(instance) ?? 0;
  }

  /** Counts one request on `instance`; the returned function ends it (calling it again does nothing). */
  begin(instance: Instance): () => void {
    this.counts.set(instance, this.of(instance) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = this.of(instance) - 1;
      this.counts.set(instance, left);
      if (left > 0) return;
      const waiters = this.idleWaiters.get(instance);
      this.idleWaiters.delete(instance);
      for (const wake of waiters ?? []) wake();
    };
  }

  whenIdle(instance: Instance, timeoutMs: number): Promise<boolean> {
    if (this.of(instance) === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let waiters = this.idleWaiters.get(instance);
      if (!waiters) this.idleWaiters.set(instance, (waiters = new Set()));
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      waiters.add(wake);
    });
  }
}
