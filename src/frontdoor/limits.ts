import { openFileLimit } from '../lib/descriptors.js';

/** The default cap stops here however many descriptors there are (each connection costs memory too). */
const DEFAULT_CEILING = 16_384;
/** When the limit cannot be read (not Linux): what most systems give a process. */
const ASSUMED_LIMIT = 1024;

export interface ConnectionCap {
  /** Client connections at once, and (apart from them) sockets to instances: frontdoor.maxConnections in force. */
  max: number;
  /** The descriptor limit it was derived from. */
  limit: number;
  /** Descriptors left to the rest of the process (registry, console, logs, site processes' pipes). */
  reserve: number;
  /** A configured maxConnections was above what the limit allows, and was lowered. */
  lowered: boolean;
}

/**
 * How many connections the front door may hold so that a flood on it cannot take the descriptors
 * the registry, the console and the log store need (HAProxy derives its maxconn from `ulimit -n`
 * the same way). Each proxied connection costs two descriptors (client and instance), so the cap is
 * half of what is left after a reserve: a quarter of the limit, at least 128 (`berth up` with two
 * instances holds about 60 descriptors idle) and at most 4,096.
 */
export function connectionCap(
  configured: number | undefined,
  limit = openFileLimit() ?? ASSUMED_LIMIT,
): ConnectionCap {
  const reserve = Math.min(4096, Math.max(128, Math.floor(limit / 4)));
  const allowed = Math.max(1, Math.floor((limit - reserve) / 2));
  if (configured === undefined)
    return { max: Math.min(allowed, DEFAULT_CEILING), limit, reserve, lowered: false };
  return { max: Math.min(configured, allowed), limit, reserve, lowered: configured > allowed };
}
