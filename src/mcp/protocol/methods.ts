import type { Logger } from '../../lib/logger.js';
import {
  InvalidToolCall,
  MissingClientCapability,
  type CallContext,
  type CallToolResult,
  type ToolAccess,
  type ToolCatalog,
  type ToolDefinition,
} from '../types.js';
import { withoutOptionalNulls } from '../validate.js';
import type { ArgumentChecker } from './arguments.js';
import { toolsPage } from './pages.js';
import {
  ErrorCode,
  META_SERVER_INFO,
  META_SUBSCRIPTION_ID,
  SUPPORTED_VERSIONS,
  MODERN_VERSIONS,
} from './constants.js';
import { RpcError, isObject, notificationMessage, type JsonRpcRequest } from './jsonrpc.js';
import type { Reply } from './reply.js';
import type { StreamHub } from './streams.js';

export type Era = 'modern' | 'legacy';

export interface ServerInfo {
  name: string;
  version: string;
  title?: string;
}

export interface CacheHints {
  ttlMs: number;
  cacheScope: 'public' | 'private';
}

/** What one request carries besides its message: who asked, in which era, and how to answer. */
export interface RequestScope {
  era: Era;
  version: string;
  clientCapabilities: Record<string, unknown>;
  reply: Reply;
  /** Aborted when the client closes the response stream or cancels (legacy notifications/cancelled). */
  signal: AbortSignal;
  traceparent?: string;
  tracestate?: string;
  callerAuthorization?: string;
  caller?: string;
  /** What the caller may call (per-tool scopes); every tool when unset. */
  toolAccess?: ToolAccess;
  /** Legacy era: the client-chosen log level; log messages below it are not sent. */
  logLevel?: string;
}

/** Everything the method implementations share, owned by the handler. */
export interface MethodEnvironment {
  catalog(): ToolCatalog;
  serverInfo: ServerInfo;
  instructions?: string;
  cache: CacheHints;
  checker: ArgumentChecker;
  streams: StreamHub;
  logger: Logger;
  keepAliveMs: number;
  /** Tools per tools/list page. */
  pageSize: number;
}

/** A method's outcome: a result to send, or "already answered" (a stream that ends on its own). */
export type MethodOutcome = { result: Record<string, unknown> } | { streamed: true };

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** Tools serialized once per catalog, so tools/list does not re-stringify 1,200 schemas per call. */
const toolIndex = new WeakMap<ToolCatalog, Map<string, ToolDefinition>>();

function findTool(catalog: ToolCatalog, name: string): ToolDefinition | undefined {
  let index = toolIndex.get(catalog);
  if (!index) {
    index = new Map(catalog.tools.map((tool) => [tool.name, tool]));
    toolIndex.set(catalog, index);
  }
  return index.get(name);
}

/** The tools a caller may call: a tool it lacks the scope for is not shown to it. */
function visibleTools(catalog: ToolCatalog, access: ToolAccess | undefined): ToolDefinition[] {
  return access ? catalog.tools.filter((tool) => !access.refusal(tool.name)) : catalog.tools;
}

/**
 * Tools are the product; resources and prompts are declared because their list methods answer
 * (with empty, cacheable lists): a server must not serve what it does not declare.
 */
function capabilities(): Record<string, unknown> {
  return { tools: { listChanged: true }, resources: {}, prompts: {} };
}

/** Decorates a result for its era: modern results say they are complete and who served them. */
function finishResult(
  env: MethodEnvironment,
  scope: RequestScope,
  result: Record<string, unknown>,
  cacheable: boolean,
) {
  if (scope.era === 'legacy') return result;
  const out: Record<string, unknown> = { ...result, resultType: 'complete' };
  if (cacheable) {
    out.ttlMs = env.cache.ttlMs;
    out.cacheScope = env.cache.cacheScope;
  }
  out._meta = { ...(isObject(result._meta) ? result._meta : {}), [META_SERVER_INFO]: env.serverInfo };
  return out;
}

