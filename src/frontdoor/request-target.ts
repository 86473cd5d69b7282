import type { IncomingMessage } from 'node:http';
import { equalsLower } from './http-chars.js';

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)([^#]*)$/i;
/** host[:port]: a reg-name or an IP literal in brackets (RFC 3986 §3.2.2), no userinfo. */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]*)?$/;

/**
 * Rewrites an absolute-form request target (`GET http://api.localhost/x HTTP/1.1`, which proxies
 * must accept, RFC 9112 §3.2.2) to origin form before routing: the target's authority replaces the
 * Host header, in `rawHeaders` (what the router and the proxy read) and `headers`. Returns why the
 * target is refused (400), or undefined when it is in origin form (or `*`) or was rewritten.
 */
export function toOriginForm(req: IncomingMessage): string | undefined {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 47 /* / */ || url === '*') return undefined;
  const match = ABSOLUTE_FORM.exec(url);
  if (!match) return 'the request target is neither a path nor an absolute http or https URL';
  const authority = match[1]!;
  if (!AUTHORITY.test(authority)) return 'the absolute request target needs a host (and no user information)';
  const rest = match[2]!;
  req.url = rest === '' ? '/' : rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest;
  const raw = req.rawHeaders;
  let replaced = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && equalsLower(name, 'host')) {
      raw[i + 1] = authority;
      replaced = true;
    }
  }
  if (!replaced) raw.push('Host', authority);
  req.headers.host = authority;
  return undefined;
}
