import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from '../lib/logger.js';

export interface SpecWatcherOptions {
  /** A file path or an http(s) URL. */
  source: string;
  /** Called after a change is seen (debounced for files); it loads, rebuilds and swaps. */
  onChange: () => Promise<void>;
  /** How often a URL is polled (ms, default 30000); each poll is a conditional GET (ETag). */
  pollIntervalMs?: number;
  /** Quiet time after the last file event before reloading (ms, default 100): editors write in bursts. */
  debounceMs?: number;
  logger: Logger;
}

export interface SpecWatcher {
  close(): void;
}

/**
 * Watches a spec for changes. A file is watched through its directory, because editors and
 * deploy tools replace files by renaming a new one over the old (a watch on the file itself would
 * follow the old inode and go quiet). A URL is polled; the loader sends If-None-Match, so an
 * unchanged document costs a 304.
 */
export function watchSpec(options: SpecWatcherOptions): SpecWatcher {
  let running: Promise<void> | undefined;
  let again = false;
  const reload = () => {
    if (running) {
      again = true;
      return;
    }
    running = options
      .onChange()
      .catch((error: unknown) => options.logger.error({ err: error }, 'spec reload failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          reload();
        }
      });
  };

  if (/^https?:\/\//i.test(options.source)) {
    const timer = setInterval(reload, options.pollIntervalMs ?? 30_000);
    timer.unref();
    return { close: () => clearInterval(timer) };
  }

  const file = isAbsolute(options.source) ? options.source : resolve(options.source);
  const name = basename(file);
  // A Kubernetes ConfigMap volume updates by swapping a symlink: `spec.yaml` → `..data/spec.yaml`, and
  // `..data` is renamed to point at a new folder. The event names `..data`, not the spec, so any event
  // in the folder that changes where the spec resolves to is a change too.
  let target = resolvedPath(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed !== name) {
        const now = resolvedPath(file);
        if (now === target) return;
        target = now;
      }
      clearTimeout(timer);
      timer = setTimeout(reload, options.debounceMs ?? 100);
    });
    watcher.on('error', (error) =>
      options.logger.error({ err: error, file }, 'cannot watch the spec file; hot reload is off'),
    );
  } catch (error) {
    options.logger.error({ err: error, file }, 'cannot watch the spec file; hot reload is off');
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

/** Where a path resolves through its symlinks now (undefined while it does not exist). */
function resolvedPath(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}
