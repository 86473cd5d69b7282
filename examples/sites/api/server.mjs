// A small REST API for Berth's demos and tests: items in memory, an OpenAPI document, health,
// server-sent events and a WebSocket echo. Listens on PORT, as App Service asks.
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';

const port = Number(process.env.PORT ?? 8080);
const version = existsSync(new URL('./VERSION', import.meta.url))
  ? readFileSync(new URL('./VERSION', import.meta.url), 'utf8').trim()
  : 'dev';
const items = new Map([[1, { id: 1, name: 'first' }]]);
let nextId = 2;
let healthy = true;

const who = () => ({
  site: process.env.WEBSITE_SITE_NAME,
  slot: process.env.WEBSITE_SLOT_NAME,
  instance: process.env.WEBSITE_INSTANCE_ID,
  version,
  greeting: process.env.GREETING ?? null,
  stage: process.env.STAGE ?? null,
});

function json(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const openapi = {
  openapi: '3.0.3',
  info: { title: 'Items API', version: '1.0.0' },
  paths: {
    '/': {
      get: {
        operationId: 'whoAmI',
        summary: 'Which site, slot and instance answered',
        responses: { 200: { description: 'who' } },
      },
    },
    '/api/items': {
      get: { operationId: 'listItems', summary: 'List items', responses: { 200: { description: 'items' } } },
      post: {
        operationId: 'createItem',
        summary: 'Create an item',
        requestBody: {
          content: {
            'application/json': {
              schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
            },
          },
        },
        responses: { 201: { description: 'created' } },
      },
    },
    '/api/items/{id}': {
      get: {
        operationId: 'getItem',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { 200: { description: 'item' } },
      },
    },
  },
};

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') return json(res, 200, who());
  if (url.pathname === '/headers') return json(res, 200, { headers: req.headers, url: req.url });
  if (url.pathname === '/openapi.json') return json(res, 200, openapi);
  if (url.pathname === '/health')
    return healthy ? json(res, 200, { ok: true }) : json(res, 500, { ok: false });
  if (url.pathname === '/make-unhealthy') {
    healthy = false;
    return json(res, 200, { healthy });
  }
  if (url.pathname === '/crash') {
    json(res, 200, { crashing: true });
    setTimeout(() => process.exit(7), 10);
    return;
  }
  if (url.pathname === '/slow') {
    const ms = Number(url.searchParams.get('ms') ?? 1000);
    setTimeout(() => json(res, 200, { waited: ms, ...who() }), ms);
    return;
  }
  if (url.pathname === '/echo' && req.method === 'POST') {
    // Streams the body back as it arrives: proves streaming in both directions.
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
    req.pipe(res);
    return;
  }
  if (url.pathname === '/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let n = 0;
    const send = () => res.write(`id: ${n}\ndata: ${JSON.stringify({ n: n++, at: Date.now() })}\n\n`);
    send();
    const timer = setInterval(send, Number(url.searchParams.get('every') ?? 200));
    req.on('close', () => clearInterval(timer));
    return;
  }
  if (url.pathname === '/api/items' && req.method === 'GET') return json(res, 200, [...items.values()]);
  if (url.pathname === '/api/items' && req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const { name } = JSON.parse(body);
        if (typeof name !== 'string') return json(res, 400, { error: 'name must be a string' });
        const item = { id: nextId++, name };
        items.set(item.id, item);
        json(res, 201, item);
      } catch {
        json(res, 400, { error: 'body must be JSON' });
      }
    });
    return;
  }
  const match = /^\/api\/items\/(\d+)$/.exec(url.pathname);
  if (match && req.method === 'GET') {
    const item = items.get(Number(match[1]));
    return item ? json(res, 200, item) : json(res, 404, { error: 'no such item' });
  }
  json(res, 404, { error: 'not found', path: url.pathname });
});

// A minimal WebSocket echo (RFC 6455 text frames), enough to prove the front door's upgrade path.
server.on('upgrade', (req, socket) => {
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
    return socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  const accept = createHash('sha1')
    .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 2) {
      const opcode = buffer[0] & 0x0f;
      let length = buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (buffer[1] & 0x80) !== 0;
      const total = offset + (masked ? 4 : 0) + length;
      if (buffer.length < total) return;
      const mask = masked ? buffer.subarray(offset, offset + 4) : null;
      const payload = Buffer.from(buffer.subarray(offset + (masked ? 4 : 0), total));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      buffer = buffer.subarray(total);
      if (opcode === 8) return socket.end(Buffer.from([0x88, 0]));
      if (opcode === 1) {
        const reply = Buffer.from(`echo: ${payload.toString()} from ${process.env.WEBSITE_INSTANCE_ID}`);
        const head =
          reply.length < 126
            ? Buffer.from([0x81, reply.length])
            : Buffer.from([0x81, 126, reply.length >> 8, reply.length & 0xff]);
        socket.write(Buffer.concat([head, reply]));
      }
    }
  });
  socket.on('error', () => {});
});

server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () =>
  console.log(JSON.stringify({ level: 'info', msg: `listening on ${port}`, version })),
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
