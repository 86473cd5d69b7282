/** What other parts may use from sites: the manager for `berth up`, the console API plugin, types. */
export {
  createSiteManager,
  SiteManager,
  DeployFailed,
  type SiteManagerOptions,
  type DeployResult,
  type HostMatch,
} from './manager.js';
export type { Site } from './site.js';
export type { Instance, Traffic } from './instance.js';
export type { InstanceGroup, Version } from './group.js';
export type { DeploySource } from './package.js';
export { StartupLogs, parseStartupLogName, type StartupLogFilter } from './startup-logs.js';
export { sitesApi, type SitesApiOptions } from './api.js';
export * from './types.js';
