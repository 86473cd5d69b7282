/**
 * Shared test scaffolding for the MCP protocol tests: a real local REST upstream, a hand-made
 * ToolCatalog that calls it over HTTP (what the OpenAPI part produces, minus the conversion), and
 * raw JSON-RPC posting for the checks real clients would never let us make.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  defineCatalog,
  startMcpServer,
  type RunningMcpServer,
  type ToolCatalog,
} from '../../src/mcp/index.js';
import type { McpServerOptions } from '../../src/mcp/serve.js';

export interface Upstream {
  url: string;
  /** Requests seen, newest last, with whether the client hung up before the answer. */
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; aborted: boolean }>;
  /** Resolves when an upstream request is aborted by the caller (cancellation reached the API). */
  nextAbort(): Promise<void>;
  close(): Promise<void>;
}

/** A tiny REST API: GET /items/:id echoes, GET /slow never answers (until the caller gives up). */
export async function startUpstream(): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  let abortWaiters: Array<() => void> = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, aborted: false };
    seen.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) {
        entry.aborted = true;
        const waiters = abortWaiters;
        abortWaiters = [];
        waiters.forEach((w) => w());
      }
    });
    if (req.url?.startsWith('/slow')) return; // hangs until the client aborts
    const id = /^\/items\/([^/?]+)/.exec(req.url ?? '')?.[1];
    const body = JSON.stringify({
      id: id ? decodeURIComponent(id) : null,
      traceparent: req.headers.traceparent ?? null,
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    nextAbort: () => new Promise<void>((resolve) => abortWaiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Tools that call the upstream with fetch, passing the abort signal and trace context on, as the
 * invoker does. `extra` adds a tool so tests can change the list (and its hash).
 */
export function upstreamCatalog(upstream: string, extra?: string): ToolCatalog {
  const call = async (path: string, signal: AbortSignal, traceparent?: string) => {
    const response = await fetch(`${upstream}${path}`, {
      signal,
      headers: traceparent ? { traceparent } : {},
    });
    const json = (await response.json()) as Record<string, unknown>;
    return { content: [{ type: 'text' as const, text: JSON.stringify(json) }], structuredContent: json };
  };
  const tools: Parameters<typeof defineCatalog>[0] = [
    {
      tool: {
        name: 'getItem',
        description: 'Fetch one item',
        inputSchema: {
          type: 'object',
          properties: { id: { type: 'integer', minimum: 1 } },
          required: ['id'],
          additionalProperties: false,
        },
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      run: (args, context) =>
        call(`/items/${encodeURIComponent(String(args.id))}`, context.signal, context.traceparent),
    },
    {
      tool: {
        name: 'slow',
        description: 'Never answers until cancelled',
        inputSchema: { type: 'object', properties: {} },
      },
      run: (_args, context) => call('/slow', context.signal),
    },
  ];
  if (extra) {
    tools.push({
      tool: { name: extra, description: 'added later', inputSchema: { type: 'object', properties: {} } },
      run: () => ({ content: [{ type: 'text', text: extra }] }),
    });
  }
  return defineCatalog(tools);
}

export async function startWithCatalog(
  catalog: ToolCatalog,
  options: Partial<McpServerOptions> = {},
): Promise<RunningMcpServer> {
  return startMcpServer({ catalog, ...options, handler: { keepAliveMs: 0, ...options.handler } });
}

export const MODERN = '2026-07-28';

/** The `_meta` every 2026-07-28 request must carry. */
export function modernMeta(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'berth-test', version: '0' },
    ...extra,
  };
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON-RPC message (the last SSE event when the answer streamed). */
  json:
    | {
        result?: Record<string, unknown>;
        error?: { code: number; message: string; data?: unknown };
        id?: unknown;
      }
    | undefined;
}

/** POSTs a body as-is; `headers` replace the defaults (pass undefined to drop one). */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string | undefined> = {},
  signal?: AbortSignal,
): Promise<RawAnswer> {
  const merged: Record<string, string> = {};
  const defaults: Record<string, string | undefined> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...headers,
  };
  for (const [k, v] of Object.entries(defaults)) if (v !== undefined) merged[k] = v;
  const response = await fetch(url, {
    method: 'POST',
    headers: merged,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  let json: RawAnswer['json'];
  try {
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
      const events = text.split('\n').filter((l) => l.startsWith('data: '));
      json = JSON.parse(events[events.length - 1]!.slice(6)) as RawAnswer['json'];
    } else if (text) json = JSON.parse(text) as RawAnswer['json'];
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A well-formed 2026-07-28 request: body `_meta` plus the three routing headers. */
export function modernRequest(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string | undefined> = {},
  signal?: AbortSignal,
) {
  const name = method === 'tools/call' ? (params.name as string) : undefined;
  return post(
    url,
    {
      jsonrpc: '2.0',
      id: 1,
      method,
      params: { ...params, _meta: modernMeta(params._meta as Record<string, unknown> | undefined) },
    },
    {
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(name ? { 'mcp-name': name } : {}),
      ...headers,
    },
    signal,
  );
}
