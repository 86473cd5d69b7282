import { InvalidToolCall } from '../types.js';
import { encodeBody } from './body.js';
import type { OperationPlan } from './plan.js';
import { cookiePair, headerValue, pathValue, queryPairs } from './serialize.js';

export interface UpstreamRequest {
  origin: string;
  /** Path and query exactly as sent: already encoded, never re-parsed (a URL parser would collapse `%2E%2E`). */
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: Buffer | string;
}

/**
 * Builds the HTTP request for one call. The upstream URL's own path, when it has one, is the base;
 * otherwise the spec's server path (`/v2`) is.
 */
export async function buildRequest(
  plan: OperationPlan,
  upstream: URL,
  args: Record<string, unknown>,
): Promise<UpstreamRequest> {
  const base = upstream.pathname.replace(/\/+$/, '') || plan.basePath;
  let path = plan.pathTemplate;
  const query: string[] = [];
  const cookies: string[] = [];
  const headers: Record<string, string> = { accept: plan.accept };

  for (const param of plan.params) {
    // Own properties only: an argument named `constructor` must not find Object.prototype's.
    const value = own(args, param.arg);
    // null for an optional parameter means "leave it out" (models send it for arguments they skip).
    if (value === undefined || value === null) continue;
    switch (param.in) {
      case 'path': {
        const text = pathValue(param, value);
        if (text === '' || text === '%2E' || text === '%2E%2E') {
          throw new InvalidToolCall(`path parameter "${param.arg}" must not be empty, "." or ".."`);
        }
        path = path.split(`{${param.name}}`).join(text);
        break;
      }
      case 'query':
        query.push(...queryPairs(param, value));
        break;
      case 'header':
        headers[param.name.toLowerCase()] = headerValue(param, value);
        break;
      case 'cookie':
        cookies.push(cookiePair(param, value));
        break;
    }
  }
  const dotted = dotSegment(path);
  if (dotted !== undefined) {
    // label and matrix styles put literal dots and separators in the path, so an empty string, array
    // or object can still produce `.` or `..`, which a server or proxy would resolve upward.
    throw new InvalidToolCall(
      `the path arguments would produce the segment "${dotted}" in ${plan.pathTemplate}; give non-empty values`,
    );
  }
  if (/\{[^}]*\}/.test(path)) {
    // A path parameter that is declared in the template but not in `parameters`: nothing can fill it.
    throw new InvalidToolCall(
      `the operation's path ${plan.pathTemplate} has a parameter the arguments cannot fill`,
    );
  }
  if (cookies.length > 0) headers.cookie = cookies.join('; ');

  let body: Buffer | string | undefined;
  const bodyValue = plan.body ? own(args, plan.body.arg) : undefined;
  if (plan.body && bodyValue !== undefined && bodyValue !== null) {
    const encoded = await encodeBody(plan.body, bodyValue);
    body = encoded.body;
    headers['content-type'] = encoded.contentType;
  }
  const search = upstream.search && upstream.search !== '?' ? [upstream.search.slice(1)] : [];
  const queryString = [...search, ...query].join('&');
  return {
    origin: upstream.origin,
    path: `${base}${path.startsWith('/') ? '' : '/'}${path}${queryString ? `?${queryString}` : ''}`,
    method: plan.method,
    headers,
    body,
  };
}

export function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A `.` or `..` segment (also percent-encoded, which servers decode before resolving), if any. */
function dotSegment(path: string): string | undefined {
  for (const segment of path.split('/')) {
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') return segment;
  }
  return undefined;
}
