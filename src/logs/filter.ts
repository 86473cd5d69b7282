import { LEVEL_RANK } from './levels.js';
import { LogQueryError } from './query-error.js';
import { compileRegex, type LineRegex } from './regex.js';
import { matchesSearch, parseSearch, type SearchTerm } from './search-text.js';
import { LOG_LEVELS, type LogEntry, type LogFilter, type LogLevel, type LogQuery } from './types.js';

/** A filter checked once and turned into what both the live stream and the store need. */
export interface CompiledFilter {
  filter: LogFilter;
  terms: SearchTerm[];
  regex?: LineRegex;
  minRank: number;
  matches(entry: LogEntry): boolean;
}

export function compileFilter(filter: LogFilter): CompiledFilter {
  const terms = filter.q ? parseSearch(filter.q) : [];
  const regex = filter.regex ? compileRegex(filter.regex) : undefined;
  const minRank = filter.level ? LEVEL_RANK[filter.level] : 0;
  // A search with no letters or digits (say "/") is matched as a plain substring instead.
  const substring = filter.q && terms.length === 0 ? filter.q.toLowerCase() : undefined;
  return {
    filter,
    terms,
    regex,
    minRank,
    matches(entry) {
      if (filter.site !== undefined && entry.site !== filter.site) return false;
      if (filter.slot !== undefined && entry.slot !== filter.slot) return false;
      if (filter.instance !== undefined && entry.instance !== filter.instance) return false;
      if (filter.type !== undefined && entry.type !== filter.type) return false;
      if (minRank > 0 && LEVEL_RANK[entry.level] < minRank) return false;
      if (filter.from !== undefined && entry.time < filter.from) return false;
      if (filter.to !== undefined && entry.time >= filter.to) return false;
      if (substring !== undefined && !entry.message.toLowerCase().includes(substring)) return false;
      if (terms.length > 0 && !matchesSearch(terms, entry.message)) return false;
      if (regex && !regex.test(entry.message)) return false;
      return true;
    },
  };
}

type Params = Record<string, unknown>;

function text(params: Params, key: string): string | undefined {
  const value = params[key];
  const one = Array.isArray(value) ? value[value.length - 1] : value;
  if (one === undefined || one === null || one === '') return undefined;
  return String(one);
}

/** `2026-11-26T12:00:00Z`, or milliseconds since the epoch. */
function time(params: Params, key: string): number | undefined {
  const value = text(params, key);
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms))
    throw new LogQueryError(
      `${key}: expected an ISO 8601 time or milliseconds since the epoch, got "${value}"`,
    );
  return ms;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `since=15m`: the last 15 minutes. */
function since(params: Params): number | undefined {
  const value = text(params, 'since');
  if (value === undefined) return undefined;
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  if (!match) throw new LogQueryError(`since: expected a duration such as 15m, 1h or 1d, got "${value}"`);
  return Date.now() - Number(match[1]) * UNITS[match[2]!]!;
}

/** Reads a filter from URL query parameters, refusing anything malformed with a specific message. */
export function filterFromParams(params: Params): LogFilter {
  const filter: LogFilter = {};
  const from = time(params, 'from') ?? since(params);
  const to = time(params, 'to');
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
  if (from !== undefined && to !== undefined && from >= to)
    throw new LogQueryError('from: must be before to');
  for (const key of ['site', 'slot', 'instance', 'q', 'regex'] as const) {
    const value = text(params, key);
    if (value !== undefined) filter[key] = value;
  }
  const type = text(params, 'type');
  if (type !== undefined) {
    if (type !== 'application' && type !== 'platform')
      throw new LogQueryError(`type: expected application or platform, got "${type}"`);
    filter.type = type;
  }
  const level = text(params, 'level')?.toLowerCase();
  if (level !== undefined) {
    if (!LOG_LEVELS.includes(level as LogLevel))
      throw new LogQueryError(`level: expected one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
    filter.level = level as LogLevel;
  }
  if (filter.regex !== undefined) compileRegex(filter.regex);
  return filter;
}

export function queryFromParams(params: Params): LogQuery {
  const query: LogQuery = filterFromParams(params);
  const limit = text(params, 'limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000)
      throw new LogQueryError(`limit: expected a whole number from 1 to 1000, got "${limit}"`);
    query.limit = n;
  }
  const order = text(params, 'order');
  if (order !== undefined) {
    if (order !== 'asc' && order !== 'desc')
      throw new LogQueryError(`order: expected asc or desc, got "${order}"`);
    query.order = order;
  }
  const cursor = text(params, 'cursor');
  if (cursor !== undefined) query.cursor = cursor;
  return query;
}
