import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode } from './constants.js';
import { RpcError, type JsonRpcNotification, type JsonRpcRequest } from './jsonrpc.js';

/** One header's value, trimmed (the spec requires tolerating surrounding whitespace); repeats joined. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  return (Array.isArray(raw) ? raw.join(',') : raw).trim();
}

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;

/** Header values outside safe ASCII travel as `=?base64?…?=`; compare the decoded text. */
export function decodeHeaderValue(value: string): string {
  const match = SENTINEL.exec(value);
  return match?.[1] !== undefined ? Buffer.from(match[1], 'base64').toString('utf8') : value;
}

/** The body field Mcp-Name must mirror, per method (2026-07-28 Streamable HTTP). */
function nameFromBody(message: JsonRpcRequest | JsonRpcNotification): string | undefined {
  const params = message.params ?? {};
  switch (message.method) {
    case 'tools/call':
    case 'prompts/get':
      return typeof params.name === 'string' ? params.name : undefined;
    case 'resources/read':
      return typeof params.uri === 'string' ? params.uri : undefined;
    default:
      return undefined;
  }
}

function mismatch(header: string, got: string | undefined, expected: string): RpcError {
  const message =
    got === undefined
      ? `Header mismatch: ${header} header is required and must be '${expected}'`
      : `Header mismatch: ${header} header value '${got}' does not match body value '${expected}'`;
  return new RpcError(ErrorCode.HeaderMismatch, message, 400, { header, expected, received: got ?? null });
}

/**
 * The modern era's routing headers must agree with the body, so a gateway that routes or throttles
 * on them sees the truth: MCP-Protocol-Version = `_meta` version, Mcp-Method = method, Mcp-Name =
 * the tool/prompt name or resource uri. Any disagreement is -32020 with HTTP 400.
 */
export function checkModernHeaders(
  headers: IncomingHttpHeaders,
  message: JsonRpcRequest | JsonRpcNotification,
  metaVersion: string,
): void {
  const version = headerValue(headers, 'mcp-protocol-version');
  if (version !== metaVersion) throw mismatch('MCP-Protocol-Version', version, metaVersion);
  const method = headerValue(headers, 'mcp-method');
  if (method !== message.method) throw mismatch('Mcp-Method', method, message.method);
  const name = nameFromBody(message);
  if (name !== undefined) {
    const raw = headerValue(headers, 'mcp-name');
    const decoded = raw === undefined ? undefined : decodeHeaderValue(raw);
    if (decoded !== name) throw mismatch('Mcp-Name', raw, name);
  }
}
