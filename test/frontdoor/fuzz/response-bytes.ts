import fc from 'fast-check';
import {
  contentLengthValue,
  fieldLine,
  transferEncodingValue,
  latin1,
  lineEnd,
  sometimes,
  text,
} from './arbitraries.js';

/**
 * Instance byte streams for the response-parser fuzzing: a status line, fields (framing fields above
 * all), a body framed by Content-Length, chunks or the close, interim 1xx answers before it, and the
 * same kinds of damage as the request side (bad line ends, controls, a byte changed, cut short).
 */

const statusLine = fc.oneof(
  {
    weight: 30,
    arbitrary: fc
      .tuple(
        fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
        fc.constantFrom(200, 201, 204, 301, 304, 404, 500, 299, 599),
        fc.constantFrom(' OK', ' Not Found', '', ' ', ' x y'),
      )
      .map(([v, s, r]) => `${v} ${s}${r}`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'HTTP/1.1 2OO OK',
      'HTTP/1.2 200 OK',
      'HTTP/2 200',
      'http/1.1 200 OK',
      'HTTP/1.1  200 OK',
      'HTTP/1.1 20 OK',
      'HTTP/1.1 1000 OK',
      'HTTP/1.1 099 x',
      'ICY 200 OK',
    ),
  },
  { weight: 1, arbitrary: text(20) },
);

const fieldName = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('Content-Type', 'X-A', 'Set-Cookie', 'Server', 'x-b') },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'Content-Length',
      'content-length',
      'Transfer-Encoding',
      'Connection',
      'Keep-Alive',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('Bad Name', 'X:Y', '', 'X-\u00e9', 'Content-Length ', 'Trailer') },
);
function valueFor(name: string): fc.Arbitrary<string> {
  const lower = name.toLowerCase();
  if (lower === 'content-length') return contentLengthValue(30);
  if (lower === 'transfer-encoding') return transferEncodingValue;
  if (lower === 'connection') return fc.constantFrom('close', 'keep-alive', 'x-a', 'Close');
  if (lower === 'keep-alive') return fc.constantFrom('timeout=5', 'timeout=5, max=100', 'max=1');
  return text(20);
}
const field = fieldLine(fieldName, valueFor);

const chunks = fc
  .tuple(
    fc.array(latin1(1, 10), { maxLength: 3 }),
    fc.constantFrom('', ';ext=1', ' ', ';'),
    fc.constantFrom('', 'X-T: 1\r\n'),
    fc.nat(20),
  )
  .map(([parts, ext, trailer, damage]) => {
    const text = `${parts.map((p) => `${p.length.toString(16)}${ext}\r\n${p}\r\n`).join('')}0\r\n${trailer}\r\n`;
    // Sometimes the sizes lie.
    return damage === 0 ? text.replace(/^[0-9a-f]+/, (n) => (parseInt(n, 16) + 1).toString(16)) : text;
  });

export interface ResponseCase {
  bytes: Buffer;
  /** The request was HEAD: no body whatever the head says. */
  head: boolean;
  /** Pieces the parser is fed in (split points), to check it reads across reads. */
  splits: number[];
}

export const responseCase: fc.Arbitrary<ResponseCase> = fc
  .record({
    interim: sometimes(
      fc.constantFrom(
        'HTTP/1.1 100 Continue\r\n\r\n',
        'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n',
        'HTTP/1.1 102 Processing\r\n\r\n',
      ),
      6,
    ),
    status: statusLine,
    end: lineEnd,
    fields: fc.array(field, { maxLength: 5 }),
    framing: fc.constantFrom('length', 'length', 'chunked', 'close', 'none'),
    body: latin1(0, 30),
    chunks,
    trailing: sometimes(fc.constantFrom('HTTP/1.1 200 OK\r\n\r\n', 'x', '\r\n'), 8),
    head: fc.nat(8).map((n) => n === 0),
    cut: sometimes(fc.nat(), 6),
    noise: sometimes(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), 6),
    splits: fc.array(fc.nat(), { maxLength: 3 }),
  })
  .map((r) => {
    let framing = '';
    let body = '';
    if (r.framing === 'length') {
      framing = `Content-Length: ${Buffer.byteLength(r.body, 'latin1')}\r\n`;
      body = r.body;
    } else if (r.framing === 'chunked') {
      framing = 'Transfer-Encoding: chunked\r\n';
      body = r.chunks;
    } else if (r.framing === 'close') body = r.body;
    let bytes = Buffer.from(
      `${r.interim ?? ''}${r.status}${r.end}${framing}${r.fields.join('')}\r\n${body}${r.trailing ?? ''}`,
      'latin1',
    );
    if (r.noise && bytes.length > 0) {
      bytes = Buffer.from(bytes);
      bytes[r.noise[0] % bytes.length] = r.noise[1];
    }
    if (r.cut !== null && bytes.length > 0) bytes = bytes.subarray(0, r.cut % bytes.length);
    return {
      bytes,
      head: r.head,
      splits: r.splits.map((s) => (bytes.length > 0 ? s % bytes.length : 0)).sort((a, b) => a - b),
    };
  });
