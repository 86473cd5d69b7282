import type { SourceRow } from './sqlite-schema.js';
import type { LogFilter, LogSource, LogType } from './types.js';

/**
 * The source dictionary on the main thread: each (site, slot, instance, type) gets a small integer id
 * the first time it writes, so a stored line carries one integer instead of four strings. The main
 * thread hands out ids (it sees each line first); the writer thread stores new ones with the batch
 * that first uses them.
 */
export class SourceRegistry {
  private readonly byId = new Map<number, SourceRow>();
  /** site → slot → instance → [application id, platform id]; nested so a lookup builds no key string. */
  private readonly tree = new Map<string, Map<string, Map<string, [number, number]>>>();
  private nextId = 1;
  /** Sources created since the last `takeNew()`, for the writer. */
  private fresh: SourceRow[] = [];

  constructor(rows: SourceRow[]) {
    for (const row of rows) this.remember(row);
  }

  idOf(site: string, slot: string, instance: string, type: LogType): number {
    const pair = this.tree.get(site)?.get(slot)?.get(instance);
    const known = pair?.[type === 'platform' ? 1 : 0];
    if (known) return known;
    const row: SourceRow = { id: this.nextId, site, slot, instance, type };
    this.remember(row);
    this.fresh.push(row);
    return row.id;
  }

  get(id: number): SourceRow | undefined {
    return this.byId.get(id);
  }

  list(): LogSource[] {
    return [...this.byId.values()].map(({ site, slot, instance, type }) => ({ site, slot, instance, type }));
  }

  all(): SourceRow[] {
    return [...this.byId.values()];
  }

  /** Ids of the sources a filter's site/slot/instance/type allow. */
  matching(filter: LogFilter): number[] {
    return [...this.byId.values()]
      .filter(
        (s) =>
          (filter.site === undefined || s.site === filter.site) &&
          (filter.slot === undefined || s.slot === filter.slot) &&
          (filter.instance === undefined || s.instance === filter.instance) &&
          (filter.type === undefined || s.type === filter.type),
      )
      .map((s) => s.id);
  }

  takeNew(): SourceRow[] {
    const fresh = this.fresh;
    this.fresh = [];
    return fresh;
  }

  private remember(row: SourceRow): void {
    this.byId.set(row.id, row);
    this.nextId = Math.max(this.nextId, row.id + 1);
    let slots = this.tree.get(row.site);
    if (!slots) this.tree.set(row.site, (slots = new Map()));
    let instances = slots.get(row.slot);
    if (!instances) slots.set(row.slot, (instances = new Map()));
    let pair = instances.get(row.instance);
    if (!pair) instances.set(row.instance, (pair = [0, 0]));
    pair[row.type === 'platform' ? 1 : 0] = row.id;
  }
}
