import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpError, PROBLEM_CONTENT_TYPE, problem } from '../lib/problem.js';
import type { SiteManager } from './manager.js';
import { PRODUCTION } from './names.js';
import type { DeploySource } from './package.js';
import type { StartupLogInfo } from './types.js';

export interface SitesApiOptions {
  manager: SiteManager;
  /** Largest deployment upload accepted. */
  maxUploadBytes?: number;
}

const ARCHIVE_TYPES = [
  'application/zip',
  'application/x-zip-compressed',
  'application/gzip',
  'application/x-gzip',
  'application/x-tar',
  'application/x-compressed-tar',
  'application/octet-stream',
];

interface Upload {
  uploadedFile: string;
  cleanup(): Promise<void>;
}

type Q = Record<string, string | undefined>;

function slotOf(query: unknown, body?: unknown): string {
  const fromBody = (body as { slot?: unknown } | null | undefined)?.slot;
  return String((query as Q).slot ?? fromBody ?? PRODUCTION);
}

/**
 * The sites control API the console serves: sites, instances, deploy, slots, startup logs. Errors
 * are problem+json with a detail the user can act on. Register with `app.register(sitesApi, { manager })`.
 */
export async function sitesApi(app: FastifyInstance, options: SitesApiOptions): Promise<void> {
  const { manager } = options;
  const maxUpload = options.maxUploadBytes ?? 1024 ** 3;

  // Archives are streamed to a temporary file, never held in memory.
  app.addContentTypeParser(ARCHIVE_TYPES, (_req, payload, done) => {
    void (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'berth-upload-'));
      const file = join(dir, 'package');
      let size = 0;
      payload.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxUpload)
          payload.destroy(new HttpError(413, `the package is larger than ${maxUpload} bytes`));
      });
      try {
        await pipeline(payload, createWriteStream(file));
        done(null, {
          uploadedFile: file,
          cleanup: () => rm(dir, { recursive: true, force: true }),
        } satisfies Upload);
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        done(
          error instanceof HttpError
            ? error
            : new HttpError(400, `upload failed: ${(error as Error).message}`),
          undefined,
        );
      }
    })();
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    if (error instanceof HttpError) return sendProblem(reply, error.status, error.message, error.extra);
    if (error.statusCode && error.statusCode < 500)
      return sendProblem(reply, error.statusCode, error.message);
    request.log.error({ err: error }, 'sites API error');
    return sendProblem(reply, 500, 'internal error in the sites API; see the server log');
  });

  app.get('/api/sites', async () => manager.status());
  app.post('/api/sites', async (request, reply) =>
    reply.code(201).send(await manager.createSite(request.body)),
  );
  app.get<{ Params: { name: string } }>('/api/sites/:name', async (request) =>
    manager.siteStatus(request.params.name),
  );
  app.delete<{ Params: { name: string } }>('/api/sites/:name', async (request, reply) => {
    await manager.deleteSite(request.params.name);
    return reply.code(204).send();
  });
  app.post<{ Params: { name: string; action: string } }>('/api/sites/:name/:action', async (request) => {
    const { name, action } = request.params;
    const slot = slotOf(request.query, request.body);
    switch (action) {
      case 'start':
        return manager.startSite(name, slot);
      case 'stop':
        return manager.stopSite(name, slot);
      case 'restart':
        return manager.restartSite(name, slot);
      case 'scale': {
        const count =
          (request.body as { instances?: unknown } | undefined)?.instances ?? (request.query as Q).instances;
        return manager.scale(name, typeof count === 'string' ? Number(count) : (count as number), slot);
      }
      case 'deploy':
        return deploy(manager, name, slot, request.body);
      default:
        throw new HttpError(404, `unknown action "${action}"; use start, stop, restart, scale or deploy`);
    }
  });

  app.get<{ Params: { name: string } }>(
    '/api/sites/:name/slots',
    async (request) => manager.siteStatus(request.params.name).slots,
  );
  app.post<{ Params: { name: string } }>('/api/sites/:name/slots', async (request, reply) => {
    const body = (request.body ?? {}) as { name?: unknown; configurationSource?: unknown };
    if (typeof body.name !== 'string')
      throw new HttpError(400, 'give the new slot\'s name as {"name": "staging"}');
    const status = await manager.createSlot(
      request.params.name,
      body.name,
      typeof body.configurationSource === 'string' ? body.configurationSource : undefined,
    );
    return reply.code(201).send(status);
  });
  app.delete<{ Params: { name: string; slot: string } }>('/api/sites/:name/slots/:slot', async (request) =>
    manager.deleteSlot(request.params.name, request.params.slot),
  );
  app.post<{ Params: { name: string } }>('/api/sites/:name/slots/swap', async (request) => {
    const body = (request.body ?? {}) as { source?: unknown; target?: unknown };
    if (typeof body.source !== 'string')
      throw new HttpError(400, 'give the slot to swap as {"source": "staging", "target": "production"}');
    const steps: string[] = [];
    const status = await manager.swap(
      request.params.name,
      body.source,
      typeof body.target === 'string' ? body.target : PRODUCTION,
      (s) => steps.push(s),
    );
    return { ...status, steps };
  });

  app.get('/api/startuplogs', async (request, reply) => {
    const q = request.query as Q;
    if (q.outcome !== undefined && q.outcome !== 'success' && q.outcome !== 'failure')
      throw new HttpError(400, 'outcome must be success or failure');
    const filter = {
      site: q.site,
      slot: q.slot,
      instance: q.instance,
      outcome: q.outcome as 'success' | 'failure' | undefined,
    };
    if (q.latest === 'true') {
      const latest = await manager.startupLogs.latest(filter);
      if (!latest) throw new HttpError(404, `no startup logs match${q.site ? ` for site ${q.site}` : ''}`);
      const { content } = await manager.startupLogs.read(latest.name, {
        site: latest.site,
        slot: latest.slot,
      });
      return sendStartupLog(reply, latest, content);
    }
    const files = await manager.startupLogs.list(filter);
    return {
      files: files.map((f) => ({ ...f, href: `/api/startuplogs/${f.name}?site=${f.site}&slot=${f.slot}` })),
    };
  });
  app.get('/api/startuplogs/summary', async (request) => {
    const q = request.query as Q;
    return manager.startupLogs.summary({ site: q.site, slot: q.slot, instance: q.instance });
  });
  app.get<{ Params: { file: string } }>('/api/startuplogs/:file', async (request, reply) => {
    const q = request.query as Q;
    const { info, content } = await manager.startupLogs.read(request.params.file, {
      site: q.site,
      slot: q.slot,
    });
    return sendStartupLog(reply, info, content);
  });
}

