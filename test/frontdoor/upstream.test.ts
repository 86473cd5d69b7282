import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { call, harness, until } from '../sites/helpers.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const rawSite = { name: 'raw', command: 'node raw-upstream.mjs', root: FIXTURES, instances: 1 };
const HOST = 'raw.localhost';

test('the proxy frames what an instance writes by hand: chunked, until close, 1xx, 204, HEAD, hop-by-hop', async (t) => {
  const h = await harness([rawSite]);
  t.after(() => h.close());
  const port = h.frontdoor.port;

  const chunked = await call(port, HOST, '/chunked');
  assert.equal(chunked.status, 200);
  assert.equal(chunked.body, 'hello, world', 'chunks decoded and passed on');
  assert.equal(chunked.headers['x-trailer'], undefined);

  const untilClose = await call(port, HOST, '/until-close');
  assert.equal(untilClose.body, 'all of it, then close');

  const hints = await call(port, HOST, '/early-hints');
  assert.equal(hints.status, 200);
  assert.equal(hints.body, 'final');

  const empty = await call(port, HOST, '/no-content');
  assert.equal(empty.status, 204);
  assert.equal(empty.headers['x-kind'], 'empty');

  const head = await call(port, HOST, '/anything', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '42');
  assert.equal(head.headers['x-head'], 'yes');
  assert.equal(head.body, '');

  const hop = await call(port, HOST, '/hop', { headers: { 'x-request-id': 'client-id' } });
  assert.equal(hop.body, 'ok');
  assert.equal(hop.headers['x-private'], undefined, 'a header the Connection header names is hop-by-hop');
  assert.equal(hop.headers['x-request-id'], 'client-id', "the front door's request id, not the instance's");

  // The same keep-alive connection to the front door still works after all of the above.
  const after = await call(port, HOST, '/');
  assert.equal(JSON.parse(after.body).method, 'GET');
});

test('requests go out with forwarding headers, Content-Length and chunked bodies, over reused connections', async (t) => {
  const h = await harness([rawSite]);
  t.after(() => h.close());
  const port = h.frontdoor.port;

  const posted = JSON.parse(
    (
      await call(port, HOST, '/form?x=1', {
        method: 'POST',
        body: 'a=1&b=2',
        headers: {
          'content-type': 'text/plain',
          connection: 'keep-alive, x-drop',
          'x-drop': 'no',
          te: 'trailers',
        },
      })
    ).body,
  );
  assert.equal(posted.method, 'POST');
  assert.equal(posted.path, '/form?x=1');
  assert.equal(posted.body, 'a=1&b=2');
  assert.equal(posted.headers['content-length'], '7');
  assert.equal(posted.headers['x-drop'], undefined);
  assert.equal(posted.headers.te, undefined);
  assert.equal(posted.headers.host, HOST);
  assert.equal(posted.headers['x-forwarded-host'], HOST);
  assert.equal(posted.headers['x-forwarded-for'], '127.0.0.1');
  assert.match(
    posted.headers['x-request-id'],
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );

  // A chunked upload is sent on chunked.
  const chunkedBody = await new Promise<{ body: string; headers: Record<string, string> }>(
    (resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'PUT', path: '/upload', headers: { host: HOST } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.write('part one, ');
      setTimeout(() => req.end('part two'), 20);
    },
  );
  assert.equal(chunkedBody.body, 'part one, part two');
  assert.equal(chunkedBody.headers['transfer-encoding'], 'chunked');

  // Sequential requests share one upstream connection.
  const before = JSON.parse((await call(port, HOST, '/connections')).body).connections as number;
  for (let i = 0; i < 20; i++) assert.equal((await call(port, HOST, '/')).status, 200);
  const afterwards = JSON.parse((await call(port, HOST, '/connections')).body).connections as number;
  assert.ok(afterwards - before <= 1, `${afterwards - before} new upstream connections for 21 requests`);
});

test('a malformed or cut answer gives 502 or a cut response; a client leaving mid-body frees the instance', async (t) => {
  const h = await harness([rawSite], { frontdoor: { responseTimeout: '3s' } });
  t.after(() => h.close());
  const port = h.frontdoor.port;

  const malformed = await call(port, HOST, '/malformed');
  assert.equal(malformed.status, 502);
  assert.equal(malformed.headers['content-type'], 'application/problem+json');
  assert.match(JSON.parse(malformed.body).detail, /failed to answer: malformed status line/);

  await assert.rejects(
    call(port, HOST, '/cut'),
    'a body shorter than its Content-Length reaches the client as an error',
  );

  // 8 MiB pass through with back-pressure, byte for byte.
  const size = await new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/big', headers: { host: HOST } }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
    })
      .on('error', reject)
      .end();
  });
  assert.equal(size, 8 * 1024 * 1024);

  // A slow client: the proxy pauses reading the instance; the connection goes back to the pool
  // flowing, so the next requests on it are answered (responseTimeout would give 504 otherwise).
  for (let round = 0; round < 3; round++) {
    const received = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/big-chunked', headers: { host: HOST } }, (res) => {
        let n = 0;
        res.pause();
        setTimeout(() => res.resume(), 200);
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(received, 2048 * 4096);
    for (let i = 0; i < 3; i++) assert.equal((await call(port, HOST, '/')).status, 200);
  }

  const instance = h.manager.sites.get('raw')!.slots.get('production')!.instances[0]!;
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/big', headers: { host: HOST } }, (res) => {
      res.once('data', () => {
        assert.equal(h.frontdoor.inFlight(instance), 1);
        req.destroy();
        resolve();
      });
    });
    req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
    req.end();
  });
  await until(() => h.frontdoor.inFlight(instance) === 0, 5000, 'the lease to be released');
  assert.equal((await call(port, HOST, '/')).status, 200, 'the instance serves on');
});
