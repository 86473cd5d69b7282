import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Keeps a well-formed incoming X-Request-Id (so a trace spans hops); otherwise makes one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function copyWithout(headers: IncomingHttpHeaders, keepUpgrade: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === 'upgrade' || name === 'connection'))) continue;
    out[name] = headers[name];
  }
  const connection = headers.connection;
  if (connection && connection.indexOf(',') !== -1 || (connection && !keepUpgrade && !/^\s*(keep-alive|close)\s*$/i.test(connection))) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && !(keepUpgrade && name === 'upgrade')) delete out[name];
    }
  }
  return out;
}

/** What the instance receives: the client's headers minus hop-by-hop ones, plus X-Forwarded-* and the request id. */
export function upstreamHeaders(req: IncomingMessage, requestId: string, upgrade = false): OutgoingHttpHeaders {
  const out = copyWithout(req.headers, upgrade);
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${prior}, ${remote}` : remote;
  out['x-forwarded-proto'] = 'http';
  out['x-forwarded-host'] = req.headers.host ?? '';
  out['x-request-id'] = requestId;
  return out;
}

/** What the client receives: the instance's headers minus hop-by-hop ones. */
export function downstreamHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return copyWithout(headers, false);
}
