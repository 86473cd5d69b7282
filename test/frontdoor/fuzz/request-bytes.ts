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
 * Client byte streams for the request fuzzing: mostly well-formed HTTP/1.1 requests (so that the
 * fast path takes many of them), with every part open to the variations that matter for framing —
 * methods, targets, versions, line ends, field names and values (framing fields above all),
 * Content-Length and chunked bodies, pipelining, a stream cut short — and random bytes dropped in.
 */

const method = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH') },
  { weight: 2, arbitrary: fc.constantFrom('get', 'PROPFIND', 'CONNECT', 'TRACE', 'G ET', '') },
  { weight: 1, arbitrary: text(8) },
);
const target = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom('/', '/a?b=1', '/x/y.json', '/%20', '/?', '/a#f') },
  { weight: 2, arbitrary: fc.constantFrom('http://h.test/x', '*', 'h.test:80', '/a b', '//x', '/\u00e9') },
  { weight: 2, arbitrary: text(12).map((t) => `/${t}`) },
);
const version = fc.oneof(
  { weight: 40, arbitrary: fc.constant('HTTP/1.1') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/11', ''),
  },
);

const fieldName = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('X-A', 'Accept', 'Cookie', 'User-Agent', 'x-b', 'X_Under') },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'Content-Length',
      'content-length',
      'Transfer-Encoding',
      'Connection',
      'Host',
      'HOST',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('Expect', 'Upgrade', 'TRANSFER-ENCODING') },
  { weight: 1, arbitrary: fc.constantFrom('Bad Name', 'X:Y', '', 'X-\u00e9', 'Content-Length ', '\tX') },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/) },
);

function valueFor(name: string): fc.Arbitrary<string> {
  const lower = name.toLowerCase();
  const generic = text(20);
  if (lower === 'content-length') return contentLengthValue(40);
  if (lower === 'transfer-encoding') return transferEncodingValue;
  if (lower === 'connection')
    return fc.constantFrom(
      'close',
      'keep-alive',
      'Upgrade',
      'keep-alive, close',
      'content-length',
      'x-a, close',
      'CLOSE',
    );
  if (lower === 'host')
    return fc.oneof(fc.constantFrom('h.test', 'a', 'h.test:8080', '', 'a b', '[::1]'), generic);
  if (lower === 'expect') return fc.constantFrom('100-continue', 'x');
  if (lower === 'upgrade') return fc.constantFrom('websocket', 'h2c');
  return generic;
}

const field = fieldLine(fieldName, valueFor);

/** A body that matches what the head says often enough: a Content-Length body or chunks. */
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: latin1(0, 40) },
  {
    weight: 2,
    arbitrary: fc
      .array(latin1(1, 12), { maxLength: 3 })
      .chain((chunks) =>
        fc
          .constantFrom('', ';ext=1', ' ')
          .map(
            (ext) => `${chunks.map((c) => `${c.length.toString(16)}${ext}\r\n${c}\r\n`).join('')}0\r\n\r\n`,
          ),
      ),
  },
);

/** One request: a request line, 1–6 fields (a Host first most of the time), the empty line, a body. */
export const request = fc
  .record({
    method,
    target,
    version,
    requestLineEnd: lineEnd,
    host: fc.oneof(
      { weight: 8, arbitrary: fc.constant('Host: h.test\r\n') },
      { weight: 1, arbitrary: fc.constant('') },
    ),
    fields: fc.array(field, { maxLength: 5 }),
    end: lineEnd,
    body,
  })
  .map(({ method, target, version, requestLineEnd, host, fields, end, body }) => {
    // Bodies mostly get a Content-Length that fits them, so the fast path takes them.
    const fitted =
      body.length > 0 && !body.endsWith('0\r\n\r\n') && !fields.some((f) => /^content-length/i.test(f));
    const length = fitted ? `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n` : '';
    return `${method} ${target} ${version}${requestLineEnd}${host}${length}${fields.join('')}${end}${body}`;
  });

/** What a client writes on one connection: 1–3 requests, sometimes cut short, sometimes with a byte changed. */
export const requestStream = fc
  .record({
    requests: fc.array(request, { minLength: 1, maxLength: 3 }),
    cut: sometimes(fc.nat(), 6),
    noise: sometimes(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), 6),
  })
  .map(({ requests, cut, noise }) => {
    let bytes = Buffer.from(requests.join(''), 'latin1');
    if (noise && bytes.length > 0) {
      bytes = Buffer.from(bytes);
      bytes[noise[0] % bytes.length] = noise[1];
    }
    if (cut !== null && bytes.length > 0) bytes = bytes.subarray(0, cut % bytes.length);
    return bytes;
  });
