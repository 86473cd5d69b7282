import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ResponseParser,
  UpstreamProtocolError,
  type ResponseHead,
} from '../../src/frontdoor/response-parser.js';

interface Parsed {
  heads: ResponseHead[];
  body: string;
  ended: number;
  parser: ResponseParser;
}

/** Feeds `wire` to a parser in pieces of `step` bytes (1 = every byte on its own). */
function parse(wire: string, step = wire.length, headRequest = false): Parsed {
  const out: Omit<Parsed, 'parser'> = { heads: [], body: '', ended: 0 };
  const parser = new ResponseParser(headRequest, {
    head: (h) => out.heads.push(h),
    data: (c) => (out.body += c.toString('latin1')),
    end: () => out.ended++,
  });
  const bytes = Buffer.from(wire, 'latin1');
  for (let i = 0; i < bytes.length; i += step) parser.push(bytes.subarray(i, i + step));
  return { ...out, parser };
}

const CHUNKED =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer-X: y\r\n\r\n';

test('Content-Length bodies end exactly at their length, however the bytes arrive', () => {
  const wire =
    'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nKeep-Alive: timeout=5\r\n\r\nhello world';
  for (const step of [1, 3, 7, wire.length]) {
    const { heads, body, ended, parser } = parse(wire, step);
    assert.equal(heads.length, 1);
    assert.equal(heads[0]!.status, 201);
    assert.equal(heads[0]!.reason, 'Created');
    assert.deepEqual(heads[0]!.headers, [
      'Content-Type',
      'text/plain',
      'Content-Length',
      '11',
      'Keep-Alive',
      'timeout=5',
    ]);
    assert.equal(heads[0]!.lengthUnknown, false);
    assert.equal(body, 'hello world');
    assert.equal(ended, 1);
    assert.ok(parser.done && parser.reusable && !parser.trailingGarbage);
    assert.equal(parser.keepAliveMs, 5000);
  }
});

test('chunked bodies are decoded (extensions and trailers dropped), split at any byte', () => {
  for (let step = 1; step <= CHUNKED.length; step += step < 8 ? 1 : 13) {
    const { heads, body, ended, parser } = parse(CHUNKED, step);
    assert.equal(body, 'hello, world', `step ${step}`);
    assert.equal(ended, 1);
    assert.equal(heads[0]!.lengthUnknown, true);
    assert.ok(parser.done && parser.reusable);
  }
});

test('no body for HEAD, 204 and 304, whatever the length headers say', () => {
  const head = parse('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', undefined, true);
  assert.equal(head.ended, 1);
  assert.ok(head.parser.done);
  assert.equal(head.heads[0]!.headers[1], '100', 'the length is passed on for HEAD');
  for (const status of [204, 304]) {
    const { ended, parser } = parse(`HTTP/1.1 ${status} X\r\nContent-Length: 5\r\n\r\n`);
    assert.equal(ended, 1);
    assert.ok(parser.done);
  }
});

test('interim 1xx answers are skipped; the final one is parsed', () => {
  const { heads, body } = parse(
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    4,
  );
  assert.deepEqual(
    heads.map((h) => h.status),
    [200],
  );
  assert.equal(body, 'ok');
});

test('a body without length runs until the instance closes, and the connection is not reused', () => {
  const { heads, body, ended, parser } = parse(
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstream of bytes',
    5,
  );
  assert.equal(heads[0]!.lengthUnknown, true);
  assert.equal(body, 'stream of bytes');
  assert.equal(ended, 0);
  assert.equal(parser.close(), true);
  assert.equal(parser.reusable, false);
  const cut = parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort');
  assert.equal(cut.parser.close(), false, 'a Content-Length body cut short is an error, not an end');
});

test('Connection: close and HTTP/1.0 end the connection; Transfer-Encoding with Content-Length is refused', () => {
  assert.equal(
    parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').parser.reusable,
    false,
  );
  assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').parser.reusable, false);
  // RFC 9112 §6.3 would let chunked win; llhttp and nginx refuse the pair (found by the fuzzing).
  assert.throws(
    () =>
      parse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'),
    /both Content-Length and Transfer-Encoding/,
  );
});

test('bytes after the end of a response are flagged', () => {
  const { parser } = parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA');
  assert.ok(parser.done);
  assert.equal(parser.trailingGarbage, true);
});

test('malformed responses throw UpstreamProtocolError', () => {
  const bad = [
    'HTTP/2 200 OK\r\n\r\n',
    'HTTP/1.1 20 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n',
    'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n',
    'HTTP/1.1 101 Switching Protocols\r\n\r\n',
    // Codings other than chunked would reach the client undecoded once the hop-by-hop header is gone.
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70_000)}`,
    // Control characters (other than HTAB) in a value or the reason would corrupt the client's head.
    'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-A: a\x7f\r\n\r\n',
    'HTTP/1.1 200 O\x00K\r\n\r\n',
    // Status lines: only HTTP/1.0 and 1.1, three digits from 100, one space before the reason.
    'HTTP/1.2 200 OK\r\n\r\n',
    'http/1.1 200 OK\r\n\r\n',
    'HTTP/1.1 099 Low\r\n\r\n',
    'HTTP/1.1 2000 OK\r\n\r\n',
    'HTTP/1.1 20a OK\r\n\r\n',
    'HTTP/1.1  200 OK\r\n\r\n',
    'HTTP/1.1 200OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n',
    `HTTP/1.1 200 OK\r\nContent-Length: ${'9'.repeat(16)}\r\n\r\n`,
  ];
  for (const wire of bad)
    assert.throws(() => parse(wire), UpstreamProtocolError, JSON.stringify(wire.slice(0, 60)));
});

test('status lines without a reason, Keep-Alive timeouts and Connection options in their spellings', () => {
  const bare = parse('HTTP/1.1 599\r\nContent-Length: 2\r\n\r\nok');
  assert.equal(bare.heads[0]?.status, 599);
  assert.equal(bare.heads[0]?.reason, '');
  assert.equal(bare.body, 'ok');
  const keepAlive = (value: string) =>
    parse(`HTTP/1.1 200 OK\r\nKeep-Alive: ${value}\r\nContent-Length: 0\r\n\r\n`).parser.keepAliveMs;
  assert.equal(keepAlive('timeout=5'), 5000);
  assert.equal(keepAlive('Timeout=7, max=100'), 7000);
  assert.equal(keepAlive('max=5, timeout=9'), 9000);
  assert.equal(keepAlive('max=5'), undefined);
  assert.equal(keepAlive('timeout=x'), undefined);
  const reusable = (value: string) =>
    parse(`HTTP/1.1 200 OK\r\nConnection: ${value}\r\nContent-Length: 0\r\n\r\n`).parser.reusable;
  assert.equal(reusable('keep-alive'), true);
  assert.equal(reusable('Keep-Alive'), true);
  assert.equal(reusable('Close'), false);
  assert.equal(reusable('keep-alive, close'), false);
  assert.equal(reusable('upgrade'), true);
  const chunked = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
  assert.equal(chunked.body, 'ok', 'the coding name is case-insensitive');
});
