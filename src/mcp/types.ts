/**
 * The contract between OpenAPI conversion and invocation (mcp/openapi, mcp/invoke) and the protocol
 * layer (mcp/protocol). The protocol layer only ever sees a ToolCatalog.
 */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export interface ToolDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown> & { type: 'object' };
  outputSchema?: Record<string, unknown> & { type: 'object' };
  annotations?: ToolAnnotations;
}

/** MCP content blocks a call may return (the subset this server produces). */
export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; data: string; mimeType: string }
  | { type: 'audio'; data: string; mimeType: string }
  | {
      type: 'resource';
      resource:
        { uri: string; mimeType: string; blob: string } | { uri: string; mimeType: string; text: string };
    };

export interface CallToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface CallContext {
  /** Aborted when the MCP client cancels or disconnects; the upstream request must stop. */
  signal: AbortSignal;
  /** W3C traceparent/tracestate to continue the caller's trace upstream. */
  traceparent?: string;
  tracestate?: string;
  /**
   * The caller's bearer token. Forwarded only when the upstream is the site itself (same-origin
   * built-in MCP); never to any other host.
   */
  callerAuthorization?: string;
  /**
   * Who is calling, when authentication sits in front (the principal id the front door vouches
   * for). Handle-based tools bind their handles to it.
   */
  caller?: string;
  /** Reports progress to the client when it asked for it (a progressToken); a no-op otherwise. */
  progress?: (progress: number, total?: number, message?: string) => void;
  /** Sends a log message to the client (notifications/message) while the call runs. */
  log?: (level: 'debug' | 'info' | 'notice' | 'warning' | 'error', data: unknown) => void;
  /** What the client declared it can do (2026-07-28 `_meta`, or the 2025 initialize capabilities). */
  clientCapabilities?: Record<string, unknown>;
}

/** Thrown by `call` for problems the MCP client caused (unknown tool, bad arguments): JSON-RPC -32602. */
export class InvalidToolCall extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidToolCall';
  }
}

/**
 * Thrown by `call` when the tool needs a client capability the client did not declare: JSON-RPC
 * -32021 with `data.requiredCapabilities`, e.g. `{ sampling: {} }`.
 */
export class MissingClientCapability extends Error {
  constructor(readonly requiredCapabilities: Record<string, unknown>) {
    super(
      `this tool needs client capabilities the client did not declare: ${Object.keys(requiredCapabilities).join(', ')}`,
    );
    this.name = 'MissingClientCapability';
  }
}

/** Why a caller may not call a tool: the HTTP status, headers (a scope challenge) and message to answer with. */
export interface ToolRefusal {
  status: number;
  message: string;
  headers: Record<string, string>;
}

/**
 * What one caller may call, decided by whatever authenticated the request (the front door's
 * per-tool scopes): tools/list shows only tools without a refusal, tools/call of one answers it.
 */
export interface ToolAccess {
  refusal(tool: string): ToolRefusal | undefined;
}

export interface ToolCatalog {
  /** Deterministic order. */
  tools: ToolDefinition[];
  /** SHA-256 of the canonical JSON of `tools`: clients are told the list changed only when it changes. */
  hash: string;
  call(name: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult>;
}