async function callTool(
  env: MethodEnvironment,
  scope: RequestScope,
  request: JsonRpcRequest,
): Promise<MethodOutcome> {
  const params = request.params ?? {};
  if (typeof params.name !== 'string')
    throw new RpcError(ErrorCode.InvalidParams, 'tools/call needs params.name (the tool name)');
  const catalog = env.catalog();
  const tool = findTool(catalog, params.name);
  if (!tool) {
    throw new RpcError(ErrorCode.InvalidParams, `Unknown tool: ${params.name}`, 200, { name: params.name });
  }
  const refusal = scope.toolAccess?.refusal(tool.name);
  if (refusal)
    throw new RpcError(
      ErrorCode.InvalidRequest,
      refusal.message,
      refusal.status,
      { tool: tool.name },
      refusal.headers,
    );
  const given = params.arguments ?? {};
  if (!isObject(given))
    throw new RpcError(ErrorCode.InvalidParams, `arguments of tool ${tool.name} must be an object`);
  const args = withoutOptionalNulls(tool.inputSchema, given);
  // Arguments that do not fit the schema are the model's to fix: a tool result it can read (as
  // 2025-11-25 recommends), naming every failing field, rather than a protocol error.
  const problems = env.checker.check(tool, args);
  if (problems) return { result: finishResult(env, scope, invalidArguments(tool.name, problems), false) };

  const meta = isObject(params._meta) ? params._meta : {};
  const progressToken =
    typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number'
      ? meta.progressToken
      : undefined;
  const context: CallContext = {
    signal: scope.signal,
    // The caller's own trace context: the invoker makes the upstream hop a child span of it.
    traceparent: scope.traceparent,
    tracestate: scope.tracestate,
    callerAuthorization: scope.callerAuthorization,
    caller: scope.caller,
    clientCapabilities: scope.clientCapabilities,
    progress: (progress, total, message) => {
      if (progressToken === undefined) return;
      scope.reply.send(
        notificationMessage('notifications/progress', {
          progressToken,
          progress,
          ...(total === undefined ? {} : { total }),
          ...(message === undefined ? {} : { message }),
        }),
      );
    },
    log: (level, data) => {
      // Modern era: logging is opt-in per request (`_meta` logLevel); legacy: after logging/setLevel
      // or by default, as the 2025 stateless SDK does.
      const threshold = scope.logLevel ?? (scope.era === 'legacy' ? 'debug' : undefined);
      if (threshold === undefined || LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(threshold)) return;
      scope.reply.send(
        notificationMessage('notifications/message', { level, logger: env.serverInfo.name, data }),
      );
    },
  };
  let result: CallToolResult;
  try {
    result = await catalog.call(tool.name, args, context);
  } catch (error) {
    if (error instanceof InvalidToolCall)
      return { result: finishResult(env, scope, invalidArguments(tool.name, [error.message]), false) };
    if (error instanceof MissingClientCapability) {
      throw new RpcError(ErrorCode.MissingRequiredClientCapability, error.message, 400, {
        requiredCapabilities: error.requiredCapabilities,
      });
    }
    if (scope.signal.aborted) throw error;
    // The tool broke rather than the request: tell the model (isError) and keep the details in the log.
    env.logger.error({ err: error, tool: tool.name }, 'tool call failed');
    result = {
      content: [{ type: 'text', text: `Tool ${tool.name} failed: ${(error as Error).message}` }],
      isError: true,
    };
  }
  return { result: finishResult(env, scope, result as unknown as Record<string, unknown>, false) };
}

function invalidArguments(tool: string, problems: string[]): Record<string, unknown> {
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: `Invalid arguments for tool ${tool}:\n${problems.map((p) => `- ${p}`).join('\n')}`,
      },
    ],
  };
}

