import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../lib/logger.js';
import type { Version } from './group.js';

export interface PersistedSlot {
  version: Version;
  count: number;
  stopped: boolean;
  settings: Record<string, string>;
}

export interface PersistedSite {
  /** Only for sites created at run time; berth.yaml defines the others. */
  definition?: unknown;
  slots: Record<string, PersistedSlot>;
}

export interface PersistedState {
  sites: Record<string, PersistedSite>;
}

/**
 * `<dataDir>/sites/state.json`: what changed at run time (created sites and slots, deployed
 * versions, scale, stopped slots) so it survives a restart. Written whole to a temp file and renamed,
 * so a crash mid-write leaves the previous state. Mode 0600: it holds app setting values.
 */
export class StateFile {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
  ) {}

  async read(): Promise<PersistedState> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as PersistedState;
      return parsed && typeof parsed.sites === 'object' ? parsed : { sites: {} };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.logger.warn({ err: error, path: this.path }, 'ignoring unreadable sites state');
      return { sites: {} };
    }
  }

  write(state: PersistedState): Promise<void> {
    const text = JSON.stringify(state, null, 2);
    this.writing = this.writing.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(`${this.path}.tmp`, text, { mode: 0o600 });
      await rename(`${this.path}.tmp`, this.path);
    });
    return this.writing;
  }
}
