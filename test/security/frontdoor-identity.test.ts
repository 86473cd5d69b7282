import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { FrontdoorMiddleware } from '../../src/frontdoor/index.js';
import { exchangeRaw, parseResponses } from '../frontdoor/support/raw-http.js';
import { recorderHarness, type Arrival } from './support.js';

// Issue 10, item 2: identity headers cannot be forged in any spelling, and a middleware cannot
// write a header the head writer would turn into something else.

const FORGED = [
  'X_MS_CLIENT_PRINCIPAL_NAME: admin',
  'x_ms_client_principal: eyJhdXRoX3R5cCI6ImFhZCJ9',
  'X-Ms-Client_Principal-Id: 1',
  'x-ms_token-aad-access-token: forged',
  'X_MS_TOKEN_AAD_ID_TOKEN: forged',
];
/** Underscore spellings of fields the front door sets itself: a CGI-style server would merge them with ours. */
const LOOKALIKES = [
  'X_Forwarded_For: 6.6.6.6',
  'x_forwarded_host: evil.test',
  'X_Request_Id: forged',
  'Content_Length: 7',
];
const ORDINARY = ['api_key: k-123', 'X_Custom_Thing: kept'];

const identityLike = (name: string) => /^x[-_]ms[-_](client[-_]principal|token[-_])/i.test(name);

function check(arrival: Arrival | undefined, what: string): void {
  assert.ok(arrival, `${what}: the request arrived`);
  const names = Object.keys(arrival.headers);
  assert.deepEqual(names.filter(identityLike), [], `${what}: no identity header reached the app`);
  assert.equal(arrival.headers['x-forwarded-for'], '127.0.0.1', `${what}: the front door's X-Forwarded-For`);
  for (const lookalike of ['x_forwarded_for', 'x_forwarded_host', 'x_request_id', 'content_length'])
    assert.equal(arrival.headers[lookalike], undefined, `${what}: ${lookalike} dropped`);
  assert.equal(arrival.headers.api_key, 'k-123', `${what}: an ordinary underscore header passes`);
  assert.equal(arrival.headers.x_custom_thing, 'kept', what);
}

const HEADERS = [...FORGED, ...LOOKALIKES, ...ORDINARY].join('\r\n');

/** A middleware that applies to everything and changes nothing: requests take the node:http path with a chain. */
const passThrough: FrontdoorMiddleware = { name: 'pass', handle: (_req, _res, next) => next() };

for (const [label, options] of [
  ['fast path', { fastPath: true }],
  ['node:http path', { fastPath: false }],
] as const) {
  test(`identity headers in any spelling are removed on plain requests and upgrades (${label})`, async (t) => {
    const h = await recorderHarness(t, options);
    const port = h.frontdoor.port;
    const [plain] = parseResponses(
      await exchangeRaw(
        port,
        `GET /plain HTTP/1.1\r\nHost: ${h.host}\r\n${HEADERS}\r\nConnection: close\r\n\r\n`,
      ),
    );
    assert.equal(plain?.status, 200);
    check(
      h.arrivals().find((a) => a.url === '/plain'),
      'plain request',
    );
    // An upgrade: the recorder answers 101 and echoes; what it was sent is in its arrivals.
    const upgraded = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => {
        data += c;
        if (data.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(data);
        }
      });
      socket.on('error', reject);
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: ${h.host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n${HEADERS}\r\n\r\n`,
      );
    });
    assert.match(upgraded, /^HTTP\/1\.1 101 /);
    check(
      h.arrivals().find((a) => a.upgrade),
      'upgrade',
    );
  });
}

test('identity headers in any spelling are removed before a middleware sees them', async (t) => {
  let seen: string[] = [];
  const spy: FrontdoorMiddleware = {
    name: 'spy',
    handle(req, _res, next) {
      seen = Object.keys(req.headers);
      next();
    },
  };
  const h = await recorderHarness(t);
  h.frontdoor.use('*', spy);
  h.frontdoor.use('*', passThrough);
  const [reply] = parseResponses(
    await exchangeRaw(
      h.frontdoor.port,
      `GET /mw HTTP/1.1\r\nHost: ${h.host}\r\n${HEADERS}\r\nConnection: close\r\n\r\n`,
    ),
  );
  assert.equal(reply?.status, 200);
  assert.deepEqual(seen.filter(identityLike), []);
  check(
    h.arrivals().find((a) => a.url === '/mw'),
    'through a middleware',
  );
});

test('a header a middleware sets with a character above U+00FF, a control character or a bad name is refused, naming it', async (t) => {
  const values: Record<string, string> = {
    '/u010d': 'a\u010d\u010ax-injected: 1',
    '/nul': 'a\u0000b',
    '/soh': 'a\u0001b',
    '/del': 'a\u007fb',
    '/cr': 'a\rb',
  };
  const setter: FrontdoorMiddleware = {
    name: 'header-setter',
    applies: (req) => req.url !== '/fine',
    handle(req, _res, next) {
      if (req.url === '/name') req.headers['bad name'] = 'x';
      else if (req.url === '/latin1') req.headers['x-latin1'] = 'caf\u00e9\tok';
      else if (req.url! in values) req.headers['x-set'] = values[req.url!];
      next();
    },
    upgrade(req, _socket, _head, next) {
      req.headers['x-set'] = 'a\u010d\u010ax-injected: 1';
      next();
    },
  };
  const h = await recorderHarness(t);
  h.frontdoor.use('rec', setter);
  const port = h.frontdoor.port;
  for (const path of [...Object.keys(values), '/name']) {
    const [reply] = parseResponses(
      await exchangeRaw(port, `GET ${path} HTTP/1.1\r\nHost: ${h.host}\r\nConnection: close\r\n\r\n`),
    );
    assert.equal(reply?.status, 500, path);
    assert.match(JSON.parse(reply!.body).detail, /middleware header-setter failed/, path);
  }
  // Latin-1 and HTAB are what node:http writes too: they pass.
  const [latin1] = parseResponses(
    await exchangeRaw(port, `GET /latin1 HTTP/1.1\r\nHost: ${h.host}\r\nConnection: close\r\n\r\n`),
  );
  assert.equal(latin1?.status, 200);
  const upgrade = parseResponses(
    await exchangeRaw(
      port,
      `GET /ws HTTP/1.1\r\nHost: ${h.host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`,
    ),
  );
  assert.equal(upgrade[0]?.status, 500);
  // Nothing of the refused requests was written to the instance.
  assert.deepEqual(
    h.arrivals().map((a) => a.url),
    ['/latin1'],
  );
  assert.ok(!h.arrivals().some((a) => 'x-injected' in a.headers));
});
