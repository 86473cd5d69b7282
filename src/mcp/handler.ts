import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostNameOf } from '../lib/listen.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import type { ToolAccess, ToolCatalog } from './types.js';
import { ArgumentChecker } from './protocol/arguments.js';
import { BodyTooLarge, readBody } from './protocol/body.js';
import {
  ErrorCode,
  LATEST_LEGACY_VERSION,
  LEGACY_VERSIONS,
  META_CLIENT_CAPABILITIES,
  META_PROTOCOL_VERSION,
  MODERN_VERSIONS,
  SUPPORTED_VERSIONS,
  isModernVersion,
} from './protocol/constants.js';
import { checkModernHeaders, headerValue } from './protocol/headers.js';
import {
  RpcError,
  classifyMessage,
  errorMessage,
  isObject,
  notificationMessage,
  resultMessage,
  type JsonRpcRequest,
} from './protocol/jsonrpc.js';
import {
  initializeResult,
  runMethod,
  type CacheHints,
  type MethodEnvironment,
  type RequestScope,
  type ServerInfo,
} from './protocol/methods.js';
import { Reply, acceptsGzip } from './protocol/reply.js';
import { SessionSigner, type SessionClaims } from './protocol/session.js';
import { StreamHub } from './protocol/streams.js';

export interface McpHandlerOptions {
  /** The tools to serve; a function is asked on every request (for catalogs that change under it). */
  catalog: ToolCatalog | (() => ToolCatalog);
  /** When set, requests for any other path get 404; leave unset when the host already routed. */
  path?: string;
  serverInfo?: ServerInfo;
  /** Shown to clients as `instructions` (App Service's 256-character description). */
  description?: string;
  logger?: Logger;
  /**
   * HMAC key for legacy session ids. Instances that share it accept each other's sessions. Without
   * one a random per-process key is used, which is right for a single instance only.
   */
  handleSecret?: string | Buffer;
  /** Lifetime of a legacy session id (seconds, default 24 h). */
  sessionTtlSeconds?: number;
  /** Largest accepted POST body (bytes, default 4 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** Caching hints on list results (default 60 s, private: governance may filter tools per caller). */
  cache?: CacheHints;
  /**
   * Host header names (without port) this endpoint answers; others get 403. Set it when bound to
   * loopback so a DNS-rebinding page cannot reach the server. Unset: no Host check.
   */
  allowedHosts?: string[];
  /** Browser origins allowed to call; a request with any other Origin gets 403. Unset: same as allowedHosts. */
  allowedOrigins?: string[];
  /** SSE keep-alive comment interval on long-lived streams (ms, default 15000; 0 turns it off). */
  keepAliveMs?: number;
  /**
   * Tools per `tools/list` page (default 100: most APIs fit in one page; GitHub's 1,223 take 13,
   * Microsoft Graph's 11,422 take 115; smaller pages keep the server's peak memory down). Clients
   * follow `nextCursor`.
   */
  pageSize?: number;
  /** Who is calling, as vouched for by whatever authenticated the request (default: X-MS-CLIENT-PRINCIPAL-ID). */
  callerFrom?: (req: IncomingMessage) => string | undefined;
  /** Which tools the request's caller may see and call (the front door's per-tool scopes); all when unset. */
  toolAccess?: (req: IncomingMessage) => ToolAccess | undefined;
}

export interface McpHandler {
  /** Answers the MCP endpoint on raw Node req/res, so any HTTP server can mount it. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Swaps the catalog; connected clients of both eras are told only if its hash changed. */
  setCatalog(catalog: ToolCatalog): void;
  /** The catalog being served now. */
  readonly catalog: ToolCatalog;
  /** How many notification streams (legacy GET + modern listen) are open. */
  readonly openStreams: number;
  /** Calls a client's `notifications/cancelled` has aborted so far (its effect is immediate: tests read it). */
  readonly cancelledCalls: number;
  /** Ends open streams (modern listen streams get their final result) and refuses new requests. */
  close(): Promise<void>;
}

