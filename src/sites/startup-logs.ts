import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpError } from '../lib/problem.js';
import { checkSiteName, checkSlotName } from './names.js';
import type { StartupLogInfo, StartupLogSummary } from './types.js';

/**
 * Only names of this exact shape are ever joined to a folder path, so nothing such as `../x` or
 * `a/b` can reach outside the startup log folder.
 */
const FILE_NAME = /^(\d{4})_(\d{2})_(\d{2})_([a-z0-9-]{1,64})_(success|failure)\.log$/;

export function parseStartupLogName(
  name: string,
): { date: string; instance: string; outcome: 'success' | 'failure' } | undefined {
  const match = FILE_NAME.exec(name);
  if (!match) return undefined;
  return {
    date: `${match[1]}-${match[2]}-${match[3]}`,
    instance: match[4]!,
    outcome: match[5] as 'success' | 'failure',
  };
}

export interface StartupLogFilter {
  site?: string;
  slot?: string;
  instance?: string;
  outcome?: 'success' | 'failure';
}

/** Where a site's startup logs are: `<sitesDir>/<site>/startuplogs/<slot>/`. */
export class StartupLogs {
  constructor(private readonly sitesDir: string) {}

  folder(site: string, slot: string): string {
    return join(this.sitesDir, site, 'startuplogs', slot);
  }

  /**
   * Newest first. A `site` or `slot` filter is joined to a folder path, so it must be a site or slot
   * name (400 otherwise): `site=../../x&slot=../../y` would reach any folder. The folders listed are
   * held to the same grammar.
   */
  async list(filter: StartupLogFilter = {}): Promise<StartupLogInfo[]> {
    if (filter.site !== undefined) checkSiteName(filter.site);
    if (filter.slot !== undefined) checkSlotName(filter.slot);
    const sites = filter.site ? [filter.site] : (await dirs(this.sitesDir)).filter(isName(checkSiteName));
    const found: StartupLogInfo[] = [];
    for (const site of sites) {
      const slots = filter.slot
        ? [filter.slot]
        : (await dirs(join(this.sitesDir, site, 'startuplogs'))).filter(isName(checkSlotName));
      for (const slot of slots) {
        const folder = this.folder(site, slot);
        for (const name of await readdir(folder).catch(() => [] as string[])) {
          const parsed = parseStartupLogName(name);
          if (!parsed) continue;
          if (filter.instance && parsed.instance !== filter.instance) continue;
          if (filter.outcome && parsed.outcome !== filter.outcome) continue;
          const info = await stat(join(folder, name)).catch(() => undefined);
          if (!info) continue;
          found.push({
            name,
            site,
            slot,
            instance: parsed.instance,
            date: parsed.date,
            outcome: parsed.outcome,
            size: info.size,
            modified: info.mtime.toISOString(),
          });
        }
      }
    }
    return found.sort(
      (a, b) =>
        b.date.localeCompare(a.date) || b.modified.localeCompare(a.modified) || a.name.localeCompare(b.name),
    );
  }

  /** App Service's `show` without a name: the latest failure of the most recent date, else the latest log. */
  async latest(filter: StartupLogFilter = {}): Promise<StartupLogInfo | undefined> {
    const all = await this.list(filter);
    const newestDate = all[0]?.date;
    return all.find((l) => l.date === newestDate && l.outcome === 'failure') ?? all[0];
  }

  /** Reads one log by name; 400 for a name that is not a startup log name, 404 when there is none. */
  async read(
    name: string,
    filter: Pick<StartupLogFilter, 'site' | 'slot'> = {},
  ): Promise<{ info: StartupLogInfo; content: string }> {
    if (!parseStartupLogName(name))
      throw new HttpError(400, 'Invalid startup log filename.', { filename: name.slice(0, 200) });
    const match = (await this.list(filter)).find((l) => l.name === name);
    if (!match) throw new HttpError(404, `No startup log named ${name}.`);
    return { info: match, content: await readFile(join(this.folder(match.site, match.slot), name), 'utf8') };
  }

  async summary(filter: StartupLogFilter = {}): Promise<StartupLogSummary[]> {
    const bySlot = new Map<string, StartupLogSummary>();
    for (const log of await this.list(filter)) {
      const key = `${log.site}/${log.slot}`;
      const entry = bySlot.get(key) ?? {
        site: log.site,
        slot: log.slot,
        total: 0,
        failures: 0,
        successes: 0,
      };
      entry.total++;
      if (log.outcome === 'failure') entry.failures++;
      else entry.successes++;
      entry.latest ??= log;
      if (log.outcome === 'failure') entry.latestFailure ??= log;
      bySlot.set(key, entry);
    }
    return [...bySlot.values()];
  }
}

const isName = (check: (name: string) => string) => (name: string) => {
  try {
    check(name);
    return true;
  } catch {
    return false;
  }
};

async function dirs(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}
