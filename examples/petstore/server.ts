import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { PetstoreData, type Order, type Pet, type User } from './store.js';

/**
 * A small, real implementation of the Swagger Petstore API (the paths of the well-known 2.0/3.0/3.1
 * documents in @readme/oas-examples, plus a photo, notes and an echo route described in
 * ./openapi.yaml). Tests, the benchmark and the demo run it as the REST API behind the MCP tools.
 */
export interface PetstoreOptions {
  host?: string;
  port?: number;
  /** Prefix for every route, e.g. /v2 (the spec's server path). Default: none. */
  prefix?: string;
}

export interface RunningPetstore {
  url: string;
  app: FastifyInstance;
  data: PetstoreData;
  close(): Promise<void>;
}

export async function startPetstore(options: PetstoreOptions = {}): Promise<RunningPetstore> {
  const data = new PetstoreData();
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });
  registerParsers(app);
  await app.register(async (scope) => routes(scope, data), { prefix: options.prefix ?? '' });
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://${options.host ?? '127.0.0.1'}:${port}`, app, data, close: () => app.close() };
}

function registerParsers(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  // multipart: parsed with the WHATWG FormData parser undici already ships.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (req, body, done) => {
    new Response(new Uint8Array(body as Buffer), {
      headers: { 'content-type': req.headers['content-type'] ?? '' },
    })
      .formData()
      .then((form) => done(null, form))
      .catch((error: Error) => done(Object.assign(error, { statusCode: 400 }), undefined));
  });
  app.addContentTypeParser(
    ['application/octet-stream', 'image/png', 'image/jpeg'],
    { parseAs: 'buffer' },
    (_req, body, done) => done(null, body),
  );
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body));
}

function error(reply: FastifyReply, code: number, message: string) {
  return reply.code(code).send({ code, type: 'error', message });
}

function listParam(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.flatMap((v) => String(v).split(','));
}

function petId(raw: string): number | undefined {
  return /^\d+$/.test(raw) ? Number(raw) : undefined;
}