export const DEFAULT_PAGE_SIZE = 100;

const DEFAULT_SERVER_INFO: ServerInfo = { name: 'berth-mcp', version: '0.1.0' };

/** The loopback names a DNS-rebinding guard allows. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1'];

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

export function createMcpHandler(options: McpHandlerOptions): McpHandler {
  const logger = options.logger ?? silentLogger;
  let current: ToolCatalog | (() => ToolCatalog) = options.catalog;
  const catalog = () => (typeof current === 'function' ? current() : current);
  let lastHash = catalog().hash;
  const streams = new StreamHub();
  const sessions = new SessionSigner(
    options.handleSecret ?? randomBytes(32),
    options.sessionTtlSeconds ?? 24 * 3600,
  );
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const allowedHosts = options.allowedHosts?.map((h) => h.toLowerCase());
  const allowedOrigins = (options.allowedOrigins ?? options.allowedHosts)?.map((h) =>
    h.toLowerCase().replace(/^\[|\]$/g, ''),
  );
  const callerFrom =
    options.callerFrom ?? ((req: IncomingMessage) => headerValue(req.headers, 'x-ms-client-principal-id'));
  /** Legacy in-flight calls by session nonce + request id, so notifications/cancelled can abort them. */
  const inflight = new Map<string, AbortController>();
  let cancelledCalls = 0;
  let closing = false;

  const env: MethodEnvironment = {
    catalog,
    serverInfo: options.serverInfo ?? DEFAULT_SERVER_INFO,
    instructions: options.description,
    cache: options.cache ?? { ttlMs: 60_000, cacheScope: 'private' },
    checker: new ArgumentChecker(),
    streams,
    logger,
    keepAliveMs: options.keepAliveMs ?? 15_000,
    pageSize: Math.max(1, Math.floor(options.pageSize ?? DEFAULT_PAGE_SIZE)),
  };

  function refuse(
    res: ServerResponse,
    status: number,
    error: RpcError,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const body = errorMessage(null, error);
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  /** DNS-rebinding guard: a page on evil.example that resolves to 127.0.0.1 must not get in. */
  function originProblem(req: IncomingMessage): string | undefined {
    if (allowedHosts) {
      const host = req.headers.host;
      if (!host || !allowedHosts.includes(hostNameOf(host))) return `Host "${host ?? ''}" is not allowed`;
    }
    const origin = headerValue(req.headers, 'origin');
    if (origin && allowedOrigins) {
      const name = originHost(origin);
      if (!name || !allowedOrigins.includes(name)) return `Origin "${origin}" is not allowed`;
    }
    return undefined;
  }

  function abortOnClose(req: IncomingMessage, res: ServerResponse): AbortController {
    const controller = new AbortController();
    // The response closing before it finished means the client went away: stop the upstream work.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('the client closed the response stream'));
    });
    return controller;
  }

  async function answer(scope: RequestScope, request: JsonRpcRequest): Promise<void> {
    // Built only when something is logged: a child logger per request costs more than the request.
    const log = () =>
      logger.child({
        method: request.method,
        era: scope.era,
        trace_id: scope.traceparent?.split('-')[1],
      });
    try {
      const outcome = await runMethod(env, scope, request);
      if ('result' in outcome) scope.reply.finish(resultMessage(request.id, outcome.result));
    } catch (error) {
      if (scope.signal.aborted) {
        log().debug({ id: request.id }, 'request cancelled');
        scope.reply.end();
        return;
      }
      if (error instanceof RpcError) {
        scope.reply.finish(errorMessage(request.id, error), error.httpStatus, error.headers);
        return;
      }
      log().error({ err: error }, 'request failed');
      scope.reply.finish(
        errorMessage(request.id, new RpcError(ErrorCode.InternalError, 'Internal error')),
        500,
      );
    }
  }

  function traceFrom(meta: Record<string, unknown>, req: IncomingMessage) {
    const traceparent =
      typeof meta.traceparent === 'string' ? meta.traceparent : headerValue(req.headers, 'traceparent');
    const tracestate =
      typeof meta.tracestate === 'string' ? meta.tracestate : headerValue(req.headers, 'tracestate');
    return { traceparent, tracestate };
  }

  async function handleModern(
    req: IncomingMessage,
    res: ServerResponse,
    parsed: ReturnType<typeof classifyMessage>,
  ): Promise<void> {
    if (parsed.kind === 'response')
      throw new RpcError(
        ErrorCode.InvalidRequest,
        'clients must not POST JSON-RPC responses in 2026-07-28',
        400,
      );
    const message = parsed.message;
    const meta = isObject(message.params?._meta) ? message.params._meta : undefined;
    const version = meta?.[META_PROTOCOL_VERSION];
    if (!meta || typeof version !== 'string') {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `params._meta["${META_PROTOCOL_VERSION}"] is required on every 2026-07-28 request`,
        400,
      );
    }
    const capabilities = meta[META_CLIENT_CAPABILITIES];
    if (!isObject(capabilities)) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `params._meta["${META_CLIENT_CAPABILITIES}"] is required (an object; {} declares none)`,
        400,
      );
    }
    checkModernHeaders(req.headers, message, version);
    if (!(MODERN_VERSIONS as readonly string[]).includes(version)) {
      throw new RpcError(
        ErrorCode.UnsupportedProtocolVersion,
        `Unsupported protocol version: ${version}`,
        400,
        {
          // The versions a modern request may name (what server/discover lists); 2025 clients initialize instead.
          supported: [...MODERN_VERSIONS],
          requested: version,
        },
      );
    }
    if (parsed.kind === 'notification') {
      // 2026-07-28 defines no client-to-server notifications over HTTP; acknowledge and drop.
      res.writeHead(202).end();
      return;
    }
    const controller = abortOnClose(req, res);
    const logLevel = meta['io.modelcontextprotocol/logLevel'];
    await answer(
      {
        era: 'modern',
        version,
        clientCapabilities: capabilities,
        reply: new Reply(res, {}, acceptsGzip(req.headers)),
        signal: controller.signal,
        ...traceFrom(meta, req),
        callerAuthorization: headerValue(req.headers, 'authorization'),
        caller: callerFrom(req),
        toolAccess: options.toolAccess?.(req),
        logLevel: typeof logLevel === 'string' ? logLevel : undefined,
      },
      message as JsonRpcRequest,
    );
  }

  function verifySession(req: IncomingMessage): { id: string; claims: SessionClaims } {
    const id = headerValue(req.headers, 'mcp-session-id');
    if (!id)
      throw new RpcError(
        ErrorCode.InvalidRequest,
        'Bad Request: Mcp-Session-Id header is required (send initialize first)',
        400,
      );
    const claims = sessions.verify(id);
    if (!claims)
      throw new RpcError(
        ErrorCode.SessionNotFound,
        'Session not found: unknown or expired Mcp-Session-Id; initialize again',
        404,
      );
    const header = headerValue(req.headers, 'mcp-protocol-version');
    if (header !== undefined && header !== claims.v) {
      throw new RpcError(
        ErrorCode.InvalidRequest,
        `Bad Request: MCP-Protocol-Version ${header} does not match the version negotiated for this session (${claims.v})`,
        400,
      );
    }
    return { id, claims };
  }

  async function handleLegacy(
    req: IncomingMessage,
    res: ServerResponse,
    parsed: ReturnType<typeof classifyMessage>,
  ): Promise<void> {
    if (parsed.kind === 'request' && parsed.message.method === 'initialize') {
      const params = parsed.message.params ?? {};
      const requested =
        typeof params.protocolVersion === 'string' ? params.protocolVersion : LATEST_LEGACY_VERSION;
      const version = (LEGACY_VERSIONS as readonly string[]).includes(requested)
        ? requested
        : LATEST_LEGACY_VERSION;
      const body = resultMessage(parsed.message.id, initializeResult(env, version));
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'mcp-session-id': sessions.issue(version),
      });
      res.end(body);
      return;
    }
    const { id: sessionId, claims } = verifySession(req);
    if (parsed.kind === 'response') {
      res.writeHead(202).end();
      return;
    }
    if (parsed.kind === 'notification') {
      if (parsed.message.method === 'notifications/cancelled') {
        const requestId = parsed.message.params?.requestId;
        const call = inflight.get(`${claims.n}:${JSON.stringify(requestId)}`);
        if (call && !call.signal.aborted) {
          cancelledCalls += 1;
          call.abort(new Error('cancelled by the client'));
        }
      }
      res.writeHead(202).end();
      return;
    }
    const message = parsed.message;
    const key = `${claims.n}:${JSON.stringify(message.id)}`;
    const controller = abortOnClose(req, res);
    inflight.set(key, controller);
    const meta = isObject(message.params?._meta) ? message.params._meta : {};
    try {
      await answer(
        {
          era: 'legacy',
          version: claims.v,
          // Without a session store the initialize capabilities are not kept; 2025 tools here need none.
          clientCapabilities: {},
          reply: new Reply(res, { 'mcp-session-id': sessionId }, acceptsGzip(req.headers)),
          signal: controller.signal,
          ...traceFrom(meta, req),
          callerAuthorization: headerValue(req.headers, 'authorization'),
          caller: callerFrom(req),
          toolAccess: options.toolAccess?.(req),
        },
        message,
      );
    } finally {
      inflight.delete(key);
    }
  }

  /** Legacy GET: the standalone SSE stream a 2025 session listens on for tools/list_changed. */
  function openLegacyStream(req: IncomingMessage, res: ServerResponse): void {
    const accept = headerValue(req.headers, 'accept') ?? '';
    if (!headerValue(req.headers, 'mcp-session-id')) {
      // No session: nothing to stream. 2026-07-28 has no GET at all.
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const { id } = verifySession(req);
    if (!accept.includes('text/event-stream') && !accept.includes('*/*')) {
      refuse(
        res,
        406,
        new RpcError(
          ErrorCode.InvalidRequest,
          'Not Acceptable: the GET stream needs Accept: text/event-stream',
        ),
      );
      return;
    }
    const reply = new Reply(res, { 'mcp-session-id': id });
    reply.stream();
    const timer = env.keepAliveMs > 0 ? setInterval(() => reply.keepAlive(), env.keepAliveMs) : undefined;
    timer?.unref();
    const remove = streams.add({
      toolsListChanged: () => reply.send(notificationMessage('notifications/tools/list_changed')),
      close: () => {
        if (timer) clearInterval(timer);
        reply.end();
      },
    });
    res.on('close', () => {
      if (timer) clearInterval(timer);
      remove();
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (options.path !== undefined) {
        const path = (req.url ?? '/').split('?')[0];
        if (path !== options.path) {
          refuse(
            res,
            404,
            new RpcError(ErrorCode.InvalidRequest, `Not Found: the MCP endpoint is ${options.path}`),
          );
          return;
        }
      }
      const problem = originProblem(req);
      if (problem) {
        refuse(res, 403, new RpcError(ErrorCode.InvalidRequest, `Forbidden: ${problem}`));
        return;
      }
      if (closing) {
        refuse(
          res,
          503,
          new RpcError(ErrorCode.InternalError, 'Service Unavailable: the server is shutting down'),
          { connection: 'close' },
        );
        return;
      }
      if (req.method === 'GET') return openLegacyStream(req, res);
      if (req.method === 'DELETE') {
        // Sessions are signed statements, not stored state: there is nothing to delete; they expire.
        res.writeHead(405, { allow: 'GET, POST' }).end();
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'GET, POST' }).end();
        return;
      }
      const type = headerValue(req.headers, 'content-type') ?? '';
      if (!/^application\/json\s*(;|$)/i.test(type)) {
        req.resume();
        refuse(
          res,
          415,
          new RpcError(
            ErrorCode.InvalidRequest,
            'Unsupported Media Type: Content-Type must be application/json',
          ),
        );
        return;
      }
      let raw: Buffer;
      try {
        raw = await readBody(req, maxBody);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          refuse(res, 413, new RpcError(ErrorCode.InvalidRequest, `Payload Too Large: ${error.message}`), {
            connection: 'close',
          });
          return;
        }
        throw error;
      }
      let value: unknown;
      try {
        value = JSON.parse(raw.toString('utf8'));
      } catch (error) {
        refuse(res, 400, new RpcError(ErrorCode.ParseError, `Parse error: ${(error as Error).message}`));
        return;
      }
      let parsed: ReturnType<typeof classifyMessage>;
      try {
        parsed = classifyMessage(value);
      } catch (error) {
        if (error instanceof RpcError) {
          const id =
            isObject(value) && (typeof value.id === 'string' || typeof value.id === 'number')
              ? value.id
              : null;
          res
            .writeHead(error.httpStatus, { 'content-type': 'application/json' })
            .end(errorMessage(id, error));
          return;
        }
        throw error;
      }
      const id = parsed.kind === 'request' ? parsed.message.id : null;
      try {
        checkVersionHeader(req, parsed);
        if (isModern(req, parsed)) await handleModern(req, res, parsed);
        else await handleLegacy(req, res, parsed);
      } catch (error) {
        if (!(error instanceof RpcError)) throw error;
        if (res.headersSent) {
          res.end();
          return;
        }
        const body = errorMessage(id, error);
        res.writeHead(error.httpStatus, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      }
    } catch (error) {
      logger.error({ err: error }, 'MCP request failed');
      refuse(res, 500, new RpcError(ErrorCode.InternalError, 'Internal error'));
    }
  }

  return {
    handle,
    setCatalog(next: ToolCatalog) {
      current = next;
      if (next.hash === lastHash) return;
      lastHash = next.hash;
      logger.info(
        { tools: next.tools.length, hash: next.hash, streams: streams.size },
        'tool list changed; notifying clients',
      );
      streams.toolsListChanged();
    },
    get catalog() {
      return catalog();
    },
    get openStreams() {
      return streams.size;
    },
    get cancelledCalls() {
      return cancelledCalls;
    },
    async close() {
      closing = true;
      streams.closeAll();
      for (const controller of inflight.values()) controller.abort(new Error('server shutting down'));
    },
  };
}

