import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exchangeRaw, parseResponses, type RawResponse } from '../frontdoor/support/raw-http.js';
import { recorderHarness } from './support.js';

// Issue 10, item 8: a request is sent again only when it cannot have been acted on, and a malformed
// answer is a 502 that names what was malformed.

async function one(
  port: number,
  host: string,
  method: string,
  path: string,
  agentHeaders = '',
): Promise<RawResponse> {
  const [reply] = parseResponses(
    await exchangeRaw(
      port,
      `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${agentHeaders}Connection: close\r\n\r\n`,
    ),
    method === 'HEAD' ? [0] : [],
  );
  assert.ok(reply, `${method} ${path} got an answer`);
  return reply;
}

for (const fastPath of [true, false]) {
  test(`a request the instance read and then reset is not sent again (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    const h = await recorderHarness(t, { fastPath, instances: 2 });
    const port = h.frontdoor.port;
    const arrivals = (path: string) => h.arrivals().filter((a) => a.url === path);

    // On new connections: a DELETE and a GET that the instance reads, then resets.
    for (const method of ['DELETE', 'GET']) {
      const reply = await one(port, h.host, method, `/reset?${method}`);
      assert.equal(reply.status, 502, `${method}: ${reply.body}`);
      assert.match(JSON.parse(reply.body).detail, /failed to answer: connection reset by the instance/);
      assert.equal(arrivals(`/reset?${method}`).length, 1, `${method} reached an instance once`);
    }

    // On kept-alive connections (each instance has served a request by now): a DELETE still runs
    // once; a GET, whose replay changes nothing, is tried once more on a new connection, as after
    // the race of an instance closing an idle connection just as the request went out.
    for (let i = 0; i < 2; i++) assert.equal((await one(port, h.host, 'GET', '/warm')).status, 200);
    const del = await one(port, h.host, 'DELETE', '/reset?again');
    assert.equal(del.status, 502);
    assert.equal(
      arrivals('/reset?again').length,
      1,
      'a DELETE on a reused connection reached an instance once',
    );
    const get = await one(port, h.host, 'GET', '/reset?safe');
    assert.equal(get.status, 502);
    assert.equal(
      arrivals('/reset?safe').length,
      2,
      'a GET on a reused connection: once, and once on a new one',
    );
  });
}

test('a refused connection (nothing reached the instance) is tried on another instance', async (t) => {
  const h = await recorderHarness(t, { instances: 2 });
  const port = h.frontdoor.port;
  assert.equal((await one(port, h.host, 'GET', '/stop-listening')).status, 200);
  const stoppedId = h.arrivals().find((a) => a.url === '/stop-listening')!.instance;
  for (let i = 0; i < 4; i++) {
    const reply = await one(port, h.host, 'DELETE', `/item/${i}`);
    assert.equal(reply.status, 200, reply.body);
  }
  const deletes = h.arrivals().filter((a) => a.url.startsWith('/item/'));
  assert.equal(deletes.length, 4, 'each DELETE reached an instance exactly once');
  assert.ok(
    deletes.every((a) => a.instance !== stoppedId),
    'all on the instance that still listens',
  );
});

test('a malformed answer is a 502 that says what was malformed, never a 503, and is not sent again', async (t) => {
  const h = await recorderHarness(t, { instances: 2 });
  const port = h.frontdoor.port;
  const garbage = await one(port, h.host, 'GET', '/garbage');
  assert.equal(garbage.status, 502);
  assert.match(
    JSON.parse(garbage.body).detail,
    /failed to answer: the connection closed after 18 bytes that are not a complete response head: "this is not HTTP\\r\\n"/,
  );
  const badLength = await one(port, h.host, 'GET', '/bad-length');
  assert.equal(badLength.status, 502);
  assert.match(JSON.parse(badLength.body).detail, /invalid Content-Length "twelve"/);
  assert.equal(h.arrivals().filter((a) => a.url === '/garbage').length, 1);
  assert.equal(h.arrivals().filter((a) => a.url === '/bad-length').length, 1);
});
