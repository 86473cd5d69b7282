import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, type ServerResponse } from 'node:http';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { configSchema } from '../../src/config/schema.js';
import { FastConnections } from '../../src/frontdoor/fast-connection.js';
import { startFrontdoor } from '../../src/frontdoor/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { SiteManager } from '../../src/sites/index.js';
import { parseRequestHead } from '../../src/frontdoor/request-head.js';
import { apiSite, harness, until } from '../sites/helpers.js';
import { exchangeRaw, parseResponses } from './support/raw-http.js';

/** A second front door over the same sites with the fast path off: every request through node:http. */
function nodeOnlyFrontdoor(manager: SiteManager) {
  return startFrontdoor({
    config: configSchema.parse({ frontdoor: { listen: '127.0.0.1:0', fastPath: false } }).frontdoor,
    manager,
    logger: silentLogger,
  });
}

const parse = (head: string) => {
  const buffer = Buffer.from(head, 'latin1');
  return parseRequestHead(buffer, buffer.indexOf('\r\n\r\n'));
};

test('the fast path reads plain requests and leaves every other one to node:http', () => {
  const plain = parse('GET /a?b=1 HTTP/1.1\r\nHost: api.localhost\r\nX-Custom:  spaced value \t\r\n\r\n');
  assert.deepEqual(plain, {
    method: 'GET',
    url: '/a?b=1',
    rawHeaders: ['Host', 'api.localhost', 'X-Custom', 'spaced value'],
    contentLength: -1,
    close: false,
  });
  const post = parse(
    'POST /echo HTTP/1.1\r\nhost: a\r\ncontent-length: 12\r\nConnection: keep-alive, close\r\n\r\n',
  );
  assert.equal(post?.contentLength, 12);
  assert.equal(post?.close, true);
  // Latin-1 bytes in a value are kept as node:http keeps them.
  assert.equal(parse('GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n')?.rawHeaders[3], 'caf\xe9');

  const handedOff: Record<string, string> = {
    'HTTP/1.0': 'GET / HTTP/1.0\r\nHost: a\r\n\r\n',
    'absolute-form target': 'GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'asterisk target': 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
    'space in target': 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n',
    'method outside the list': 'PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n',
    'lower-case method': 'get / HTTP/1.1\r\nHost: a\r\n\r\n',
    'chunked body': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
    'two Content-Lengths': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n',
    'Content-Length not a number': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n',
    upgrade: 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    'Connection: upgrade alone': 'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n',
    expect: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n',
    'no Host': 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n',
    'two Hosts': 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'obs-fold': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n',
    'space before colon': 'GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n',
    'empty name': 'GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n',
    'no colon': 'GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n',
    'bare LF in a value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\nX-B: 2\r\n\r\n',
    'NUL in a value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x002\r\n\r\n',
    'DEL in a value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x7f\r\n\r\n',
    'over 100 fields': `GET / HTTP/1.1\r\nHost: a\r\n${'X-A: 1\r\n'.repeat(100)}\r\n`,
  };
  for (const [what, head] of Object.entries(handedOff)) assert.equal(parse(head), undefined, what);
});

