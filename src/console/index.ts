import { resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { ConsoleConfig } from '../config/index.js';
import { parseListen, urlFor } from '../lib/listen.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { HttpError, PROBLEM_CONTENT_TYPE, problem } from '../lib/problem.js';
import type { RunningService } from '../lib/service.js';
import { LogQueryError, type LogStore } from '../logs/index.js';
import { consoleGuard } from './guard.js';
import { logsApi } from './logs-api.js';
import { consolePages } from './static.js';

export { formatKuduLine } from './logs-api.js';

/** Registers routes on the console; may return what `app.register(...)` returns (it is awaited). */
export type ConsolePlugin = (app: FastifyInstance) => unknown;

export interface ConsoleOptions {
  config: ConsoleConfig;
  logStore: LogStore;
  /**
   * Other parts' APIs the console serves, e.g. `(app) => app.register(sitesApi, { manager })` for
   * /api/sites and /api/startuplogs. Each runs in its own Fastify context, so its hooks and error
   * handler stay its own.
   */
  plugins?: ConsolePlugin[];
  logger?: Logger;
  /** Overrides config.listen (the CLI's --listen; tests pass 127.0.0.1:0). */
  listen?: string;
  /** Relative paths in the config (htpasswd) are resolved against this; default the working directory. */
  baseDir?: string;
}

/** The SCM site: log history, live stream, Kudu log stream, startup logs and sites, and the Log stream page. */
export async function startConsole(options: ConsoleOptions): Promise<RunningService> {
  const log = options.logger ?? silentLogger;
  const address = parseListen(options.listen ?? options.config.listen);
  // Tagged once: a logger `berth up` already tagged as the console's would get a second "part" key.
  const tagged = log.bindings().part === 'console' ? log : log.child({ part: 'console' });
  const app = Fastify({ loggerInstance: tagged, return503OnClosing: true });
  const streams = new Set<{ end(): void }>();
  const { htpasswd, allowedHosts, authFailureLimit } = options.config;
  app.addHook(
    'onRequest',
    consoleGuard({
      listenHost: address.host,
      allowedHosts,
      htpasswd: htpasswd ? resolve(options.baseDir ?? process.cwd(), htpasswd) : undefined,
      authFailureLimit,
      logger: log,
    }),
  );

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof LogQueryError) return sendProblem(reply, 400, 'Bad Request', error.message);
    if (error instanceof HttpError) return sendProblem(reply, error.status, 'Error', error.message);
    if (error.statusCode && error.statusCode < 500)
      return sendProblem(reply, error.statusCode, 'Bad Request', error.message);
    request.log.error({ err: error }, 'console API error');
    return sendProblem(
      reply,
      500,
      'Internal Server Error',
      'the console could not answer; see the server log',
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'Not Found', `no route for ${request.method} ${request.url.split('?')[0]}`),
  );
  app.addHook('preClose', async () => {
    for (const stream of [...streams]) stream.end();
  });

  app.get('/api/health', async () => ({ status: 'ok' }));
  await app.register(logsApi, { store: options.logStore, config: options.config, streams });
  await app.register(consolePages);
  for (const plugin of options.plugins ?? []) {
    await app.register(async (child) => {
      await plugin(child);
    });
  }

  await app.listen({ host: address.host, port: address.port });
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  const url = urlFor({ host: address.host, port });
  log.info({ url }, 'console listening');
  return {
    name: 'console',
    urls: [url],
    close: async () => {
      await app.close();
    },
  };
}

function sendProblem(reply: FastifyReply, status: number, title: string, detail: string) {
  return reply
    .code(status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(problem(status, title, detail));
}
