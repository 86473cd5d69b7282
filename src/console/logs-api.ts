import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleConfig } from '../config/index.js';
import {
  filterFromParams,
  queryFromParams,
  LogQueryError,
  type LogEntry,
  type LogFilter,
  type LogStore,
} from '../logs/index.js';
import { PROBLEM_CONTENT_TYPE, problem } from '../lib/problem.js';
import { SseStream } from './sse.js';

/** Backlog a reconnecting stream gets at most (Last-Event-ID resume), so one reconnect cannot flood it. */
const MAX_RESUME = 10_000;
/** What a client refused for console.maxStreams is told to wait (seconds). */
const STREAM_RETRY_AFTER_S = 5;

export interface LogsApiOptions {
  store: LogStore;
  config: ConsoleConfig;
  /** Open streams, ended when the console stops so shutdown does not wait for idle readers. */
  streams: Set<{ end(): void }>;
}

/** `GET /api/logs` (history), `/api/logs/sources`, `/api/logs/stream` (SSE) and Kudu's `/api/logstream`. */
export async function logsApi(app: FastifyInstance, options: LogsApiOptions): Promise<void> {
  const { store, config, streams } = options;

  app.get('/api/logs', async (request) =>
    store.query(queryFromParams(request.query as Record<string, unknown>)),
  );

  app.get('/api/logs/sources', async () => store.sources());

  app.get('/api/logs/stream', async (request, reply) => {
    if (refuseOverStreamCap(reply)) return reply;
    const params = request.query as Record<string, unknown>;
    const filter = filterFromParams(params);
    const tail = intParam(params, 'tail', 0, 1000);
    const resumeFrom = String(request.headers['last-event-id'] ?? params.lastEventId ?? '');
    if (resumeFrom !== '' && !/^\d+$/.test(resumeFrom))
      throw new LogQueryError(`Last-Event-ID: expected a log id, got "${resumeFrom}"`);
    // The backlog is read before the live subscription starts, in the same tick, so no line can
    // fall between them; lastSent guards against a line arriving in both.
    const backlog =
      resumeFrom !== ''
        ? resume(store, filter, resumeFrom)
        : tail > 0
          ? store.query({ ...filter, limit: tail }).entries.reverse()
          : [];
    reply.hijack();
    const sse = new SseStream(reply.raw, config.ssePing, config.streamBuffer);
    let lastSent = 0;
    const send = (entry: LogEntry) => {
      if (entry.id <= lastSent) return;
      lastSent = entry.id;
      sse.send('log', entry, entry.id);
    };
    backlog.forEach(send);
    // Ended by the store (its regex took too much of the event loop): said once, not to be retried.
    const unsubscribe = store.subscribe(filter, send, (reason) => {
      sse.send('ended', { reason });
      sse.end();
    });
    track(streams, sse);
    sse.onClose(unsubscribe);
  });

  // Kudu's log stream: plain lines for curl and `az webapp log tail`-style clients (not SSE frames).
  const kudu = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'GET') {
      return reply.code(400).type('text/plain').send('The log stream accepts GET only.\n');
    }
    if (refuseOverStreamCap(reply)) return reply;
    const params = request.query as Record<string, unknown>;
    const filter: LogFilter = filterFromParams(params);
    const path = (request.params as { '*'?: string })['*'] ?? '';
    const kind = path.split('/')[0];
    if (kind === 'application' || kind === 'platform') filter.type = kind;
    else if (kind === 'http' || kind === 'kudu') filter.type = 'platform';
    // Kudu's ?filter= is a plain, case-insensitive substring.
    const substring =
      typeof params.filter === 'string' && params.filter !== '' ? params.filter.toLowerCase() : undefined;
    reply.hijack();
    const res = reply.raw;
    res.socket?.setNoDelay(true);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    /**
     * Plain lines cannot say "n lines were dropped", and Kudu's clients do not resume, so a reader that
     * lets more than console.streamBuffer pile up is cut off (it frees its slot under maxStreams).
     */
    const write = (text: string) => {
      if (res.destroyed) return;
      res.write(text);
      if (res.writableLength > config.streamBuffer) {
        request.log.warn(
          { buffered: res.writableLength, limit: config.streamBuffer },
          'closed a Kudu log stream whose reader fell behind (console.streamBuffer)',
        );
        res.destroy();
      }
    };
    write(`${new Date().toISOString()}  Welcome, you are now connected to log-streaming service.\n`);
    let lastLine = Date.now();
    const minutes = (ms: number) => Math.max(1, Math.round(ms / 60_000));
    const heartbeat = setInterval(() => {
      if (Date.now() - lastLine >= config.heartbeat) {
        write(
          `${new Date().toISOString()}  No new trace in the past ${minutes(Date.now() - lastLine)} min(s).\n`,
        );
      }
    }, config.heartbeat);
    const timeout = setTimeout(() => {
      res.end(
        `${new Date().toISOString()}  Stream terminated due to timeout ${minutes(config.logstreamTimeout)} min(s).\n`,
      );
    }, config.logstreamTimeout);
    heartbeat.unref();
    timeout.unref();
    const unsubscribe = store.subscribe(
      filter,
      (entry) => {
        if (substring !== undefined && !entry.message.toLowerCase().includes(substring)) return;
        lastLine = Date.now();
        write(formatKuduLine(entry));
      },
      (reason) => res.end(`${new Date().toISOString()}  Stream terminated: ${reason}.\n`),
    );
    const stream = { end: () => res.end() };
    streams.add(stream);
    res.on('close', () => {
      streams.delete(stream);
      unsubscribe();
      clearInterval(heartbeat);
      clearTimeout(timeout);
    });
  };
  /** 503 when console.maxStreams streams are open; true when it answered. */
  function refuseOverStreamCap(reply: FastifyReply): boolean {
    if (streams.size < config.maxStreams) return false;
    void reply
      .code(503)
      .header('retry-after', String(STREAM_RETRY_AFTER_S))
      .type(PROBLEM_CONTENT_TYPE)
      .send(
        problem(
          503,
          'Service Unavailable',
          `${config.maxStreams} log streams are open (console.maxStreams); try again later`,
        ),
      );
    return true;
  }

  for (const url of ['/api/logstream', '/api/logstream/*', '/logstream', '/logstream/*']) {
    app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url, handler: kudu });
  }
}

/** `2026-11-26T12:00:00.123Z api/production/a1b2c3d4 application ERROR message` */
export function formatKuduLine(entry: LogEntry): string {
  const source = `${entry.site}/${entry.slot}/${entry.instance || '-'}`;
  return `${new Date(entry.time).toISOString()} ${source} ${entry.type} ${entry.level.toUpperCase()} ${entry.message.replace(/\r?\n/g, ' ')}\n`;
}

function resume(store: LogStore, filter: LogFilter, after: string): LogEntry[] {
  const entries: LogEntry[] = [];
  let cursor: string | undefined = after;
  while (cursor !== undefined && entries.length < MAX_RESUME) {
    const page = store.query({ ...filter, order: 'asc', cursor, limit: 1000 });
    entries.push(...page.entries);
    cursor = page.next;
  }
  return entries;
}

function track(streams: Set<{ end(): void }>, sse: SseStream): void {
  streams.add(sse);
  sse.onClose(() => streams.delete(sse));
}

function intParam(params: Record<string, unknown>, key: string, min: number, max: number): number {
  const value = params[key];
  if (value === undefined || value === '') return min;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new LogQueryError(`${key}: expected a whole number from ${min} to ${max}, got "${String(value)}"`);
  return n;
}
