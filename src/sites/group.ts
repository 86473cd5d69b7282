import { Instance, type InstanceServices, type InstanceSpec, type LaunchResult } from './instance.js';
import { probe } from './probe.js';

/** A deployed version: a folder the start command runs in. */
export interface Version {
  id: string;
  dir: string;
}

export interface GroupOptions {
  slot: string;
  version: Version;
  settings: Record<string, string>;
  count: number;
}

/** The parts of a site definition an instance needs; read afresh for every new instance. */
export type SpecBase = Omit<InstanceSpec, 'cwd' | 'settings' | 'version'>;

export class ReplaceFailed extends Error {
  constructor(readonly result: LaunchResult) {
    super(`the new version did not start: ${result.reason ?? 'warmup failed'}${result.startupLog ? ` (startup log ${result.startupLog})` : ''}`);
    this.name = 'ReplaceFailed';
  }
}

/**
 * The instances serving one slot of a site. All run the same version with the same settings;
 * changing either replaces the whole set: new instances start and warm next to the old ones, the
 * rotation switches at once, and the old ones drain their in-flight requests before they stop.
 */
export class InstanceGroup {
  instances: Instance[] = [];
  /** New instances of a replace that are still warming (not yet in rotation). */
  private readonly launching = new Set<Instance>();
  slot: string;
  version: Version;
  settings: Record<string, string>;
  count: number;
  stopped = true;

  constructor(
    private readonly base: () => SpecBase,
    private readonly services: InstanceServices,
    options: GroupOptions,
  ) {
    this.slot = options.slot;
    this.version = options.version;
    this.settings = options.settings;
    this.count = options.count;
  }

  routable(): Instance[] {
    return this.instances.filter((i) => i.routable);
  }

  private create(version = this.version, settings = this.settings, slot = this.slot): Instance {
    return new Instance({ ...this.base(), cwd: version.dir, settings, version: version.id }, this.services, slot);
  }

  /** Starts the instances, supervised from the first attempt (a failing app keeps being retried). */
  async start(): Promise<LaunchResult[]> {
    this.stopped = false;
    const added = Array.from({ length: Math.max(0, this.count - this.instances.length) }, () => this.create());
    this.instances.push(...added);
    return Promise.all(
      added.map((instance) => {
        instance.supervise();
        return instance.launch();
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const old = this.instances;
    this.instances = [];
    await Promise.all([...old.map((i) => this.retire(i)), ...[...this.launching].map((i) => i.stop())]);
  }

  /** Changes the number of instances; new ones join the rotation once warm. */
  async scale(count: number): Promise<LaunchResult[]> {
    this.count = count;
    if (this.stopped) return [];
    if (count > this.instances.length) return this.start();
    const removed = this.instances.slice(count);
    this.instances = this.instances.slice(0, count);
    await Promise.all(removed.map((i) => this.retire(i)));
    return [];
  }

  /**
   * Replaces every instance with one running `version`/`settings`. Throws ReplaceFailed, leaving the
   * old instances serving, when any new instance fails its first start. `warmPath` is an extra
   * request each new instance must answer before the switch (the swap warm-up ping).
   */
  async replace(change: { version?: Version; settings?: Record<string, string>; count?: number; warmPath?: string; slot?: string }): Promise<LaunchResult[]> {
    const version = change.version ?? this.version;
    const settings = change.settings ?? this.settings;
    const count = change.count ?? this.count;
    if (this.stopped) {
      Object.assign(this, { version, settings, count });
      return [];
    }
    // During a swap the new instances are started for the slot they are about to serve.
    const fresh = Array.from({ length: count }, () => this.create(version, settings, change.slot));
    for (const instance of fresh) this.launching.add(instance);
    let results: LaunchResult[];
    try {
      results = await Promise.all(fresh.map((i) => i.launch()));
    } finally {
      for (const instance of fresh) this.launching.delete(instance);
    }
    if (this.stopped) {
      // Stopped (e.g. Berth shutting down) while the new instances warmed: they must not outlive it.
      await Promise.all(fresh.map((i) => i.stop()));
      return results;
    }
    const failed = results.find((r) => !r.ok);
    if (failed) {
      await Promise.all(fresh.map((i) => i.stop()));
      throw new ReplaceFailed(failed);
    }
    if (change.warmPath) await Promise.all(fresh.map((i) => probe(i.port, change.warmPath!, 30_000, 'Berth-SwapWarmup/1.0')));
    for (const instance of fresh) instance.supervise();
    const old = this.instances;
    Object.assign(this, { version, settings, count });
    this.instances = fresh; // the switch: the front door picks from this list on every request
    await Promise.all(old.map((i) => this.retire(i)));
    return results;
  }

  /** Restarts every instance without downtime (same version and settings). */
  restart(): Promise<LaunchResult[]> {
    return this.replace({});
  }

  setSlot(slot: string): void {
    this.slot = slot;
    for (const instance of this.instances) instance.slot = slot;
  }

  /** Out of the rotation already; waits for its in-flight requests (up to the grace period), then stops it. */
  private async retire(instance: Instance): Promise<void> {
    const deadline = Date.now() + instance.spec.stopGracePeriod;
    while (instance.active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await instance.stop();
  }
}
