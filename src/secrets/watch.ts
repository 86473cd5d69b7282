import { watch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { SecretStore } from './store.js';

/**
 * Calls `changed(name)` (lower case) when a secret's file in the store changes: a new version from
 * `berth secret set` in another process, or a delete. Events for one name within `settleMs` are
 * one change (an editor or rename writes more than once). Returns the stop function.
 */
export async function watchSecrets(
  store: SecretStore,
  changed: (name: string) => void,
  settleMs = 200,
): Promise<() => void> {
  await mkdir(store.dir, { recursive: true, mode: 0o700 });
  const pending = new Map<string, NodeJS.Timeout>();
  const watcher = watch(store.dir, (_event, file) => {
    const name = file?.toString();
    if (!name?.endsWith('.json')) return;
    const secret = name.slice(0, -5);
    clearTimeout(pending.get(secret));
    pending.set(
      secret,
      setTimeout(() => {
        pending.delete(secret);
        changed(secret);
      }, settleMs),
    );
  });
  return () => {
    watcher.close();
    for (const timer of pending.values()) clearTimeout(timer);
  };
}
