import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseParser } from '../../src/frontdoor/response-parser.js';
import { ourReading, startNodeReader } from './fuzz/response-differential.js';

// Every divergence the differential fuzzing (test/frontdoor/fuzz.test.ts) found, with its minimal
// bytes: each is now read as node's llhttp reads it, or refused on purpose where noted.

/** Parses a whole response (then the instance's close); the error message when refused. */
function refusal(wire: string, headRequest = false): string | undefined {
  const parser = new ResponseParser(headRequest, { head() {}, data() {}, end() {} });
  try {
    parser.push(Buffer.from(wire, 'latin1'));
    return parser.close() ? undefined : 'cut short';
  } catch (error) {
    return (error as Error).message;
  }
}

test('response divergences found by the fuzzing are refused as llhttp refuses them', async (t) => {
  const node = await startNodeReader();
  t.after(() => node.close());
  const found: [string, boolean, RegExp][] = [
    // Two Content-Length fields, even equal ones (llhttp: HPE_UNEXPECTED_CONTENT_LENGTH).
    [
      'HTTP/1.1 200 OK\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n',
      true,
      /more than one Content-Length/,
    ],
    // A chunk-size line with an empty extension, or whitespace (llhttp: HPE_STRICT, HPE_INVALID_CHUNK_SIZE).
    [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n',
      false,
      /invalid chunk size "1;"/,
    ],
    [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\n\0\r\n0\r\n\r\n',
      false,
      /invalid chunk size "1 "/,
    ],
    [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1; a\r\nx\r\n0\r\n\r\n',
      false,
      /invalid chunk size/,
    ],
    // Content-Length beside Transfer-Encoding (llhttp: HPE_INVALID_CONTENT_LENGTH).
    [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length:0\r\n\r\n1\r\n\r\n',
      true,
      /both Content-Length and Transfer-Encoding/,
    ],
    // A trailer line that is not a field (found after 5,657 cases of a 20,000-case run).
    [
      'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\0-T: 1\r\n\r\n',
      false,
      /malformed trailer line/,
    ],
  ];
  for (const [wire, head, why] of found) {
    assert.match(refusal(wire, head) ?? 'accepted', why, JSON.stringify(wire));
    const theirs = await node.read({ bytes: Buffer.from(wire, 'latin1'), head, splits: [] });
    assert.equal(theirs.accepted, false, `llhttp refuses ${JSON.stringify(wire)} too`);
  }
  // Extensions llhttp takes are taken.
  for (const line of ['1;ext', '1;a=v;b', '1;a=', '1;q="x y"', '01'])
    assert.equal(
      refusal(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${line}\r\nx\r\n0\r\n\r\n`),
      undefined,
      line,
    );
});

test('refused on purpose where llhttp reads on: a status below 100, a control character in the reason phrase', async (t) => {
  const node = await startNodeReader();
  t.after(() => node.close());
  for (const [wire, why] of [
    ['HTTP/1.1 099 x\r\nContent-Length: 0\r\n\r\n', /malformed status line/],
    ['HTTP/1.1 200 \0ot Found\r\nContent-Length: 0\r\n\r\n', /status line holds a control character/],
  ] as const) {
    const c = { bytes: Buffer.from(wire, 'latin1'), head: false, splits: [] };
    assert.match(ourReading(c).error ?? 'accepted', why);
    assert.equal((await node.read(c)).accepted, true, 'llhttp reads it');
  }
});