async function routes(app: FastifyInstance, data: PetstoreData): Promise<void> {
  const validPet = (body: unknown): body is Pet =>
    !!body &&
    typeof body === 'object' &&
    typeof (body as Pet).name === 'string' &&
    Array.isArray((body as Pet).photoUrls);

  app.post('/pet', async (req, reply) => {
    if (!validPet(req.body)) return error(reply, 405, 'Invalid input: a pet needs a name and photoUrls');
    return data.addPet(req.body);
  });
  app.put('/pet', async (req, reply) => {
    if (!validPet(req.body) || typeof req.body.id !== 'number')
      return error(reply, 400, 'Invalid ID supplied');
    if (!data.pets.has(req.body.id)) return error(reply, 404, 'Pet not found');
    return data.addPet(req.body);
  });
  app.get('/pet/findByStatus', async (req) => {
    const statuses = listParam((req.query as Record<string, unknown>).status);
    return [...data.pets.values()].filter((p) => statuses.includes(p.status ?? ''));
  });
  app.get('/pet/findByTags', async (req) => {
    const tags = listParam((req.query as Record<string, unknown>).tags);
    return [...data.pets.values()].filter((p) => (p.tags ?? []).some((t) => tags.includes(t.name ?? '')));
  });
  app.get<{ Params: { petId: string } }>('/pet/:petId', async (req, reply) => {
    const id = petId(req.params.petId);
    if (id === undefined) return error(reply, 400, `Invalid ID supplied: ${req.params.petId}`);
    return data.pets.get(id) ?? error(reply, 404, 'Pet not found');
  });
  app.post<{ Params: { petId: string } }>('/pet/:petId', async (req, reply) => {
    const pet = data.pets.get(petId(req.params.petId) ?? -1);
    if (!pet) return error(reply, 404, 'Pet not found');
    const form = {
      ...(req.query as Record<string, string>),
      ...((req.body as Record<string, string>) ?? {}),
    };
    if (form.name) pet.name = form.name;
    if (form.status) pet.status = form.status as Pet['status'];
    return { code: 200, type: 'unknown', message: String(pet.id) };
  });
  app.delete<{ Params: { petId: string } }>('/pet/:petId', async (req, reply) => {
    const id = petId(req.params.petId) ?? -1;
    if (!data.pets.delete(id)) return error(reply, 404, 'Pet not found');
    return {
      code: 200,
      type: 'unknown',
      message: `${id}${req.headers.api_key ? ` (api_key ${String(req.headers.api_key).length} chars)` : ''}`,
    };
  });
  app.post<{ Params: { petId: string } }>('/pet/:petId/uploadImage', async (req, reply) => {
    const id = petId(req.params.petId) ?? -1;
    if (!data.pets.has(id)) return error(reply, 404, 'Pet not found');
    let bytes: Buffer;
    let contentType = 'application/octet-stream';
    let metadata = (req.query as Record<string, string>).additionalMetadata ?? '';
    if (req.body instanceof FormData) {
      const file = req.body.get('file');
      if (!(file instanceof Blob)) return error(reply, 400, 'multipart field "file" is missing');
      bytes = Buffer.from(await file.arrayBuffer());
      contentType = file.type || contentType;
      metadata = String(req.body.get('additionalMetadata') ?? metadata);
    } else if (Buffer.isBuffer(req.body)) {
      bytes = req.body;
      contentType = req.headers['content-type'] ?? contentType;
    } else {
      return error(reply, 415, 'send multipart/form-data or application/octet-stream');
    }
    data.images.set(id, { bytes, contentType });
    return {
      code: 200,
      type: 'unknown',
      message: `additionalMetadata: ${metadata}\nFile uploaded, ${bytes.length} bytes, ${contentType}`,
    };
  });
  app.get<{ Params: { petId: string } }>('/pet/:petId/photo', async (req, reply) => {
    const image = data.images.get(petId(req.params.petId) ?? -1);
    if (!image) return error(reply, 404, 'No photo for this pet');
    return reply.type(image.contentType).send(image.bytes);
  });
  app.get<{ Params: { petId: string } }>('/pet/:petId/notes', async (req, reply) => {
    const id = petId(req.params.petId) ?? -1;
    if (!data.pets.has(id)) return error(reply, 404, 'Pet not found');
    return reply.type('text/plain; charset=utf-8').send(data.notes.get(id) ?? '');
  });
  app.put<{ Params: { petId: string } }>('/pet/:petId/notes', async (req, reply) => {
    const id = petId(req.params.petId) ?? -1;
    if (!data.pets.has(id)) return error(reply, 404, 'Pet not found');
    data.notes.set(id, String(req.body ?? ''));
    return reply.code(204).send();
  });

  app.get('/store/inventory', async () => {
    const counts: Record<string, number> = {};
    for (const pet of data.pets.values())
      counts[pet.status ?? 'unknown'] = (counts[pet.status ?? 'unknown'] ?? 0) + 1;
    return counts;
  });
  app.post('/store/order', async (req, reply) => {
    const order = req.body as Order;
    if (!order || typeof order !== 'object') return error(reply, 400, 'Invalid Order');
    const stored = { ...order, id: order.id ?? data.newId() };
    data.orders.set(stored.id, stored);
    return stored;
  });
  app.get<{ Params: { orderId: string } }>('/store/order/:orderId', async (req, reply) => {
    return data.orders.get(petId(req.params.orderId) ?? -1) ?? error(reply, 404, 'Order not found');
  });
  app.delete<{ Params: { orderId: string } }>('/store/order/:orderId', async (req, reply) => {
    return data.orders.delete(petId(req.params.orderId) ?? -1)
      ? { code: 200, type: 'unknown', message: req.params.orderId }
      : error(reply, 404, 'Order not found');
  });

  const saveUsers = (users: unknown, reply: FastifyReply) => {
    if (!Array.isArray(users)) return error(reply, 400, 'expected a list of users');
    for (const user of users as User[]) data.users.set(user.username, user);
    return { code: 200, type: 'unknown', message: 'ok' };
  };
  app.post('/user', async (req, reply) => {
    const user = req.body as User;
    if (!user || typeof user.username !== 'string') return error(reply, 400, 'a user needs a username');
    data.users.set(user.username, user);
    return user;
  });
  app.post('/user/createWithArray', async (req, reply) => saveUsers(req.body, reply));
  app.post('/user/createWithList', async (req, reply) => saveUsers(req.body, reply));
  app.get('/user/login', async (req, reply) => {
    const { username, password } = req.query as Record<string, string>;
    const user = data.users.get(username ?? '');
    if (!user || user.password !== password) return error(reply, 400, 'Invalid username/password supplied');
    return reply
      .header('x-expires-after', new Date(Date.now() + 3600_000).toUTCString())
      .send(`logged in user session:${data.newId()}`);
  });
  app.get('/user/logout', async () => ({ code: 200, type: 'unknown', message: 'ok' }));
  app.get<{ Params: { username: string } }>(
    '/user/:username',
    async (req, reply) => data.users.get(req.params.username) ?? error(reply, 404, 'User not found'),
  );
  app.put<{ Params: { username: string } }>('/user/:username', async (req, reply) => {
    if (!data.users.has(req.params.username)) return error(reply, 404, 'User not found');
    data.users.set(req.params.username, {
      ...(req.body as User),
      username: (req.body as User)?.username ?? req.params.username,
    });
    return { code: 200, type: 'unknown', message: 'ok' };
  });
  app.delete<{ Params: { username: string } }>('/user/:username', async (req, reply) =>
    data.users.delete(req.params.username)
      ? { code: 200, type: 'unknown', message: req.params.username }
      : error(reply, 404, 'User not found'),
  );

  // Shows exactly what arrived: tests use it to check paths, headers and trace context end to end.
  app.all('/echo/*', async (req) => ({
    method: req.method,
    url: req.raw.url,
    headers: req.headers,
    body: req.body ?? null,
  }));
}
