import type { BerthConfig } from './schema.js';

const REDACTED = '[redacted]';

/** A URL's password replaced (a PostgreSQL URL carries one); anything unparsable is redacted whole. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = REDACTED;
    return parsed.href;
  } catch {
    return REDACTED;
  }
}

/**
 * The config as `berth config validate` shows it: every value that may be a secret replaced (the
 * storage connection string, a password in the metadata URL, OTLP header values, app setting values:
 * names only, as the startup logs do).
 */
export function redactedConfig(config: BerthConfig): BerthConfig {
  const copy = structuredClone(config);
  const { azure } = copy.registry.storage;
  if (azure.connectionString) azure.connectionString = REDACTED;
  if (copy.registry.metadata.url) copy.registry.metadata.url = withoutPassword(copy.registry.metadata.url);
  const otlp = copy.logs.otlp;
  if (otlp) for (const name of Object.keys(otlp.headers)) otlp.headers[name] = REDACTED;
  for (const site of copy.sites) {
    for (const name of Object.keys(site.appSettings)) site.appSettings[name] = REDACTED;
    for (const slot of site.slots)
      for (const name of Object.keys(slot.appSettings)) slot.appSettings[name] = REDACTED;
  }
  return copy;
}
