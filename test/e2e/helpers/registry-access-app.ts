// A tiny Fastify app that routes like the registry (ping, catalog, manifests) and asks an
// AccessControl before each route: lets access control be tested without the registry core.
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { pino, type Logger } from 'pino';
import type { AccessControl, AccessRequest, RegistryAction } from '../../../src/registry/access/index.js';

export async function startAccessApp(access: AccessControl): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  access.routes?.(app);
  const guard = async (request: AccessRequest, reply: FastifyReply) => {
    const decision = await access.authorize(request);
    if (decision.allowed) return decision.subject ?? '';
    await reply
      .status(decision.status)
      .headers(decision.headers)
      .send({ errors: [{ code: decision.code, message: decision.message }] });
    return undefined;
  };
  app.get('/v2/', async (req, reply) => {
    const subject = await guard({ headers: req.headers, repository: '', actions: [] }, reply);
    if (subject !== undefined) return { ok: true, subject };
  });
  app.get('/v2/_catalog', async (req, reply) => {
    const subject = await guard({ headers: req.headers, repository: '', actions: [], catalog: true }, reply);
    if (subject !== undefined) return { repositories: [] };
  });
  const actionFor: Record<string, RegistryAction> = {
    GET: 'pull',
    HEAD: 'pull',
    PUT: 'push',
    DELETE: 'delete',
  };
  app.route({
    method: ['GET', 'PUT', 'DELETE'],
    url: '/v2/*',
    handler: async (req, reply) => {
      const match = /^\/v2\/(.+)\/manifests\/[^/]+$/.exec(req.url.split('?')[0]!);
      if (!match) return reply.status(404).send({ errors: [{ code: 'NAME_UNKNOWN', message: 'no route' }] });
      const subject = await guard(
        { headers: req.headers, repository: match[1]!, actions: [actionFor[req.method]!] },
        reply,
      );
      if (subject !== undefined) return { ok: true, subject };
    },
  });
  app.addContentTypeParser('*', (_req, payload, done) => {
    payload.resume();
    payload.on('end', () => done(null));
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: address };
}

/** A logger that keeps every line it writes, so tests can assert that secrets never reach the log. */
export function capturingLogger(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), text: () => chunks.join('') };
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
