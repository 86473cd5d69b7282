import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { configSchema, type BerthConfig } from './schema.js';

/** A config that cannot be used: each problem names the key path and what is wrong. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: BerthConfig;
  /** The file it came from, or undefined when only defaults and environment were used. */
  file?: string;
  /** Relative paths in the config (dataDir, site roots, spec files) are relative to this folder. */
  baseDir: string;
}

const ENV_PREFIX = 'BERTH_';
/** Environment variables with this prefix that are not config overrides. */
const NOT_OVERRIDES = new Set([
  'BERTH_LOG_LEVEL_CLI',
  'BERTH_CONFIG',
  'BERTH_CONSOLE_USER',
  'BERTH_CONSOLE_PASSWORD',
]);

/**
 * Loads and validates berth.yaml. `BERTH_<KEY>__<KEY>...` environment variables override single
 * settings: segments are separated by `__`, each matches a key case-insensitively with `_` ignored
 * (BERTH_REGISTRY__MAX_MANIFEST_BYTES sets registry.maxManifestBytes, BERTH_SITES__0__INSTANCES
 * sets sites[0].instances), and values are read as YAML scalars (3, true, 5m, "text").
 */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const source = file ?? 'defaults';
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(file, [
        `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      ]);
    }
    const doc = parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0)
      throw new ConfigError(
        file,
        doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`),
      );
    raw = doc.toJS() ?? {};
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new ConfigError(file, ['the top level must be a mapping of settings']);
  }
  raw = applyEnvOverrides(raw as Record<string, unknown>, env, source);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(source, parsed.error.issues.map(formatIssue));
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  const config = parsed.data;
  config.dataDir = resolve(baseDir, config.dataDir);
  return { config, file, baseDir };
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length === 0 ? '(top level)' : issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return `${path === '(top level)' ? '' : path + ': '}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `${path}: ${issue.message}`;
}

function applyEnvOverrides(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  source: string,
): Record<string, unknown> {
  const result = structuredClone(raw);
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NOT_OVERRIDES.has(name) || value === undefined) continue;
    if (name === 'BERTH_LOG_LEVEL') continue; // read by the logger directly
    const segments = name.slice(ENV_PREFIX.length).split('__');
    let target: Record<string, unknown> = result;
    let known: z.ZodType | undefined = configSchema;
    for (const [i, segment] of segments.entries()) {
      const key = matchKey(segment, target, known);
      if (key === undefined) {
        problems.push(
          `${name}: no setting "${segments.slice(0, i + 1).join('__')}" (see docs/configuration.md)`,
        );
        break;
      }
      if (i === segments.length - 1) {
        target[key] = parseScalar(value);
        break;
      }
      known = childSchema(known, key);
      const next = target[key] ?? (kindOf(known) === 'array' ? [] : {});
      target[key] = next;
      target = next as Record<string, unknown>;
    }
  }
  if (problems.length > 0) throw new ConfigError(`${source} (environment)`, problems);
  return result;
}

function matchKey(
  segment: string,
  target: Record<string, unknown>,
  known: z.ZodType | undefined,
): string | undefined {
  if (/^\d+$/.test(segment) && Array.isArray(target)) return segment;
  const wanted = segment.replaceAll('_', '').toLowerCase();
  const shape = kindOf(known) === 'object' ? Object.keys((unwrap(known) as z.ZodObject).shape) : [];
  const candidates = [...Object.keys(target), ...shape];
  return candidates.find((key) => key.replaceAll('_', '').toLowerCase() === wanted);
}

/** Strips defaults, optionals and transforms to reach the schema that says what a value holds. */
function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (;;) {
    const def = current?._zod.def as { type?: string; innerType?: z.ZodType; in?: z.ZodType } | undefined;
    if (def?.innerType) current = def.innerType;
    else if (def?.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
}

function kindOf(schema: z.ZodType | undefined): string | undefined {
  return unwrap(schema)?._zod.def.type;
}

function childSchema(schema: z.ZodType | undefined, key: string): z.ZodType | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) return inner.shape[key] as z.ZodType | undefined;
  if (inner instanceof z.ZodArray) return inner.element as z.ZodType;
  return undefined;
}

function parseScalar(value: string): unknown {
  const doc = parseDocument(value);
  const parsed = doc.errors.length === 0 ? doc.toJS() : value;
  return parsed === null || typeof parsed === 'object' ? value : parsed;
}
