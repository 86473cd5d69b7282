/**
 * Character classes of HTTP/1.1 (RFC 9110 §5.6.2, §5.5), checked with a table over a range of a
 * string: the head parsers call these for every field, where a regular expression per field (and
 * the slice it needs) was the largest part of parsing a head.
 */

/** A Content-Length value: digits only, at most 15 so it stays an exact number. */
export function isContentLength(value: string): boolean {
  return value.length >= 1 && value.length <= 15 && isDigits(value, 0, value.length);
}

/** `text[from, to)` is all ASCII digits (true when empty). */
export function isDigits(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
  TCHAR[c.charCodeAt(0)] = 1;

/** `text[from, to)` is a token (a field name, a method): at least one tchar and nothing else. */
export function isToken(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** `text[from, to)` holds a control character other than HTAB (a bare CR or LF, NUL, DEL): never valid in a field value. */
export function hasControl(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

/** Index of the first character after optional whitespace (SP, HTAB) from `from`. */
export function skipSpace(text: string, from: number, to: number): number {
  let i = from;
  while (i < to && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  return i;
}

/** End index of `text[from, to)` without trailing optional whitespace. */
export function trimSpaceEnd(text: string, from: number, to: number): number {
  let i = to;
  while (i > from && (text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 9)) i--;
  return i;
}

/**
 * A field name (a token) equals `lower`, a lower-case name of the same length, ignoring case —
 * without allocating a lower-cased copy. `| 32` lower-cases letters and leaves `-` and digits as
 * they are; no other tchar maps onto a lower-case letter.
 */
export function equalsLower(name: string, lower: string): boolean {
  return name.length === lower.length && startsWithLower(name, lower);
}

/**
 * `text` starts with `lower` (lower-case letters, `/`, `-`), ignoring case, without a lower-cased
 * copy. As in equalsLower, only letters change under `| 32` — given no control characters, which
 * the parsers have refused already.
 */
export function startsWithLower(text: string, lower: string): boolean {
  if (text.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((text.charCodeAt(i) | 32) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * `text` starts with `lower` (lower case, `-` for each separator) when `_` is read as `-`: how CGI,
 * WSGI and Rack servers see a header name (`X_MS_TOKEN_A` and `X-MS-TOKEN-A` both become
 * `HTTP_X_MS_TOKEN_A`). Without a lower-cased copy, as startsWithLower.
 */
export function startsWithDashed(text: string, lower: string): boolean {
  if (text.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === 95 ? 45 : c | 32) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** `name` equals `lower` when `_` is read as `-` and case is ignored (see startsWithDashed). */
export function equalsDashed(name: string, lower: string): boolean {
  return name.length === lower.length && startsWithDashed(name, lower);
}

/**
 * A field value node:http would write (its checkInvalidHeaderChar): HTAB, visible ASCII, space and
 * Latin-1 (0x80–0xFF); nothing else. A character above U+00FF would be truncated to one byte by a
 * latin1 head writer (U+010D becomes CR), and a control character would split or end the head.
 */
export function isFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 32 ? c !== 9 : c === 127 || c > 255) return false;
  }
  return true;
}
