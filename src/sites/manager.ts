import { join, resolve } from 'node:path';
import { rm, stat } from 'node:fs/promises';
import type { BerthConfig } from '../config/index.js';
import { siteSchema, type SiteConfig } from '../config/index.js';
import { urlFor, parseListen } from '../lib/listen.js';
import type { Logger } from '../lib/logger.js';
import { HttpError } from '../lib/problem.js';
import type { LogSink } from '../logs/index.js';
import { ReplaceFailed, type InstanceGroup } from './group.js';
import { type Instance, type InstanceServices, type LaunchResult, type Traffic } from './instance.js';
import { checkSiteName, checkSlotName, PRODUCTION } from './names.js';
import { prepareVersion, pruneDeployments, type DeploySource } from './package.js';
import { ProcessRecords } from './process-records.js';
import { Site, type SlotSeed } from './site.js';
import { StartupLogs } from './startup-logs.js';
import { StateFile, type PersistedState } from './store.js';
import type { SiteStatus } from './types.js';

export interface SiteManagerOptions {
  config: BerthConfig;
  /** Folder relative site roots are resolved against (the config file's folder). */
  baseDir: string;
  /** Where sites keep state, deployments and startup logs (`<dataDir>/sites/`). */
  dataDir: string;
  logSink: LogSink;
  logger: Logger;
  /** Restart backoff after crashes; tests shorten it. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Resolves secret references in app settings at instance start (see InstanceServices). */
  resolveSettings?: InstanceServices['resolveSettings'];
}

export interface DeployResult {
  site: string;
  slot: string;
  version: string;
  instances: LaunchResult[];
}