/**
 * An `MCP-Protocol-Version` header naming no version this endpoint serves is refused as such (HTTP 400,
 * -32022 with the supported list): without `_meta` it is neither a modern request that forgot it (the
 * precise -32602 is for modern versions) nor a legacy one.
 */
function checkVersionHeader(req: IncomingMessage, parsed: ReturnType<typeof classifyMessage>): void {
  const header = headerValue(req.headers, 'mcp-protocol-version');
  if (header === undefined || SUPPORTED_VERSIONS.includes(header)) return;
  // A request that names its version in `_meta` is modern: the modern checks (header = body, then
  // supported) answer it, with the modern versions as the supported list.
  if (parsed.kind !== 'response' && isObject(parsed.message.params?._meta)) {
    if (META_PROTOCOL_VERSION in parsed.message.params._meta) return;
  }
  throw new RpcError(
    ErrorCode.UnsupportedProtocolVersion,
    `Unsupported protocol version: ${JSON.stringify(header)}; this server supports ${SUPPORTED_VERSIONS.join(', ')}`,
    400,
    { supported: [...SUPPORTED_VERSIONS], requested: header },
  );
}

/**
 * The era of a POST: modern when the body claims a protocol version in `_meta` or the header names
 * a modern revision (a modern client that forgot `_meta` then gets the precise -32602); everything
 * else — initialize, session traffic, bare notifications — is the 2025 era.
 */
function isModern(req: IncomingMessage, parsed: ReturnType<typeof classifyMessage>): boolean {
  if (parsed.kind !== 'response') {
    const meta = parsed.message.params?._meta;
    if (isObject(meta) && META_PROTOCOL_VERSION in meta) return true;
  }
  const header = headerValue(req.headers, 'mcp-protocol-version');
  return header !== undefined && isModernVersion(header);
}
