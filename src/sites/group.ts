import { HttpError } from '../lib/problem.js';
import {
  Instance,
  NO_TRAFFIC,
  type InstanceServices,
  type InstanceSpec,
  type LaunchResult,
} from './instance.js';
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

/** What a roll changes to: the instances it starts run this. */
interface Target {
  version: Version;
  settings: Record<string, string>;
  /** The slot new instances are started for (a swap starts them for the slot they are about to serve). */
  slot?: string;
}

/** One step of a roll: the new instance now in rotation and the old one it took the place of. */
interface Step {
  instance: Instance;
  replaced?: Instance;
}

/**
 * A roll stopped because a new instance did not warm. The instances it had replaced were rolled back
 * to what ran before, one at a time; `stillNew` counts those the rollback could not restore.
 */
export class ReplaceFailed extends Error {
  constructor(
    readonly result: LaunchResult,
    /** 1-based position of the instance that failed, and how many the roll was to start. */
    readonly position: number,
    readonly total: number,
    /** Instances that still run the new version (only when the rollback failed too). */
    readonly stillNew = 0,
    rollbackFailure?: LaunchResult,
  ) {
    const what = total > 1 ? `instance ${position} of ${total} of the new version` : 'the new version';
    const rolledBack = position > 1 ? position - 1 - stillNew : 0;
    super(
      [
        `${what} did not start: ${result.reason ?? 'warmup failed'}${result.startupLog ? ` (startup log ${result.startupLog})` : ''}`,
        rolledBack > 0
          ? `; the ${rolledBack} instance${rolledBack > 1 ? 's' : ''} already replaced ${rolledBack > 1 ? 'were' : 'was'} rolled back`
          : '',
        stillNew > 0
          ? `; rolling back failed too (${rollbackFailure?.reason ?? 'warmup failed'}${rollbackFailure?.startupLog ? `, startup log ${rollbackFailure.startupLog}` : ''}), so ${stillNew} instance${stillNew > 1 ? 's' : ''} still run${stillNew > 1 ? '' : 's'} the new version`
          : '',
      ].join(''),
    );
    this.name = 'ReplaceFailed';
  }
}

/**
 * The instances serving one slot of a site. All run the same version with the same settings;
 * changing either rolls the set one instance at a time: a new instance starts and warms next to the
 * old ones, takes the place of one old instance in the rotation, and that one drains its in-flight
 * requests and stops before the next new instance starts. The slot therefore never has fewer than
 * its count of warm instances in rotation, and never more than count + 1 processes.
 */
export class InstanceGroup {
  /** In rotation (or restarting under supervision): the front door picks from this list on every request. */
  instances: Instance[] = [];
  /** New instances of a roll that are still warming (not yet in rotation). */
  private readonly launching = new Set<Instance>();
  /** Out of rotation, finishing their in-flight requests before they stop. */
  private readonly draining = new Set<Instance>();
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

  /** Every process of the slot: in rotation, warming for a roll, and draining. */
  all(): Instance[] {
    return [...this.instances, ...this.launching, ...this.draining];
  }

  /** Whether any process of the slot runs `versionId` (its folder must then stay). */
  runs(versionId: string): boolean {
    return this.all().some((i) => i.spec.version === versionId);
  }

  private create(target: Target = { version: this.version, settings: this.settings }): Instance {
    return new Instance(
      { ...this.base(), cwd: target.version.dir, settings: target.settings, version: target.version.id },
      this.services,
      target.slot ?? this.slot,
    );
  }