/** Sites that had not warmed when `waitUntilReady` gave up; the message names each with a command to see why. */
export class SitesNotReadyError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly pending: { site: string; slot: string }[],
  ) {
    super(
      `not ready after ${timeoutMs / 1000} s: ${pending
        .map(
          ({ site, slot }) =>
            `site ${site} (slot ${slot}; see \`berth webapp log startup show --name ${site}${slot === 'production' ? '' : ` --slot ${slot}`}\`)`,
        )
        .join(', ')}`,
    );
    this.name = 'SitesNotReadyError';
  }
}

/**
 * A failed deploy or restart: the roll stopped and was rolled back, so the running version keeps
 * serving (unless the rollback failed too, which the message then says); the startup log and hints say why.
 */
export class DeployFailed extends HttpError {
  constructor(
    site: string,
    slot: string,
    failure: ReplaceFailed,
    what: 'deployment to' | 'restart of' = 'deployment to',
  ) {
    const outcome =
      failure.stillNew > 0 ? 'part of the slot runs the new version' : 'the running version keeps serving';
    super(422, `${what} ${site}/${slot} failed, ${outcome}: ${failure.message}`, {
      startupLog: failure.result.startupLog,
      hints: failure.result.hints,
      rolledBack: failure.stillNew === 0,
    });
  }
}

/** Where the front door sends a request: a site, and a slot when the host names one. */
export interface HostMatch {
  site: Site;
  slot?: string;
}

/**
 * Runs every site of the config plus the ones created at run time. The front door asks it which
 * site serves a host and which instances are in rotation; the console API drives it.
 */
export class SiteManager {
  readonly sites = new Map<string, Site>();
  readonly startupLogs: StartupLogs;
  private readonly sitesDir: string;
  private readonly state: StateFile;
  private readonly services: InstanceServices;
  private readonly records: ProcessRecords;
  private publicBase: { port: number; scheme: string };
  private started = false;

  constructor(private readonly options: SiteManagerOptions) {
    this.sitesDir = join(resolve(options.dataDir), 'sites');
    this.startupLogs = new StartupLogs(this.sitesDir);
    this.state = new StateFile(join(this.sitesDir, 'state.json'), options.logger);
    this.records = new ProcessRecords(join(this.sitesDir, 'processes'));
    this.services = {
      sink: options.logSink,
      startupLogs: this.startupLogs,
      logger: options.logger,
      records: this.records,
      backoffBaseMs: options.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs,
      resolveSettings: options.resolveSettings,
    };
    this.publicBase = { port: parseListen(options.config.frontdoor.listen).port, scheme: 'http' };
  }

  /** The front door hands over its count of requests in flight: draining an instance waits on it. */
  useTraffic(traffic: Traffic): void {
    this.services.traffic = traffic;
  }

  /** The front door tells the manager its real port (it may have been 0) for the URLs in status. */
  setPublicPort(port: number, scheme = 'http'): void {
    this.publicBase = { port, scheme };
  }

  siteUrl(host: string): string {
    return urlFor({ host, port: this.publicBase.port }, '/', this.publicBase.scheme);
  }

  /** Each slot's own front door URL, as the front door's per-slot listeners report them. */
  private directUrls = new Map<string, string>();
  /** Called after a site or slot is added or removed (the front door opens or closes its listener). */
  private sitesChanged: () => Promise<void> = async () => {};

  setDirectUrl(site: string, slot: string, url: string | undefined): void {
    if (url) this.directUrls.set(`${site}/${slot}`, url);
    else this.directUrls.delete(`${site}/${slot}`);
  }

  onSitesChanged(listener: () => Promise<void>): void {
    this.sitesChanged = listener;
  }

  private statusOf(site: Site): SiteStatus {
    return site.status(
      (host) => this.siteUrl(host),
      (slot) => this.directUrls.get(`${site.name}/${slot}`),
    );
  }

  /** Loads the config's sites and the persisted ones and starts them; does not wait for warmup. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.reapLeftovers();
    const persisted = await this.state.read();
    for (const definition of this.options.config.sites) this.add(definition, persisted, true);
    for (const [name, saved] of Object.entries(persisted.sites)) {
      if (this.sites.has(name) || !saved.definition) continue;
      const parsed = siteSchema.safeParse(saved.definition);
      if (!parsed.success) {
        this.options.logger.error(
          { site: name, problems: parsed.error.issues },
          'ignoring a saved site whose definition is no longer valid',
        );
        continue;
      }
      this.add(parsed.data, persisted, false);
    }
    await this.save();
    await this.pruneDeployments();
    for (const site of this.sites.values()) this.startInBackground(site);
  }

  /**
   * Starts a site's slots without waiting for warmup. A failed start is the instance's to report (a
   * startup log, a restart); anything that still throws is logged here, never left unhandled, which
   * would end Berth.
   */
  private startInBackground(site: Site): void {
    site
      .startAll()
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, site: site.name }, 'starting the site failed'),
      );
  }

  /** Removes the deployment folders no slot runs: superseded versions, and one a roll cut short by a crash unpacked. */
  private async pruneDeployments(): Promise<void> {
    for (const site of this.sites.values()) {
      const inUse = new Set([...site.slots.values()].map((g) => g.version.id));
      const removed = await pruneDeployments(this.deploymentsDir(site.name), inUse);
      if (removed.length > 0)
        this.options.logger.info({ site: site.name, removed }, 'removed deployment folders no slot uses');
    }
  }

  private deploymentsDir(site: string): string {
    return join(this.sitesDir, site, 'deployments');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sites.values()].map((s) => s.stopAll()));
  }

  /** Stops instances a previous run left behind (it was killed before it could stop them). */
  private async reapLeftovers(): Promise<void> {
    for (const { record, pids, escaped } of await this.records.reapLeftovers()) {
      const outside = escaped.length > 0 ? ` (${escaped.length} of them outside its process group)` : '';
      const message = `Stopped ${pids.length} process${pids.length > 1 ? 'es' : ''} (pids ${pids.join(', ')}) of instance ${record.instance}${outside}, left running by an earlier Berth process (pid ${record.supervisor.pid}) that ended without stopping them.`;
      this.options.logger.warn(
        { site: record.site, slot: record.slot, instance: record.instance, pids, escaped },
        message,
      );
      this.options.logSink.write({
        site: record.site,
        slot: record.slot,
        instance: record.instance,
        type: 'platform',
        level: 'warn',
        message,
      });
    }
  }

  /** Resolves when every running instance of every site is warm, or throws after `timeoutMs`. */
  async waitUntilReady(timeoutMs = 30_000, only?: string[]): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = [...this.sites.values()]
        .filter((s) => !only || only.includes(s.name))
        .flatMap((s) => [...s.slots.values()].map((group) => ({ site: s.name, group })))
        .filter(({ group: g }) => !g.stopped && g.routable().length < g.count);
      if (pending.length === 0) return;
      if (Date.now() > deadline)
        throw new SitesNotReadyError(
          timeoutMs,
          pending.map(({ site, group }) => ({ site, slot: group.slot })),
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private add(definition: SiteConfig, persisted: PersistedState, fromConfig: boolean): Site {
    const saved = persisted.sites[definition.name];
    const root = resolve(this.options.baseDir, definition.root ?? '.');
    const seeds = new Map<string, SlotSeed>();
    const seed = (
      slot: string,
      settings: Record<string, string>,
      count: number,
      slotRoot: string,
      settingsFromConfig: boolean,
    ): SlotSeed => {
      const s = saved?.slots[slot];
      return {
        version: s?.version ?? { id: 'initial', dir: slotRoot },
        // berth.yaml is the source of truth for the settings it names; run-time slots keep theirs.
        settings: settingsFromConfig ? settings : (s?.settings ?? settings),
        count: s?.count ?? count,
        stopped: s?.stopped ?? false,
      };
    };
    seeds.set(PRODUCTION, seed(PRODUCTION, definition.appSettings, definition.instances, root, fromConfig));
    for (const slot of definition.slots) {
      seeds.set(
        slot.name,
        seed(
          slot.name,
          slot.appSettings,
          slot.instances ?? definition.instances,
          slot.root ? resolve(this.options.baseDir, slot.root) : root,
          fromConfig,
        ),
      );
    }
    for (const [slot, s] of Object.entries(saved?.slots ?? {})) if (!seeds.has(slot)) seeds.set(slot, s);
    const site = new Site(definition, this.services, seeds, fromConfig);
    this.sites.set(definition.name, site);
    return site;
  }

  private save(): Promise<void> {
    const state: PersistedState = { sites: {} };
    for (const site of this.sites.values()) {
      state.sites[site.name] = {
        ...(site.fromConfig ? {} : { definition: site.definition }),
        slots: Object.fromEntries(
          [...site.slots.entries()].map(([slot, g]) => [
            slot,
            { version: g.version, count: g.count, stopped: g.stopped, settings: g.settings },
          ]),
        ),
      };
    }
    return this.state.write(state);
  }

  get(name: string): Site {
    const site = this.sites.get(name);
    if (!site) throw new HttpError(404, `no site named "${String(name).slice(0, 80)}"`);
    return site;
  }

  status(): SiteStatus[] {
    return [...this.sites.values()].map((s) => this.statusOf(s));
  }

  siteStatus(name: string): SiteStatus {
    return this.statusOf(this.get(name));
  }

  /** Creates and starts a site from a definition in the berth.yaml shape; refuses bad names and duplicates. */
  async createSite(input: unknown): Promise<SiteStatus> {
    checkSiteName((input as { name?: unknown } | null)?.name);
    const parsed = siteSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError(
        400,
        `invalid site definition: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
      );
    }
    if (this.sites.has(parsed.data.name))
      throw new HttpError(409, `a site named "${parsed.data.name}" already exists`);
    // A root that is not a folder here could never start: refuse now, not with a crash loop.
    const root = resolve(this.options.baseDir, parsed.data.root ?? '.');
    const info = await stat(root).catch(() => undefined);
    if (!info?.isDirectory())
      throw new HttpError(
        400,
        `site ${parsed.data.name}: root ${root} ${info ? 'is not a folder' : 'does not exist'} on the server`,
      );
    const site = this.add(parsed.data, { sites: {} }, false);
    await this.save();
    this.startInBackground(site);
    await this.sitesChanged();
    return this.siteStatus(site.name);
  }

  async deleteSite(name: string): Promise<void> {
    const site = this.get(name);
    if (site.fromConfig) throw new HttpError(409, `site "${name}" is defined in berth.yaml; remove it there`);
    this.sites.delete(name);
    await site.exclusive(() => site.stopAll());
    await this.save();
    await rm(this.deploymentsDir(name), { recursive: true, force: true });
    await this.sitesChanged();
  }

  async startSite(name: string, slot = PRODUCTION): Promise<SiteStatus> {
    const site = this.get(name);
    const group = site.slot(checkSlotName(slot));
    await site.exclusive(async () => {
      if (group.stopped) await group.start();
      await this.save();
    });
    return this.siteStatus(name);
  }

  async stopSite(name: string, slot = PRODUCTION): Promise<SiteStatus> {
    const site = this.get(name);
    const group = site.slot(checkSlotName(slot));
    await site.exclusive(async () => {
      await group.stop();
      await this.save();
    });
    return this.siteStatus(name);
  }

  /** Restarts without downtime, one instance at a time: each new one is warm before an old one leaves. */
  async restartSite(name: string, slot = PRODUCTION): Promise<SiteStatus> {
    const site = this.get(name);
    const group = site.slot(checkSlotName(slot));
    await site.exclusive(async () => {
      if (group.stopped) return group.start();
      try {
        return await group.restart();
      } catch (error) {
        if (error instanceof ReplaceFailed) throw new DeployFailed(name, slot, error, 'restart of');
        throw error;
      }
    });
    return this.siteStatus(name);
  }

  async scale(name: string, count: number, slot = PRODUCTION): Promise<SiteStatus> {
    if (!Number.isInteger(count) || count < 1 || count > 64)
      throw new HttpError(
        400,
        `instance count must be a whole number from 1 to 64, got ${JSON.stringify(count)}`,
      );
    const site = this.get(name);
    const group = site.slot(checkSlotName(slot));
    await site.exclusive(async () => {
      await group.scale(count);
      await this.save();
    });
    return this.siteStatus(name);
  }

  /**
   * Deploys a folder or archive to a slot: unpacks it and rolls the slot's instances over to it one at
   * a time. A package that cannot be unpacked changes nothing; a version whose instance fails to warm
   * stops the roll, which is rolled back, so the running version keeps serving.
   */
  async deploy(name: string, source: DeploySource, slot = PRODUCTION): Promise<DeployResult> {
    const site = this.get(name);
    const group = site.slot(checkSlotName(slot));
    const { maxUnpackedSize, maxPackageEntries } = site.definition;
    const version = await prepareVersion(this.deploymentsDir(name), source, {
      maxUnpackedSize,
      maxPackageEntries,
    });
    return site.exclusive(async () => {
      this.platform(site, slot, `Deploying version ${version.id} to slot ${slot}.`);
      let results: LaunchResult[];
      try {
        results = group.stopped
          ? ((group.version = version), await group.start())
          : await group.replace({ version });
      } catch (error) {
        // The unpacked folder goes unless an instance still runs from it (a rollback that failed).
        if (!group.runs(version.id))
          await rm(join(this.deploymentsDir(name), version.id), { recursive: true, force: true }).catch(
            () => undefined,
          );
        if (!(error instanceof ReplaceFailed)) throw error;
        this.platform(
          site,
          slot,
          `Deployment ${version.id} failed; ${error.stillNew > 0 ? `version ${group.version.id} could not be fully restored` : `version ${group.version.id} keeps serving`}. ${error.message}`,
          'error',
        );
        throw new DeployFailed(name, slot, error);
      }
      await this.save();
      this.platform(site, slot, `Deployment ${version.id} is live on slot ${slot}.`);
      return { site: name, slot, version: version.id, instances: results };
    });
  }

  async createSlot(name: string, slot: string, cloneSettingsFrom?: string): Promise<SiteStatus> {
    const site = this.get(name);
    checkSlotName(slot);
    await site.exclusive(async () => {
      const group = site.createSlot(slot, cloneSettingsFrom ? checkSlotName(cloneSettingsFrom) : undefined);
      await this.save();
      void group.start();
    });
    await this.sitesChanged();
    return this.siteStatus(name);
  }

  async deleteSlot(name: string, slot: string): Promise<SiteStatus> {
    const site = this.get(name);
    await site.exclusive(async () => {
      await site.deleteSlot(checkSlotName(slot));
      await this.save();
    });
    await this.sitesChanged();
    return this.siteStatus(name);
  }

  /** App Service's slot swap; `progress` hears each step. */
  async swap(
    name: string,
    source: string,
    target = PRODUCTION,
    progress: (step: string) => void = () => {},
  ): Promise<SiteStatus> {
    const site = this.get(name);
    checkSlotName(source);
    checkSlotName(target);
    await site.exclusive(async () => {
      const say = (step: string) => {
        this.platform(site, target, `Swap ${source} -> ${target}: ${step}`);
        progress(step);
      };
      try {
        await site.swap(source, target, say);
      } catch (error) {
        if (error instanceof ReplaceFailed) {
          throw new HttpError(
            422,
            `swap of ${source} into ${target} aborted before routing switched; ${error.stillNew > 0 ? `slot ${source} could not be fully restored` : 'nothing changed'}: ${error.message}`,
            {
              startupLog: error.result.startupLog,
              hints: error.result.hints,
            },
          );
        }
        throw error;
      } finally {
        await this.save();
      }
    });
    return this.siteStatus(name);
  }

  /** The site (and slot) serving a host: `<site>.localhost`, `<site>-<slot>.localhost`, or a configured host name. */
  matchHost(host: string): HostMatch | undefined {
    const name = host.toLowerCase();
    for (const site of this.sites.values())
      if (site.definition.hostNames.some((h) => h.toLowerCase() === name)) return { site };
    const label = name.endsWith('.localhost') ? name.slice(0, -'.localhost'.length) : undefined;
    if (!label || label.includes('.')) return undefined;
    const exact = this.sites.get(label);
    if (exact) return { site: exact };
    // `<site>-<slot>`: site names may hold hyphens, so try every split.
    for (let i = label.indexOf('-'); i > 0; i = label.indexOf('-', i + 1)) {
      const site = this.sites.get(label.slice(0, i));
      const slot = label.slice(i + 1);
      if (site?.slots.has(slot)) return { site, slot };
    }
    return undefined;
  }

  /** Instances of a site's slot that may take requests now. */
  routable(site: Site, slot = PRODUCTION): { group: InstanceGroup | undefined; instances: Instance[] } {
    const group = site.slots.get(slot);
    return { group, instances: group ? group.routable() : [] };
  }

  private platform(site: Site, slot: string, message: string, level: 'info' | 'error' = 'info'): void {
    this.options.logSink.write({ site: site.name, slot, instance: '', type: 'platform', level, message });
  }
}

export function createSiteManager(options: SiteManagerOptions): SiteManager {
  return new SiteManager(options);
}
