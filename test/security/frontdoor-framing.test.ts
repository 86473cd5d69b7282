import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exchangeRaw, parseResponses } from '../frontdoor/support/raw-http.js';
import { nodeReading, recorderHarness, statusesOf } from './support.js';

// Issue 10, item 9 (front-door parts): framing edge cases, each compared with how Node's own parser
// (llhttp, through a plain node:http server) reads the same bytes.

const HOST = 'rec.localhost';

for (const fastPath of [true, false]) {
  test(`a head with bare LF (or CR) line ends is answered 400 at once, as node:http does (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    const h = await recorderHarness(t, { fastPath });
    for (const bytes of [
      `GET / HTTP/1.1\nHost: ${HOST}\n\n`,
      `GET / HTTP/1.1\nHost: ${HOST}\n`, // unfinished: nothing more will make it valid
      `GET / HTTP/1.1\r\nHost: ${HOST}\rX-A: 1\r\n`,
    ]) {
      const node = await nodeReading(bytes);
      assert.deepEqual(node.statuses, [400], `node:http refuses ${JSON.stringify(bytes)}`);
      // No FIN from the client and a 60 s headersTimeout: an answer within exchangeRaw's 5 s is "at once".
      const data = await exchangeRaw(h.frontdoor.port, bytes, 5_000);
      assert.deepEqual(statusesOf(data), [400], JSON.stringify(bytes));
    }
    assert.deepEqual(h.arrivals(), []);
  });

  test(`a duplicate Host, a transfer coding besides a final chunked, and Transfer-Encoding on HTTP/1.0 are refused (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    const h = await recorderHarness(t, { fastPath });
    const cases: { bytes: string; status: number; node: 'accepts' | 'refuses' }[] = [
      // RFC 9112 §3.2: more than one Host is a 400; llhttp lets it through.
      { bytes: `GET / HTTP/1.1\r\nHost: ${HOST}\r\nHost: other.test\r\n\r\n`, status: 400, node: 'accepts' },
      // §6.1: Transfer-Encoding on HTTP/1.0 means faulty framing; llhttp reads it as chunked.
      {
        bytes: `POST / HTTP/1.0\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
        status: 400,
        node: 'accepts',
      },
      // §6.1: a coding the proxy does not decode would reach the instance unlabelled: 501, as nginx.
      {
        bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
        status: 501,
        node: 'accepts',
      },
      {
        bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
        status: 400,
        node: 'refuses',
      },
      // §6.3: chunked not last, or twice: the length cannot be determined.
      {
        bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, gzip\r\n\r\n`,
        status: 400,
        node: 'refuses',
      },
      {
        bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip\r\n\r\nabc`,
        status: 400,
        node: 'refuses',
      },
      {
        bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
        status: 400,
        node: 'refuses',
      },
    ];
    for (const { bytes, status, node: expected } of cases) {
      const node = await nodeReading(bytes);
      assert.equal(
        node.requests.length > 0 ? 'accepts' : 'refuses',
        expected,
        `node:http on ${JSON.stringify(bytes)}`,
      );
      const replies = parseResponses(await exchangeRaw(h.frontdoor.port, bytes));
      assert.deepEqual(
        replies.map((r) => r.status),
        [status],
        JSON.stringify(bytes),
      );
      assert.equal(replies[0]!.headers.connection, 'close', 'the connection ends with the refusal');
    }
    assert.deepEqual(h.arrivals(), [], 'none of them reached the instance');
  });

  test(`absolute-form targets are rewritten to origin form, their authority replacing Host (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    const h = await recorderHarness(t, { fastPath });
    const port = h.frontdoor.port;
    const node = await nodeReading(`GET http://${HOST}/x?y=1 HTTP/1.1\r\nHost: other.test\r\n\r\n`);
    assert.equal(node.requests[0]?.url, `http://${HOST}/x?y=1`, 'llhttp hands the target on as it came');
    for (const [target, url] of [
      [`http://${HOST}/x?y=1`, '/x?y=1'],
      [`HTTP://${HOST}:8080`, '/'],
      [`https://${HOST}?q`, '/?q'],
    ] as const) {
      const [reply] = parseResponses(
        await exchangeRaw(
          port,
          `GET ${target} HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: close\r\n\r\n`,
        ),
      );
      assert.equal(reply?.status, 200, `${target}: ${reply?.body}`);
      const seen = JSON.parse(reply!.body) as { url: string; headers: Record<string, string> };
      assert.equal(seen.url, url, target);
      assert.equal(seen.headers.host, target.replace(/^https?:\/\//i, '').replace(/[/?].*$/, ''), target);
    }
    for (const target of [`http://user@${HOST}/`, `ftp://${HOST}/`, 'http:///nohost', 'example.com/x']) {
      const [reply] = parseResponses(
        await exchangeRaw(port, `GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`),
      );
      assert.equal(reply?.status, 400, target);
    }
    assert.deepEqual(
      h.arrivals().map((a) => a.url),
      ['/x?y=1', '/', '/?q'],
    );
  });
}
