import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downstreamHeaders, newRequestId, upstreamHead } from '../../src/frontdoor/headers.js';

const HOP_BY_HOP = [
  'Connection',
  'Keep-Alive',
  'Proxy-Connection',
  'Proxy-Authenticate',
  'Proxy-Authorization',
  'TE',
  'Trailer',
  'Transfer-Encoding',
  'Upgrade',
];

/** A plain GET from 127.0.0.1 (the request target upstreamHead writes). */
const GET = {
  method: 'GET',
  path: '/',
  authority: '127.0.0.1:1',
  requestId: 'id',
  remoteAddress: '127.0.0.1',
  chunked: false,
  contentLength: -1,
};

/** Every spelling a client or an instance may use. */
const spellings = (name: string) => [name, name.toLowerCase(), name.toUpperCase()];

test('hop-by-hop and replaced fields are recognised in any case, both ways', () => {
  for (const name of HOP_BY_HOP.flatMap(spellings)) {
    const head = upstreamHead(['Host', 'a', name, 'v', 'X-Kept', 'k'], GET);
    assert.ok(!head.toLowerCase().includes(`\r\n${name.toLowerCase()}: v`), `${name} is not sent upstream`);
    assert.match(head, /\r\nX-Kept: k\r\n/);
    const down = downstreamHeaders([name, 'v', 'Content-Type', 'text/plain'], false, 'id', []);
    assert.deepEqual(
      down,
      ['Content-Type', 'text/plain', 'x-request-id', 'id'],
      `${name} is not sent downstream`,
    );
  }
  for (const name of ['X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Request-Id', 'Expect'].flatMap(spellings)) {
    const head = upstreamHead(['Host', 'a', name, 'client-value'], GET);
    assert.ok(!head.includes('client-value'), `${name} is replaced by the front door's own`);
  }
  const head = upstreamHead(['HOST', 'site.example', 'x-FORWARDED-for', '10.0.0.1', 'CONTENT-LENGTH', '3'], {
    method: 'POST',
    path: '/p',
    authority: '127.0.0.1:1',
    requestId: 'id',
    remoteAddress: '127.0.0.2',
    chunked: false,
    contentLength: 3,
  });
  // The body's framing is the proxy's own (the length it streams), never the client's field copied.
  assert.equal(
    head,
    'POST /p HTTP/1.1\r\nhost: site.example\r\nx-forwarded-for: 10.0.0.1, 127.0.0.2\r\n' +
      'x-forwarded-proto: http\r\nx-forwarded-host: site.example\r\nx-request-id: id\r\ncontent-length: 3\r\n\r\n',
  );
  // Content-Length goes only when the body is not re-framed; fields named in Connection are dropped.
  assert.deepEqual(downstreamHeaders(['CONTENT-LENGTH', '3', 'X-A', '1'], true, 'id', []), [
    'X-A',
    '1',
    'x-request-id',
    'id',
  ]);
  assert.deepEqual(
    downstreamHeaders(['Connection', 'X-Private', 'x-private', 's', 'X-A', '1'], false, 'id', ['c=1']),
    ['X-A', '1', 'x-request-id', 'id', 'set-cookie', 'c=1'],
  );
});

test('generated request ids are UUID-shaped and distinct across the counter blocks (4,096 ids each)', () => {
  const ids = Array.from({ length: 3 * 4096 + 7 }, () => newRequestId());
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  // Consecutive ids count up by one (the last 12 digits), through each block boundary.
  const counter = (id: string) => BigInt(`0x${id.slice(-12)}`);
  for (let i = 1; i < ids.length; i++) {
    const step = (counter(ids[i]!) - counter(ids[i - 1]!) + 2n ** 48n) % 2n ** 48n;
    assert.equal(step, 1n, `${ids[i - 1]} → ${ids[i]}`);
  }
});
