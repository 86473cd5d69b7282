/** Protocol revisions this endpoint serves, newest first, and the `_meta` keys of the modern era. */
export const MODERN_VERSIONS = ['2026-07-28'] as const;
/**
 * 2025-03-26 is not offered: its rules include JSON-RPC batches, which this endpoint does not accept.
 * A client asking for it is answered with 2025-11-25 (initialize negotiation), which current clients
 * of that era also speak.
 */
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18'] as const;
export const SUPPORTED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...LEGACY_VERSIONS];
export const LATEST_LEGACY_VERSION = LEGACY_VERSIONS[0];

export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

/** A version string sorts by date, so "is it modern" is a string comparison (the SDK does the same). */
export function isModernVersion(version: string): boolean {
  return version >= '2026-07-28';
}

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Legacy era: the session id is unknown, expired or forged (the v1 SDK's code). */
  SessionNotFound: -32001,
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;
