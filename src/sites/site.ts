import type { SiteConfig } from '../config/index.js';
import { HttpError } from '../lib/problem.js';
import { InstanceGroup, ReplaceFailed, type Version } from './group.js';
import type { InstanceServices, LaunchResult } from './instance.js';
import { PRODUCTION } from './names.js';
import type { SiteStatus } from './types.js';

export interface SlotSeed {
  version: Version;
  settings: Record<string, string>;
  count: number;
  stopped: boolean;
}

/**
 * A site: its definition and one instance group per slot. Every change (deploy, swap, scale,
 * restart) runs one at a time, so a swap never meets a half-finished deploy.
 */
export class Site {
  /** Slot name → the group serving it now. A swap exchanges two entries at once. */
  readonly slots = new Map<string, InstanceGroup>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    public definition: SiteConfig,
    private readonly services: InstanceServices,
    seeds: Map<string, SlotSeed>,
    /** Defined in berth.yaml (cannot be deleted at run time) or created through the API. */
    readonly fromConfig: boolean,
  ) {
    for (const [slot, seed] of seeds) this.addGroup(slot, seed);
  }

  get name(): string {
    return this.definition.name;
  }

  private addGroup(slot: string, seed: SlotSeed): InstanceGroup {
    const d = () => this.definition;
    const group = new InstanceGroup(
      () => ({
        site: d().name,
        command: d().command,
        startTimeLimit: d().startTimeLimit,
        warmupPath: d().warmupPath,
        warmupStatuses: d().warmupStatuses,
        healthCheckPath: d().healthCheckPath,
        healthCheckInterval: d().healthCheckInterval,
        healthCheckMaxFailures: d().healthCheckMaxFailures,
        stopGracePeriod: d().stopGracePeriod,
      }),
      this.services,
      { slot, version: seed.version, settings: seed.settings, count: seed.count },
    );
    group.stopped = seed.stopped;
    this.slots.set(slot, group);
    return group;
  }

  slot(name: string): InstanceGroup {
    const group = this.slots.get(name);
    if (!group)
      throw new HttpError(404, `site ${this.name} has no slot "${name}"`, { slots: [...this.slots.keys()] });
    return group;
  }

  /** Runs `work` after every earlier change of this site has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Starts every slot that is not marked stopped; does not wait for warmup. */
  startAll(): Promise<LaunchResult[]> {
    return Promise.all([...this.slots.values()].filter((g) => !g.stopped).map((g) => g.start())).then((r) =>
      r.flat(),
    );
  }

  stopAll(): Promise<void> {
    return Promise.all([...this.slots.values()].map((g) => g.stop().then(() => (g.stopped = true)))).then(
      () => undefined,
    );
  }

  createSlot(name: string, cloneSettingsFrom?: string): InstanceGroup {
    if (this.slots.has(name)) throw new HttpError(409, `site ${this.name} already has a slot "${name}"`);
    const source = cloneSettingsFrom ? this.slot(cloneSettingsFrom) : undefined;
    const production = this.slot(PRODUCTION);
    // Like App Service, a new slot starts with the production content; settings only if asked to clone.
    return this.addGroup(name, {
      version: production.version,
      settings: source ? { ...source.settings } : {},
      count: production.count,
      stopped: false,
    });
  }

  async deleteSlot(name: string): Promise<void> {
    if (name === PRODUCTION) throw new HttpError(409, 'the production slot cannot be deleted');
    const group = this.slot(name);
    this.slots.delete(name);
    await group.stop();
  }

  /**
   * App Service's swap: (1) restart the source's instances with the target's sticky settings (and the
   * target's instance count) and warm them; (2) switch routing at once; (3) restart the old target,
   * now serving the source slot, with the source's sticky settings. Fails before (2) without change.
   */
  async swap(sourceName: string, targetName: string, progress: (step: string) => void): Promise<void> {
    if (sourceName === targetName) throw new HttpError(400, 'source and target slot are the same');
    const source = this.slot(sourceName);
    const target = this.slot(targetName);
    if (source.stopped || target.stopped)
      throw new HttpError(
        409,
        `both slots must be running to swap (${source.stopped ? sourceName : targetName} is stopped)`,
      );
    const sticky = new Set(this.definition.stickySettings);
    const split = (settings: Record<string, string>, keepSticky: boolean) =>
      Object.fromEntries(Object.entries(settings).filter(([k]) => sticky.has(k) === keepSticky));
    const forTarget = { ...split(source.settings, false), ...split(target.settings, true) };
    const forSource = { ...split(target.settings, false), ...split(source.settings, true) };
    const targetCount = target.count;
    const sourceCount = source.count;
    const warmPath = this.definition.swapWarmupPath;

    progress(
      `Applying the settings of slot ${targetName} to the instances of slot ${sourceName} and warming them.`,
    );
    await source.replace({ settings: forTarget, count: targetCount, warmPath, slot: targetName });
    progress(`Switching routing: ${targetName} is now served by the instances that served ${sourceName}.`);
    this.slots.set(targetName, source);
    this.slots.set(sourceName, target);
    source.setSlot(targetName);
    target.setSlot(sourceName);
    progress(`Applying the settings of slot ${sourceName} to the instances now serving it and warming them.`);
    try {
      await target.replace({ settings: forSource, count: sourceCount, warmPath, slot: sourceName });
    } catch (error) {
      if (!(error instanceof ReplaceFailed)) throw error;
      // Routing has switched already; only the other side's settings could not be applied.
      throw new HttpError(
        422,
        `the swap switched ${targetName} to the new instances, but restarting slot ${sourceName} with its own settings failed; it keeps serving with the previous ones: ${error.message}`,
        { startupLog: error.result.startupLog, hints: error.result.hints },
      );
    }
    progress('Swap finished.');
  }

  status(baseUrl: (host: string) => string, directUrl: (slot: string) => string | undefined): SiteStatus {
    return {
      name: this.name,
      hostNames: [`${this.name}.localhost`, ...this.definition.hostNames],
      url: baseUrl(`${this.name}.localhost`),
      slots: [...this.slots.entries()].map(([name, group]) => {
        const url = directUrl(name);
        return {
          name,
          state: group.stopped ? 'stopped' : 'running',
          instances: group.all().map((i) => i.status()),
          ...(url ? { url } : {}),
        };
      }),
    };
  }

  /** The port a slot's own listener asks for: `sites[].port` / `slots[].port`, 0 for auto. */
  directPort(slot: string): number {
    const port =
      slot === 'production' ? this.definition.port : this.definition.slots.find((s) => s.name === slot)?.port;
    return typeof port === 'number' ? port : 0;
  }
}