test('a proxied exchange answers the same on the fast path as through node:http', async (t) => {
  const h = await harness([apiSite({ instances: 1 })]);
  t.after(() => h.close());
  const slow = await nodeOnlyFrontdoor(h.manager);
  t.after(() => slow.close());

  const body = JSON.stringify({ name: 'fast' });
  const requests = [
    'GET / HTTP/1.1\r\nHost: api.localhost\r\nX-Request-Id: parity-1\r\n\r\n',
    'GET /headers?q=1 HTTP/1.1\r\nHost: api.localhost\r\nX-Request-Id: parity-2\r\nX-Forwarded-For: 10.0.0.9\r\n' +
      'Connection: keep-alive, X-Hop\r\nX-Hop: dropped\r\nX-MS-CLIENT-PRINCIPAL-NAME: forged\r\nCookie: a=1\r\n\r\n',
    'HEAD / HTTP/1.1\r\nHost: api.localhost\r\nX-Request-Id: parity-3\r\n\r\n',
    `POST /echo HTTP/1.1\r\nHost: api.localhost\r\nX-Request-Id: parity-4\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    'GET /nowhere HTTP/1.1\r\nHost: api.localhost\r\nX-Request-Id: parity-5\r\n\r\n',
    'OPTIONS / HTTP/1.1\r\nHost: api.localhost\r\nX-Request-Id: parity-6\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: nobody.localhost\r\nX-Request-Id: parity-7\r\n\r\n',
    'DELETE /api/items/1 HTTP/1.1\r\nHost: api.localhost\r\nX-Request-Id: parity-8\r\nConnection: close\r\n\r\n',
  ];
  const answers = async (port: number) =>
    parseResponses(await exchangeRaw(port, requests.join('')), [2]).map((r) => ({
      status: r.status,
      names: Object.keys(r.headers).sort(),
      headers: { ...r.headers, date: undefined } as Record<string, string | undefined>,
      body: r.body,
    }));
  const fast = await answers(h.frontdoor.port);
  const node = await answers(slow.port);
  assert.equal(fast.length, requests.length, 'every pipelined request answered, in order');
  assert.deepEqual(fast, node);
  assert.deepEqual(
    fast.map((r) => r.status),
    [200, 200, 200, 200, 404, 200, 404, 404],
  );
  const echoed = JSON.parse(fast[1]!.body).headers as Record<string, string>;
  assert.equal(echoed['x-hop'], undefined, 'a field named in Connection is hop-by-hop');
  assert.equal(echoed['x-ms-client-principal-name'], undefined, 'identity headers are removed at the edge');
  assert.equal(echoed['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
  assert.equal(fast[3]!.body, body, 'a Content-Length body is streamed to the instance');
  assert.equal(fast[3]!.headers['transfer-encoding'], 'chunked', 'an unknown length is re-chunked');
  assert.equal(fast[7]!.headers.connection, 'close');
});

test('a connection moves to node:http at the first request the fast path does not take, and keeps working', async (t) => {
  const h = await harness([apiSite({ instances: 1 })]);
  t.after(() => h.close());
  const port = h.frontdoor.port;
  const data = await exchangeRaw(
    port,
    'GET / HTTP/1.1\r\nHost: api.localhost\r\n\r\n' +
      'POST /echo HTTP/1.1\r\nHost: api.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' +
      'GET /headers HTTP/1.1\r\nHost: api.localhost\r\nConnection: close\r\n\r\n',
  );
  const [first, chunked, last] = parseResponses(data);
  assert.equal(first?.status, 200);
  // The head's spelling shows who wrote it: the fast path writes lower-case names, node:http not.
  assert.match(first!.head, /\r\nconnection: keep-alive\r\n/);
  assert.equal(chunked?.body, 'hello');
  assert.match(chunked!.head, /\r\nConnection: keep-alive\r\n/, 'the chunked request went through node:http');
  assert.equal(last?.status, 200);
  assert.equal(JSON.parse(last!.body).url, '/headers');

  // What node:http refuses, it refuses on the front door too: a broken field, an oversized head.
  const broken = parseResponses(
    await exchangeRaw(port, 'GET / HTTP/1.1\r\nHost: api.localhost\r\nBad Field: x\r\n\r\n'),
  );
  assert.equal(broken[0]?.status, 400);
  const huge = parseResponses(
    await exchangeRaw(port, `GET / HTTP/1.1\r\nHost: api.localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
  );
  assert.equal(huge[0]?.status, 431);
  // A head sent a byte at a time is read across reads.
  const slowHead = await new Promise<Buffer>((resolve, reject) => {
    void import('node:net').then(({ connect }) => {
      const socket = connect(port, '127.0.0.1');
      const text = 'GET / HTTP/1.1\r\nHost: api.localhost\r\nConnection: close\r\n\r\n';
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
      let i = 0;
      const timer = setInterval(() => {
        socket.write(text[i++]!);
        if (i === text.length) clearInterval(timer);
      }, 1);
    }, reject);
  });
  assert.equal(parseResponses(slowHead)[0]?.status, 200);
});