/** Modern `subscriptions/listen`: an SSE stream that carries list-changed notifications until closed. */
function listen(env: MethodEnvironment, scope: RequestScope, request: JsonRpcRequest): MethodOutcome {
  const params = request.params ?? {};
  const wanted = isObject(params.notifications) ? params.notifications : undefined;
  if (!wanted) throw new RpcError(ErrorCode.InvalidParams, 'subscriptions/listen needs params.notifications');
  // Only tool-list changes exist here; the acknowledgement names the subset this server agreed to.
  const agreed: Record<string, unknown> = {};
  if (wanted.toolsListChanged === true) agreed.toolsListChanged = true;
  const subscriptionMeta = { [META_SUBSCRIPTION_ID]: request.id };
  const reply = scope.reply;
  reply.stream();
  reply.send(
    notificationMessage('notifications/subscriptions/acknowledged', {
      notifications: agreed,
      _meta: subscriptionMeta,
    }),
  );
  const timer = env.keepAliveMs > 0 ? setInterval(() => reply.keepAlive(), env.keepAliveMs) : undefined;
  timer?.unref();
  const remove = env.streams.add({
    toolsListChanged() {
      if (agreed.toolsListChanged)
        reply.send(notificationMessage('notifications/tools/list_changed', { _meta: subscriptionMeta }));
    },
    close(graceful) {
      if (timer) clearInterval(timer);
      if (graceful) {
        reply.finish(
          JSON.stringify({
            jsonrpc: '2.0',
            id: request.id,
            result: {
              resultType: 'complete',
              _meta: { ...subscriptionMeta, [META_SERVER_INFO]: env.serverInfo },
            },
          }),
        );
      } else reply.end();
    },
  });
  scope.signal.addEventListener('abort', () => {
    if (timer) clearInterval(timer);
    remove();
  });
  return { streamed: true };
}

function emptyList(key: string) {
  return { [key]: [] };
}

/** Runs one request of either era. Methods that do not exist in the request's era are -32601 (HTTP 404). */
export async function runMethod(
  env: MethodEnvironment,
  scope: RequestScope,
  request: JsonRpcRequest,
): Promise<MethodOutcome> {
  const modern = scope.era === 'modern';
  switch (request.method) {
    case 'server/discover':
      if (!modern) break;
      return {
        result: finishResult(
          env,
          scope,
          {
            supportedVersions: [...MODERN_VERSIONS],
            capabilities: capabilities(),
            ...(env.instructions ? { instructions: env.instructions } : {}),
          },
          true,
        ),
      };
    case 'ping':
      if (modern) break;
      return { result: {} };
    case 'logging/setLevel':
      if (modern) break;
      return { result: {} };
    case 'tools/list':
      return {
        result: finishResult(
          env,
          scope,
          toolsPage(
            { hash: env.catalog().hash, tools: visibleTools(env.catalog(), scope.toolAccess) },
            request.params?.cursor,
            env.pageSize,
          ),
          true,
        ),
      };
    case 'tools/call':
      return callTool(env, scope, request);
    case 'subscriptions/listen':
      if (!modern) break;
      return listen(env, scope, request);
    // Berth serves tools only. These answer with empty, cacheable lists rather than -32601 because
    // clients (and the conformance suite) probe them, and an empty list is the truthful answer.
    case 'resources/list':
      return { result: finishResult(env, scope, emptyList('resources'), true) };
    case 'resources/templates/list':
      return { result: finishResult(env, scope, emptyList('resourceTemplates'), true) };
    case 'prompts/list':
      return { result: finishResult(env, scope, emptyList('prompts'), true) };
    case 'resources/read': {
      const uri = request.params?.uri;
      throw new RpcError(ErrorCode.InvalidParams, `Resource not found: ${String(uri)}`, 200, { uri });
    }
    default:
      break;
  }
  throw new RpcError(ErrorCode.MethodNotFound, `Method not found: ${request.method}`, modern ? 404 : 200);
}

export function initializeResult(env: MethodEnvironment, version: string): Record<string, unknown> {
  return {
    protocolVersion: version,
    capabilities: { ...capabilities(), logging: {} },
    serverInfo: env.serverInfo,
    ...(env.instructions ? { instructions: env.instructions } : {}),
  };
}

export { SUPPORTED_VERSIONS };
