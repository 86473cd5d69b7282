import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { WebSocket } from 'undici';
import { apiSite, call, harness } from '../sites/helpers.js';

test('the front door serves a site by host through its instances, round-robin, with forwarding headers', async (t) => {
  const h = await harness([apiSite({ instances: 2 })]);
  t.after(() => h.close());
  const port = h.frontdoor.port;

  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const reply = await call(port, `api.localhost:${port}`, '/');
    assert.equal(reply.status, 200);
    seen.add(JSON.parse(reply.body).instance);
  }
  const ids = h.manager.siteStatus('api').slots[0]!.instances.map((i) => i.id);
  assert.deepEqual([...seen].sort(), [...ids].sort(), 'round-robin reaches both instances');

  const echoed = await call(port, `api.localhost:${port}`, '/headers', {
    headers: { 'x-request-id': 'req-123', 'x-forwarded-for': '10.0.0.9' },
  });
  const { headers } = JSON.parse(echoed.body);
  assert.equal(headers['x-request-id'], 'req-123');
  assert.equal(echoed.headers['x-request-id'], 'req-123', 'the request id comes back to the client');
  assert.equal(headers['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
  assert.equal(headers['x-forwarded-proto'], 'http');
  assert.equal(headers['x-forwarded-host'], `api.localhost:${port}`);
  // Identity headers are the front door's to set: a client's copies never reach the app.
  const spoofed = await call(port, `api.localhost:${port}`, '/headers', {
    headers: {
      'X-MS-CLIENT-PRINCIPAL-NAME': 'admin@example.com',
      'x-ms-client-principal': 'eyJhdXRoX3R5cCI6ImFhZCJ9',
      'x-ms-token-aad-access-token': 'forged',
      'x-ms-routing-name': 'production',
    },
  });
  const forwarded = JSON.parse(spoofed.body).headers as Record<string, string>;
  assert.deepEqual(
    Object.keys(forwarded).filter((name) => name.startsWith('x-ms-')),
    ['x-ms-routing-name'],
    'only the non-identity x-ms- header is forwarded',
  );
  const generated = await call(port, `api.localhost:${port}`, '/headers', {
    headers: { 'x-request-id': 'bad id with spaces' },
  });
  assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'a malformed id is replaced');

  const unknown = await call(port, `nope.localhost:${port}`, '/');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers['content-type'], 'application/problem+json');
  assert.match(JSON.parse(unknown.body).detail, /no site is served at host "nope.localhost"/);
  // A browser gets the 404 as a page; the Host it sent is hostile text and is escaped.
  const page = await call(port, '<img src=x onerror=alert(1)>', '/', {
    headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
  });
  assert.equal(page.status, 404);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.doesNotMatch(page.body, /<img/);
  assert.match(page.body, /no site is served at host &quot;&lt;img src=x onerror=alert\(1\)&gt;&quot;/);
});

test('streams request and response bodies, flushes SSE at once, and proxies WebSocket upgrades', async (t) => {
  // undici's WebSocket cannot set Host, so a path router sends /ws on 127.0.0.1 to the site.
  const h = await harness([apiSite({ instances: 1 })], {
    frontdoor: { routers: [{ pathPrefix: '/ws', site: 'api' }] },
  });
  t.after(() => h.close());
  const port = h.frontdoor.port;

  // Streaming both ways: the first chunk comes back before the request body is finished.
  const firstEcho = await new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/echo',
        headers: { host: 'api.localhost', 'content-type': 'text/plain' },
      },
      (res) => {
        res.once('data', (chunk: Buffer) => {
          resolve(chunk.toString());
          req.end('second');
        });
      },
    );
    req.on('error', reject);
    req.write('first-chunk');
  });
  assert.equal(firstEcho, 'first-chunk');

  // SSE: the first event arrives long before a second would (the app sends every 5 s).
  const started = Date.now();
  const firstEvent = await new Promise<string>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/events?every=5000', headers: { host: 'api.localhost' } },
      (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        res.setEncoding('utf8');
        res.once('data', (chunk: string) => {
          resolve(chunk);
          req.destroy();
        });
      },
    );
    req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
    req.end();
  });
  assert.match(firstEvent, /^id: 0\ndata: /);
  assert.ok(Date.now() - started < 2000, `first SSE event took ${Date.now() - started} ms`);

  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const message = await new Promise<string>((resolve, reject) => {
    ws.onopen = () => ws.send('hello');
    ws.onmessage = (event) => resolve(String(event.data));
    ws.onerror = (event) =>
      reject(new Error(`websocket error ${String((event as { message?: string }).message)}`));
  });
  ws.close();
  const instance = h.manager.siteStatus('api').slots[0]!.instances[0]!.id;
  assert.equal(message, `echo: hello from ${instance}`);
});
