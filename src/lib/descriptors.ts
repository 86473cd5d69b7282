import { readdirSync, readFileSync } from 'node:fs';

/**
 * The process's limit on open descriptors (the soft RLIMIT_NOFILE), read from /proc/self/limits:
 * Node has no getrlimit, and raises the soft limit to the hard one at start, so this is what the
 * process can use. Undefined where /proc is not there (not Linux).
 */
export function openFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!line) return undefined;
    return line[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(line[1]);
  } catch {
    return undefined;
  }
}

/** Descriptors the process has open now (/proc/self/fd), or undefined where that is not known. */
export function openFileCount(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}