async function deploy(manager: SiteManager, name: string, slot: string, body: unknown) {
  const upload = body as Upload | { path?: unknown } | undefined;
  if (upload && 'uploadedFile' in upload) {
    try {
      return await manager.deploy(name, { kind: 'archive', path: upload.uploadedFile }, slot);
    } finally {
      await upload.cleanup();
    }
  }
  const path = (upload as { path?: unknown } | undefined)?.path;
  if (typeof path !== 'string' || path === '') {
    throw new HttpError(
      400,
      'send a zip or tarball as the body (content-type application/zip or application/gzip), or JSON {"path": "/folder/or/archive/on/this/machine"}',
    );
  }
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new HttpError(400, `${path} does not exist on the server`);
  const source: DeploySource = info.isDirectory() ? { kind: 'directory', path } : { kind: 'archive', path };
  return manager.deploy(name, source, slot);
}

function sendProblem(
  reply: FastifyReply,
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
) {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    404: 'Not Found',
    409: 'Conflict',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Content',
    500: 'Internal Server Error',
  };
  return reply
    .code(status)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(problem(status, titles[status] ?? 'Error', detail, extra));
}

/** A startup log as plain text, with what it is about in `x-startuplog-*` headers. */
function sendStartupLog(reply: FastifyReply, info: StartupLogInfo, content: string): FastifyReply {
  return reply
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-startuplog-filename', info.name)
    .header('x-startuplog-date', info.date)
    .header('x-startuplog-instance', info.instance)
    .header('x-startuplog-outcome', info.outcome)
    .header('x-startuplog-site', info.site)
    .header('x-startuplog-slot', info.slot)
    .send(content);
}
