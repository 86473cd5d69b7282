import fc from 'fast-check';

/** The pieces both fuzzing generators (requests and responses) build their bytes from. */

/** Any Latin-1 characters, controls included: each is one byte on the wire. */
export const latin1 = (min: number, max: number) =>
  fc.string({
    unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
    minLength: min,
    maxLength: max,
  });

/** Mostly visible ASCII, sometimes anything of Latin-1. */
export const text = (max: number) =>
  fc.oneof(
    { weight: 20, arbitrary: fc.stringMatching(new RegExp(`^[!-~ ]{0,${max}}$`)) },
    { weight: 1, arbitrary: latin1(0, max) },
  );

/** `arb` one time in `every`, else null. */
export const sometimes = <T>(arb: fc.Arbitrary<T>, every: number) =>
  fc.oneof({ weight: every - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

/** CRLF nearly always; a bare LF or CR, or CR CR LF, now and then. */
export const lineEnd = fc.oneof(
  { weight: 100, arbitrary: fc.constant('\r\n') },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n', '\n\r') },
);

const colon = fc.oneof(
  { weight: 40, arbitrary: fc.constant(': ') },
  { weight: 1, arbitrary: fc.constantFrom(':', ' :', ':\t', ':  ', ' : ') },
);

/** A Content-Length value: mostly a fitting number, sometimes one llhttp must refuse. */
export const contentLengthValue = (max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max }).map(String) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '+5',
        ' 5',
        '5,5',
        '5, 5',
        '-1',
        '0x5',
        '99999999999999999',
        '',
        '1e2',
        '05',
      ),
    },
  );

/** A Transfer-Encoding value: chunked alone, other codings before or after it, odd spellings. */
export const transferEncodingValue = fc.constantFrom(
  'chunked',
  'Chunked',
  'gzip, chunked',
  'chunked, gzip',
  'gzip',
  'chunked, chunked',
  ' chunked',
  'identity',
  'chunked;q=1',
);

/** One field line `name: value` with its line end, and now and then an obs-fold continuation. */
export const fieldLine = (name: fc.Arbitrary<string>, valueFor: (name: string) => fc.Arbitrary<string>) =>
  name.chain((n) =>
    fc
      .tuple(colon, valueFor(n), lineEnd, fc.nat(30))
      .map(([c, v, end, fold]) =>
        fold === 0 && v.length > 3
          ? `${n}${c}${v.slice(0, 2)}${end} ${v.slice(2)}${end}`
          : `${n}${c}${v}${end}`,
      ),
  );