/** FastConnections on a plain net server, answering every request itself, with short timeouts. */
async function fastServer(
  answer: (body: string, url: string) => string,
  timeouts = { headersTimeout: 300, keepAliveTimeout: 300 },
) {
  const handedOff: Socket[] = [];
  const fast = new FastConnections(
    {
      dispatch(request, response) {
        if (request.url === '/node') return false;
        let body = '';
        request.on('data', (c: Buffer) => (body += c.toString()));
        const reply = () => {
          const text = answer(body, request.url);
          response.writeHead(200, undefined, ['content-length', String(Buffer.byteLength(text))]);
          response.end(text);
        };
        const length = Number(
          request.rawHeaders[request.rawHeaders.findIndex((v) => /^content-length$/i.test(v)) + 1] ?? 0,
        );
        if (length > 0 && request.url !== '/early') request.on('end', reply);
        else reply();
        return true;
      },
      handOff(socket) {
        handedOff.push(socket);
        socket.on('data', () =>
          socket.end('HTTP/1.1 418 Handed Off\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'),
        );
      },
    },
    timeouts,
  );
  const server = createServer((socket) => fast.accept(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    fast,
    handedOff,
    close: () => {
      fast.closeIdle();
      fast.destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('fast connections: bodies across reads, pipelining, Connection: close, early answers, timeouts', async (t) => {
  const s = await fastServer((body, url) => `${url}:${body}`);
  t.after(() => s.close());

  // Pipelined, with a body split over the pipelined requests' boundaries.
  const data = await exchangeRaw(
    s.port,
    'POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde' +
      'GET /two HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /three HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz',
  );
  const replies = parseResponses(data);
  assert.deepEqual(
    replies.map((r) => r.body),
    ['/one:abcde', '/two:', '/three:xyz'],
  );
  assert.equal(replies[2]!.headers.connection, 'close');
  assert.match(replies[0]!.headers.date ?? '', /GMT$/, 'a Date header is added');

  // A body in several writes reaches the request as it comes.
  const split = await new Promise<Buffer>((resolve) => {
    void import('node:net').then(({ connect }) => {
      const socket = connect(s.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.write('POST /split HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 6\r\n\r\nab');
      setTimeout(() => socket.write('cd'), 20);
      setTimeout(() => socket.write('ef'), 40);
    });
  });
  assert.equal(parseResponses(split)[0]?.body, '/split:abcdef');

  // Answered before the body arrived: the connection closes after the answer (the rest of the body
  // cannot be told from a next request without reading it).
  const early = await exchangeRaw(s.port, 'POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab');
  assert.equal(parseResponses(early)[0]?.body, '/early:');

  // Hand-off puts back every byte not yet read, the handed-off request's first.
  const handed = await exchangeRaw(
    s.port,
    'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /node HTTP/1.1\r\nHost: x\r\n\r\n',
  );
  assert.deepEqual(
    parseResponses(handed).map((r) => r.status),
    [200, 418],
  );
  assert.equal(s.handedOff.length, 1);

  // A head left unfinished past headersTimeout gets 408; an idle connection is closed after keepAliveTimeout.
  const started = Date.now();
  const stalled = await exchangeRaw(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n');
  assert.match(stalled.toString(), /^HTTP\/1\.1 408 /);
  assert.ok(Date.now() - started >= 300, 'not before the timeout');
  const idle = await exchangeRaw(s.port, 'GET /idle HTTP/1.1\r\nHost: x\r\n\r\n', 10_000);
  assert.equal(parseResponses(idle)[0]?.body, '/idle:', 'answered, then closed by the server when idle');
  await until(() => s.fast.size === 0, 2_000, 'closed connections to be forgotten');
});

test('large bodies cross both paths byte for byte, both ways, with a slow reader', async (t) => {
  const h = await harness([apiSite({ instances: 1 })]);
  t.after(() => h.close());
  const slow = await nodeOnlyFrontdoor(h.manager);
  t.after(() => slow.close());
  const body = randomBytes(3 * 1024 * 1024 + 17);
  for (const [port, spelling] of [
    [h.frontdoor.port, 'connection'],
    [slow.port, 'Connection'],
  ] as const) {
    const { status, received, head } = await new Promise<{ status: number; received: Buffer; head: string }>(
      (resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/echo',
            agent: false,
            headers: {
              host: 'api.localhost',
              'content-length': body.length,
              'content-type': 'application/octet-stream',
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            // Read slowly at first, so the front door has to hold the instance back.
            res.pause();
            setTimeout(() => res.resume(), 300);
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                received: Buffer.concat(chunks),
                head: res.rawHeaders.join('|'),
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        // In pieces, as a client streaming an upload would.
        for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024));
        req.end();
      },
    );
    assert.equal(status, 200);
    // Who answered: the fast path writes lower-case names, node:http spells it Connection.
    assert.ok(head.includes(`|${spelling}|close`), `${spelling}: ${head}`);
    assert.equal(received.length, body.length);
    assert.ok(received.equals(body), `the echoed body is the body sent (${spelling})`);
  }
});

test('a middleware whose applies() throws still gets the request (fail closed), and the front door keeps serving', async (t) => {
  const guard = {
    name: 'guard',
    applies(): boolean {
      throw new Error('cannot decide');
    },
    handle(_req: unknown, res: ServerResponse) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('guarded');
    },
  };
  const h = await harness([apiSite({ instances: 1 })], { middlewares: { api: [guard] } });
  t.after(() => h.close());
  for (let i = 0; i < 2; i++) {
    const [reply] = parseResponses(
      await exchangeRaw(
        h.frontdoor.port,
        'GET / HTTP/1.1\r\nHost: api.localhost\r\nConnection: close\r\n\r\n',
      ),
    );
    assert.equal(reply?.status, 401);
    assert.equal(reply?.body, 'guarded');
  }
});
