/**
 * What other parts (console, frontdoor wiring in `berth up`) may know about running sites. The
 * console's JSON API returns these shapes as they are.
 */
/**
 * `warming`: started, not yet answering the warmup probe (not in rotation); `draining`: out of the
 * rotation, finishing in-flight requests before it stops (a roll or scale-in).
 */
export type InstanceState =
  | 'starting'
  | 'warming'
  | 'running'
  | 'unhealthy'
  | 'draining'
  | 'stopping'
  | 'stopped'
  | 'crashed'
  | 'backoff';

export interface InstanceStatus {
  id: string;
  state: InstanceState;
  port: number;
  pid?: number;
  /** ISO time the current process started. */
  startedAt?: string;
  restarts: number;
  /** Version (deployment id) the instance runs. */
  version?: string;
}

export interface SlotStatus {
  name: string; // 'production' or a slot name such as 'staging'
  state: 'running' | 'stopped';
  /** Every process of the slot: those in rotation, a roll's new instance still warming, old ones draining. */
  instances: InstanceStatus[];
  /** The slot's own front door URL (`http://127.0.0.1:<port>/`): no Host header or resolver needed. */
  url?: string;
}

export interface SiteStatus {
  name: string;
  hostNames: string[];
  /** URL of the site through the front door. */
  url: string;
  slots: SlotStatus[];
}

/** A startup log file: `YYYY_MM_DD_<instance>_{success|failure}.log`. */
export interface StartupLogInfo {
  name: string;
  site: string;
  slot: string;
  instance: string;
  date: string; // YYYY-MM-DD
  outcome: 'success' | 'failure';
  size: number;
  modified: string; // ISO time
}

export interface StartupLogSummary {
  site: string;
  slot: string;
  total: number;
  failures: number;
  successes: number;
  latest?: StartupLogInfo;
  latestFailure?: StartupLogInfo;
}