  /** Starts the instances, supervised from the first attempt (a failing app keeps being retried). */
  async start(): Promise<LaunchResult[]> {
    this.stopped = false;
    const added = Array.from({ length: Math.max(0, this.count - this.instances.length) }, () =>
      this.create(),
    );
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
    // Listed before retiring `old`, which joins `draining`: each instance is stopped once.
    const others = [...this.launching, ...this.draining];
    await Promise.all([...old.map((i) => this.retire(i)), ...others.map((i) => i.stop())]);
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
   * Rolls every instance over to `version`/`settings`, one at a time (see the class comment).
   * `warmPath` is an extra request each new instance must answer before it joins the rotation (the
   * swap warm-up ping). When a new instance fails its first start the roll stops, the instances it
   * had already replaced are rolled back one at a time to the previous version and settings, and
   * ReplaceFailed is thrown: the slot runs what it ran before. If the slot is stopped during the roll
   * (Berth shutting down), the roll ends with a 409 and the slot's version is left unchanged.
   */
  async replace(change: {
    version?: Version;
    settings?: Record<string, string>;
    count?: number;
    warmPath?: string;
    slot?: string;
  }): Promise<LaunchResult[]> {
    const target: Target = {
      version: change.version ?? this.version,
      settings: change.settings ?? this.settings,
      slot: change.slot,
    };
    const count = change.count ?? this.count;
    if (this.stopped) {
      Object.assign(this, { version: target.version, settings: target.settings, count });
      return [];
    }
    const previous: Target = { version: this.version, settings: this.settings };
    const outgoing = [...this.instances];
    const steps: Step[] = [];
    const results: LaunchResult[] = [];
    for (let n = 0; n < count; n++) {
      const replaced = outgoing.shift();
      const step = await this.rollOne(target, replaced, change.warmPath);
      if (step.result) results.push(step.result);
      if (this.stopped) throw this.interrupted(target.version);
      if (!step.instance) {
        const rollback = await this.rollBack(steps, previous, change.warmPath);
        if (this.stopped) throw this.interrupted(target.version);
        throw new ReplaceFailed(step.result!, n + 1, count, rollback.stillNew, rollback.failure);
      }
      steps.push({ instance: step.instance, replaced });
    }
    // A roll to fewer instances (a swap between slots of different sizes) ends by retiring the rest.
    for (const old of outgoing) {
      this.instances = this.instances.filter((i) => i !== old);
      await this.retire(old);
    }
    Object.assign(this, { version: target.version, settings: target.settings, count });
    return results;
  }

  /**
   * One step: start a new instance, warm it, put it in `replaced`'s place in the rotation, then drain
   * and stop `replaced`. Returns the new instance only if it joined the rotation.
   */
  private async rollOne(
    target: Target,
    replaced: Instance | undefined,
    warmPath?: string,
  ): Promise<{ instance?: Instance; result?: LaunchResult }> {
    const instance = this.create(target);
    this.launching.add(instance);
    let result: LaunchResult;
    try {
      result = await instance.launch();
      if (result.ok && warmPath && !this.stopped)
        await probe(instance.port, warmPath, 30_000, 'Berth-SwapWarmup/1.0');
    } finally {
      this.launching.delete(instance);
    }
    if (this.stopped || !result.ok) {
      // Stopped while it warmed (Berth shutting down), or it failed: it must not outlive the roll.
      await instance.stop();
      return { result };
    }
    instance.supervise();
    const at = replaced ? this.instances.indexOf(replaced) : -1;
    this.instances =
      at >= 0 ? this.instances.map((i) => (i === replaced ? instance : i)) : [...this.instances, instance];
    if (replaced) await this.retire(replaced);
    return { instance, result };
  }

  /** Undoes a roll's steps, newest first, by the same one-at-a-time replacement. */
  private async rollBack(
    steps: Step[],
    previous: Target,
    warmPath?: string,
  ): Promise<{ stillNew: number; failure?: LaunchResult }> {
    for (let k = steps.length - 1; k >= 0; k--) {
      const { instance, replaced } = steps[k]!;
      if (!replaced) {
        // It was added (the roll grows the slot), not swapped in: taking it out restores the old count.
        this.instances = this.instances.filter((i) => i !== instance);
        await this.retire(instance);
        continue;
      }
      const step = await this.rollOne(previous, instance, warmPath);
      if (this.stopped) return { stillNew: 0 };
      if (!step.instance)
        return { stillNew: steps.slice(0, k + 1).filter((s) => s.replaced).length, failure: step.result };
    }
    return { stillNew: 0 };
  }

  private interrupted(version: Version): HttpError {
    return new HttpError(
      409,
      `slot ${this.slot} was stopped while rolling to version ${version.id}; it was not deployed`,
    );
  }

  /** Rolls every instance without downtime (same version and settings). */
  restart(): Promise<LaunchResult[]> {
    return this.replace({});
  }

  setSlot(slot: string): void {
    this.slot = slot;
    for (const instance of this.all()) instance.slot = slot;
  }

  /** Already out of the rotation: drains its in-flight requests (up to the grace period), then stops it. */
  private async retire(instance: Instance): Promise<void> {
    this.draining.add(instance);
    instance.drain();
    try {
      await (this.services.traffic ?? NO_TRAFFIC).whenIdle(instance, instance.spec.stopGracePeriod);
      await instance.stop();
    } finally {
      this.draining.delete(instance);
    }
  }
}
