import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upstreamHead } from '../../src/frontdoor/headers.js';
import { exchangeRaw, parseResponses } from '../frontdoor/support/raw-http.js';
import { nodeReading, recorderHarness } from './support.js';

// Issue 10, item 1: a Connection header naming a framing or routing field must not change framing.

const HOST = 'rec.localhost';
/** The request smuggled inside the body: a forged identity, answered late so that another client's request is queued behind it. */
const SMUGGLED = `GET /slow-headers?ms=1500 HTTP/1.1\r\nHost: ${HOST}\r\nX-MS-CLIENT-PRINCIPAL-NAME: admin\r\n\r\n`;
const ATTACK =
  `POST /sink HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close, content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n` +
  SMUGGLED;

for (const fastPath of [true, false]) {
  test(`Connection: close, content-length cannot smuggle a second request to the instance (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    // What the bytes are, read by Node's own parser: one POST whose body is the text of a GET.
    const node = await nodeReading(ATTACK);
    assert.equal(node.requests.length, 1);
    assert.equal(node.requests[0]!.body, SMUGGLED);

    const h = await recorderHarness(t, { fastPath });
    const port = h.frontdoor.port;
    // The attacker: its POST is answered, and it goes away.
    const [posted] = parseResponses(await exchangeRaw(port, ATTACK));
    assert.equal(posted?.status, 200);
    // Another client, right after, on the pooled upstream connection: it gets its own answer.
    const [victim] = parseResponses(
      await exchangeRaw(port, `GET /mine HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`),
    );
    assert.equal(victim?.status, 200);
    const answer = JSON.parse(victim!.body) as { url: string; headers: Record<string, string> };
    assert.equal(answer.url, '/mine', `the victim got someone else's answer: ${victim!.body}`);
    assert.equal(JSON.parse(posted!.body).received, SMUGGLED.length, 'the instance got the body as a body');
    const arrivals = h.arrivals();
    assert.deepEqual(
      arrivals.map((a) => `${a.method} ${a.url}`),
      ['POST /sink', 'GET /mine'],
    );
    assert.ok(
      !arrivals.some((a) => 'x-ms-client-principal-name' in a.headers),
      'no forged identity reached the app',
    );
  });
}

test('framing and routing fields are never connection options: the proxy writes the framing it used', () => {
  const target = {
    method: 'POST',
    path: '/',
    authority: '127.0.0.1:1',
    requestId: 'id',
    remoteAddress: '127.0.0.1',
    chunked: false,
    contentLength: 5,
  };
  for (const option of [
    'content-length',
    'Content-Length',
    'transfer-encoding',
    'host',
    'HOST',
    'x-ms-client-principal-name',
  ]) {
    const head = upstreamHead(
      [
        'Host',
        'site.test',
        'Content-Length',
        '5',
        'Connection',
        `keep-alive, ${option}`,
        'X-MS-CLIENT-PRINCIPAL-NAME',
        'set-by-auth',
      ],
      target,
    );
    assert.match(head, /\r\ncontent-length: 5\r\n/i, `Connection: ${option}`);
    assert.match(head, /\r\nhost: site\.test\r\n/, `Connection: ${option}`);
    assert.match(head, /\r\nX-MS-CLIENT-PRINCIPAL-NAME: set-by-auth\r\n/, `Connection: ${option}`);
  }
  // A chunked request goes on chunked, whatever its Content-Length said or the Connection header named.
  const chunked = upstreamHead(
    ['Host', 'a', 'Connection', 'transfer-encoding', 'Transfer-Encoding', 'chunked'],
    {
      ...target,
      chunked: true,
      contentLength: -1,
    },
  );
  assert.match(chunked, /\r\ntransfer-encoding: chunked\r\n/);
  assert.doesNotMatch(chunked, /content-length/i);
  // The client's own Content-Length is not copied: the proxy writes the length it frames the body by.
  const copied = upstreamHead(['Host', 'a', 'content-length', '5'], target);
  assert.equal(copied.match(/content-length/gi)?.length, 1);
});
