import { LOG_LEVELS, type LogLevel } from './types.js';

/** Severity order as a number, stored in the database so "level ≥ warn" is a range. */
export const LEVEL_RANK: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

export function levelOfRank(rank: number): LogLevel {
  return LOG_LEVELS[Math.min(Math.max(Math.round(rank / 10) - 1, 0), LOG_LEVELS.length - 1)]!;
}

/** Words frameworks use for levels (pino, Serilog, .NET's `fail:`/`crit:`, Python, Go, syslog). */
const ALIASES: Record<string, LogLevel> = {
  trace: 'trace',
  trc: 'trace',
  trce: 'trace',
  verbose: 'trace',
  ver: 'trace',
  vbs: 'trace',
  vrb: 'trace',
  debug: 'debug',
  dbg: 'debug',
  dbug: 'debug',
  info: 'info',
  inf: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  warn: 'warn',
  wrn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  eror: 'error',
  fail: 'error',
  fatal: 'fatal',
  ftl: 'fatal',
  crit: 'fatal',
  critical: 'fatal',
  panic: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  alert: 'fatal',
  sev: 'fatal',
  severe: 'fatal',
};

/** Words trusted in free text; short or common ones (`ver`, `sev`, `alert`) only count inside JSON. */
const WORD =
  'trace|trce|verbose|debug|dbg|dbug|info|inf|information|warn|wrn|warning|error|err|fail|fatal|crit|critical|panic';

export function normalizeLevel(value: unknown): LogLevel | undefined {
  if (typeof value === 'number') {
    // pino/bunyan numbers: 10 trace … 60 fatal.
    return value >= 10 && value <= 60 ? levelOfRank(Math.floor(value / 10) * 10) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const direct = ALIASES[value.trim().toLowerCase()];
  if (direct) return direct;
  return /^\d+$/.test(value.trim()) ? normalizeLevel(Number(value)) : undefined;
}

/** JSON keys that carry the level, most common first (Dozzle's set plus a few). */
const JSON_KEYS = [
  'level',
  '@l',
  'severity',
  'log.level',
  'lvl',
  'loglevel',
  'levelname',
  '@level',
  'severityText',
];

function levelFromJson(message: string): LogLevel | undefined {
  if (message.length > 65_536 || !message.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  for (const key of JSON_KEYS) {
    const level = normalizeLevel(record[key]);
    if (level) return level;
  }
  const nested = record.log;
  if (typeof nested === 'object' && nested !== null)
    return normalizeLevel((nested as Record<string, unknown>).level);
  return undefined;
}

/** A leading timestamp, so `2026-11-26T12:00:00Z ERROR x` counts as starting with its level. */
const LEADING_TIME = /^\[?\d{4}-\d\d-\d\d[T ][\d:.,]+(?:Z|[+-]\d\d:?\d\d)?\]?\s+/;

/**
 * Tiers of text patterns, most confident first; the first tier that finds exactly one level wins, and
 * a tier that finds two different levels gives up (Dozzle's "unknown" rule), falling to the next.
 */
const TEXT_TIERS: RegExp[] = [
  // `ERROR something`, `warn: x`, `[INFO] x`, `INFO:root:x`, .NET's `fail: Program[0]`.
  new RegExp(`^[[(<]?(${WORD})\\b[\\])>]?(?=[\\s:|\\-[]|$)`, 'i'),
  // `… [ERROR] …`, `… <warn> …`, `… (debug) …`
  new RegExp(`[[(<](${WORD})[\\])>]`, 'gi'),
  // logfmt and friends: `level=error`, `level: warn`, `severity="info"`
  new RegExp(`\\b(?:level|lvl|severity)\\s*[=:]\\s*"?(${WORD})\\b`, 'gi'),
  // A bare upper-case word: `… ERROR …` (upper case only, so "no errors found" stays info).
  /\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL|PANIC)\b/g,
];

/** klog (Kubernetes, Go): `E0806 12:34:56.789012 ...`. */
const KLOG = /^([IWEF])\d{4} \d\d:\d\d:\d\d/;
const KLOG_LEVELS: Record<string, LogLevel> = { I: 'info', W: 'warn', E: 'error', F: 'fatal' };

/** Cheap pre-check: most lines name no level at all, and then no tier needs to run. */
const ANY_LEVEL_WORD = /tra?ce|verbose|de?bu?g|inf|wa?rn|err|eror|fail|fatal|crit|panic/i;

function levelFromText(message: string): LogLevel | undefined {
  if (!ANY_LEVEL_WORD.test(message.length > 600 ? message.slice(0, 600) : message)) return undefined;
  const klog = KLOG.exec(message);
  if (klog) return KLOG_LEVELS[klog[1]!];
  const text = message.replace(LEADING_TIME, '').slice(0, 512);
  for (const tier of TEXT_TIERS) {
    const found = new Set<LogLevel>();
    if (tier.global) {
      tier.lastIndex = 0;
      for (const match of text.matchAll(tier)) {
        const level = ALIASES[match[1]!.toLowerCase()];
        if (level) found.add(level);
      }
    } else {
      const match = tier.exec(text);
      const level = match ? ALIASES[match[1]!.toLowerCase()] : undefined;
      if (level) found.add(level);
    }
    if (found.size === 1) return [...found][0];
  }
  return undefined;
}

/**
 * The level of a line with none given: from JSON keys, then from the text; otherwise stderr lines are
 * errors and stdout lines info (as App Service's console logs classify them).
 */
export function detectLevel(message: string, stream?: 'stdout' | 'stderr'): LogLevel {
  return levelFromJson(message) ?? levelFromText(message) ?? (stream === 'stderr' ? 'error' : 'info');
}
