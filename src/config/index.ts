export { loadConfig, ConfigError, type LoadedConfig } from './load.js';
export { configSchema, type BerthConfig } from './schema.js';
export { listenSchema, durationSchema, sizeSchema } from './common.js';
export type { RegistryConfig } from './registry.js';
export type { SiteConfig } from './sites.js';
export type { SiteMcpConfig } from './mcp.js';
export type { FrontdoorConfig } from './frontdoor.js';
export type { ConsoleConfig } from './console.js';
export type { LogsConfig } from './logs.js';
