import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { consoleSchema } from '../../src/config/console.js';
import { startConsole, type ConsolePlugin } from '../../src/console/index.js';
import type { SiteStatus, StartupLogInfo } from '../../src/sites/types.js';
import { tempStore } from '../logs/helpers.js';

/**
 * A test-only stand-in for the sites part's `sitesApi` plugin: it serves the documented shapes of
 * src/sites/types.ts (/api/sites, /api/startuplogs, /summary, /<file>) from fixed data, so the console
 * can be tested without starting real site processes.
 */
export function fakeSitesPlugin(): ConsolePlugin {
  const logs: Array<StartupLogInfo & { content: string }> = [
    {
      name: '2026_11_26_a1b2c3d4_failure.log',
      site: 'api',
      slot: 'production',
      instance: 'a1b2c3d4',
      date: '2026-11-26',
      outcome: 'failure',
      size: 230,
      modified: '2026-11-26T12:00:05.000Z',
      content: [
        '2026-11-26T12:00:00.000Z Starting instance a1b2c3d4: command "node server.js", PORT=8080, settings: DB_URL',
        '2026-11-26T12:00:00.500Z [stdout] <b>listening on 3000</b>',
        '2026-11-26T12:00:05.000Z Site startup probe failed after 5.0 seconds.',
        '----- Hints -----',
        'HINT: Wrong port: the platform expects the app on port 8080, but its output says it listens on 3000.',
      ].join('\n'),
    },
    {
      name: '2026_11_26_a1b2c3d4_success.log',
      site: 'api',
      slot: 'production',
      instance: 'a1b2c3d4',
      date: '2026-11-26',
      outcome: 'success',
      size: 120,
      modified: '2026-11-26T11:00:05.000Z',
      content: 'Site startup probe succeeded after 0.4 seconds.\nSite started.',
    },
  ];
  const sites: SiteStatus[] = [
    {
      name: 'api',
      hostNames: ['api.localhost'],
      url: 'http://api.localhost:8080/',
      slots: [
        {
          name: 'production',
          state: 'running',
          instances: [
            {
              id: 'a1b2c3d4',
              state: 'running',
              port: 40001,
              pid: 1234,
              restarts: 1,
              startedAt: '2026-11-26T12:01:00.000Z',
              version: 'v2',
            },
            { id: 'e5f6a7b8', state: 'crashed', port: 40002, restarts: 3 },
          ],
        },
      ],
    },
  ];
  return (app: FastifyInstance) => {
    app.get('/api/sites', async () => sites);
    app.get<{ Params: { name: string } }>('/api/sites/:name', async (request, reply) => {
      const site = sites.find((s) => s.name === request.params.name);
      if (site) return site;
      return reply
        .code(404)
        .type('application/problem+json')
        .send({ title: 'Not Found', status: 404, detail: `no site named "${request.params.name}"` });
    });
    app.get('/api/startuplogs', async (request, reply) => {
      const q = request.query as Record<string, string>;
      const list = logs.filter(
        (l) =>
          (!q.site || l.site === q.site) &&
          (!q.outcome || l.outcome === q.outcome) &&
          (!q.instance || l.instance === q.instance),
      );
      if (q.latest === 'true') {
        const pick = list.find((l) => l.outcome === 'failure') ?? list[0];
        if (!pick)
          return reply.code(404).send({ title: 'Not Found', status: 404, detail: 'no startup logs match' });
        return reply
          .type('text/plain')
          .header('x-startuplog-filename', pick.name)
          .header('x-startuplog-outcome', pick.outcome)
          .header('x-startuplog-instance', pick.instance)
          .header('x-startuplog-date', pick.date)
          .header('x-startuplog-slot', pick.slot)
          .send(pick.content);
      }
      return { files: list.map(({ content: _c, ...info }) => info) };
    });
    app.get('/api/startuplogs/summary', async () => [
      { site: 'api', slot: 'production', total: 2, failures: 1, successes: 1 },
    ]);
    app.get<{ Params: { file: string } }>('/api/startuplogs/:file', async (request, reply) => {
      const log = logs.find((l) => l.name === request.params.file);
      if (!log)
        return reply
          .code(400)
          .type('application/problem+json')
          .send({ title: 'Bad Request', status: 400, detail: 'Invalid startup log filename.' });
      return reply
        .type('text/plain')
        .header('x-startuplog-filename', log.name)
        .header('x-startuplog-outcome', log.outcome)
        .header('x-startuplog-instance', log.instance)
        .header('x-startuplog-date', log.date)
        .header('x-startuplog-slot', log.slot)
        .send(log.content);
    });
  };
}

/** What a non-browser client of the console's /api/* sends (the page's own requests send it too). */
export const consoleHeaders = { 'x-requested-by': 'berth' } as const;

/** A console on an ephemeral port over a fresh log store. */
export async function startTestConsole(
  options: { console?: Record<string, unknown>; plugins?: ConsolePlugin[] } = {},
) {
  const logs = tempStore();
  const service = await startConsole({
    config: consoleSchema.parse({ listen: '127.0.0.1:0', ...options.console }),
    logStore: logs.store,
    plugins: options.plugins ?? [fakeSitesPlugin()],
  });
  return {
    url: service.urls[0]!.replace(/\/$/, ''),
    store: logs.store,
    close: async () => {
      await service.close();
      await logs.cleanup();
    },
  };
}

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Reads Server-Sent Events from a URL until `stop()`; a real HTTP client (fetch), parsing by the spec. */
export async function openSse(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...consoleHeaders, ...headers },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const waiters: Array<() => void> = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const l of block.split('\n')) {
            if (l.startsWith(':')) continue;
            const i = l.indexOf(':');
            const [field, value] = i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1).replace(/^ /, '')];
            if (field === 'id') event.id = value;
            else if (field === 'event') event.event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length === 0) continue;
          event.data = data.join('\n');
          events.push(event);
          waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // aborted
    }
    waiters.splice(0).forEach((w) => w());
  })();
  return {
    response,
    events,
    async waitFor(count: number, ms = 5000) {
      const end = Date.now() + ms;
      while (events.length < count) {
        if (Date.now() > end) throw new Error(`expected ${count} events, got ${events.length}`);
        await Promise.race([
          new Promise<void>((r) => waiters.push(r)),
          new Promise((r) => setTimeout(r, 50)),
        ]);
      }
      return events;
    },
    done,
    stop() {
      controller.abort();
    },
  };
}

/**
 * GET with exact headers (fetch would not send a Host of our choosing), plus the X-Requested-By
 * every API client sends unless `headers` sets it to `undefined`.
 */
export function rawGet(
  url: string,
  headers: Record<string, string | undefined>,
): Promise<{ status: number; body: string; challenge?: string; headers: Record<string, unknown> }> {
  const sent = Object.fromEntries(
    Object.entries({ 'x-requested-by': 'berth', ...headers }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: sent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          body,
          challenge: res.headers['www-authenticate'],
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject).end();
  });
}
