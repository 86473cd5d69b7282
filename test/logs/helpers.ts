import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logsSchema } from '../../src/config/logs.js';
import { createLogStore, type EmbeddedLogStore, type LogInput } from '../../src/logs/index.js';

/** A log store in a fresh temporary folder; `cleanup` closes it and removes the folder. */
export function tempStore(config: Record<string, unknown> = {}): {
  store: EmbeddedLogStore;
  dir: string;
  cleanup(): Promise<void>;
} {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
  const store = createLogStore({ dataDir: dir, config: logsSchema.parse(config) });
  return {
    store,
    dir,
    cleanup: async () => {
      try {
        await store.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export function line(message: string, extra: Partial<LogInput> = {}): LogInput {
  return { site: 'api', slot: 'production', instance: 'i1', type: 'application', message, ...extra };
}
