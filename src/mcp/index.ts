/** The MCP part: what the front door, `berth up` and the CLI may use. */
export { createMcpHandler, LOOPBACK_HOSTS } from './handler.js';
export type { McpHandler, McpHandlerOptions } from './handler.js';
export { startMcpServer } from './serve.js';
export type { McpServerOptions, RunningMcpServer } from './serve.js';
export { defineCatalog, hashTools } from './catalog.js';
export type { ToolImplementation } from './catalog.js';
export { conformanceCatalog } from './fixture/conformance.js';
export { SessionSigner } from './protocol/session.js';
export * from './types.js';
export { buildCatalog, loadSpec, SpecError, strictHostReport } from './openapi/index.js';
export type { CatalogOptions, OpenApiCatalog, StrictHostReport } from './openapi/index.js';
export { parseCredentialFlag, resolveCredentials, CREDENTIAL_REFERENCE, SCHEME_NAME } from './credentials.js';
export type { SecretResolver } from './credentials.js';
export { decodeHeaderValue } from './protocol/headers.js';
