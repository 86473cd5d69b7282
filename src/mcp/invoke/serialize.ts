import { InvalidToolCall } from '../types.js';
import type { ParamPlan } from './plan.js';

/**
 * Parameter serialization per OpenAPI 3 `style` and `explode`
 * (https://spec.openapis.org/oas/v3.1.0#style-values).
 */

/** Percent-encodes everything outside RFC 3986 unreserved characters, including `.`, so no value can form `..`. */
export function encodeStrict(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*.~]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** For query strings, cookies and form bodies: `.` needs no escaping there. */
export function encodeComponent(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** allowReserved keeps RFC 3986 reserved characters except those that would end a query pair. */
function encodeReserved(text: string): string {
  return encodeURI(text).replace(/[&=#+]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function scalar(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value);
}

function entriesOf(value: Record<string, unknown>): [string, string][] {
  return Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, scalar(v)]);
}

/** A path parameter's text, already percent-encoded (so `/`, `?`, `#` and `%` stay inside the segment). */
export function pathValue(param: ParamPlan, value: unknown): string {
  const enc = encodeStrict;
  const v = param.contentType ? JSON.stringify(value) : value;
  const { style, explode, name } = param;
  let out: string;
  if (Array.isArray(v)) {
    const items = v.map((x) => enc(scalar(x)));
    if (style === 'label') out = '.' + items.join(explode ? '.' : ',');
    else if (style === 'matrix')
      out = explode ? items.map((x) => `;${enc(name)}=${x}`).join('') : `;${enc(name)}=${items.join(',')}`;
    else out = items.join(',');
  } else if (v !== null && typeof v === 'object') {
    const pairs = entriesOf(v as Record<string, unknown>).map(([k, x]) => [enc(k), enc(x)] as const);
    const flat = explode ? pairs.map(([k, x]) => `${k}=${x}`) : pairs.flatMap(([k, x]) => [k, x]);
    if (style === 'label') out = '.' + flat.join(explode ? '.' : ',');
    else if (style === 'matrix')
      out = explode ? pairs.map(([k, x]) => `;${k}=${x}`).join('') : `;${enc(name)}=${flat.join(',')}`;
    else out = flat.join(',');
  } else {
    const text = enc(scalar(v));
    out = style === 'label' ? `.${text}` : style === 'matrix' ? `;${enc(name)}=${text}` : text;
  }
  return out;
}

/** Query pairs (already encoded) for one parameter. */
export function queryPairs(param: ParamPlan, value: unknown): string[] {
  const enc = param.allowReserved ? encodeReserved : encodeComponent;
  const name = encodeComponent(param.name);
  if (param.contentType) return [`${name}=${enc(JSON.stringify(value))}`];
  if (Array.isArray(value)) {
    const items = value.map((x) => enc(scalar(x)));
    if (param.explode && (param.style === 'form' || param.style === 'deepObject'))
      return items.map((x) => `${name}=${x}`);
    const separator =
      param.style === 'spaceDelimited'
        ? '%20'
        : param.style === 'pipeDelimited'
          ? '|'
          : param.style === 'tabDelimited'
            ? '%09'
            : ',';
    return [`${name}=${items.join(separator)}`];
  }
  if (value !== null && typeof value === 'object') {
    if (param.style === 'deepObject') return deepPairs(param.name, value, enc);
    const pairs = entriesOf(value as Record<string, unknown>);
    if (param.explode) return pairs.map(([k, x]) => `${encodeStrict(k)}=${enc(x)}`);
    return [`${name}=${pairs.flatMap(([k, x]) => [enc(k), enc(x)]).join(',')}`];
  }
  return [`${name}=${enc(scalar(value))}`];
}

/** `name[a][b]=v` for nested objects, `name[a][0]=v` for arrays inside them. */
export function deepPairs(
  prefix: string,
  value: unknown,
  enc: (s: string) => string = encodeComponent,
): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => deepPairs(`${prefix}[${i}]`, item, enc));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      v === undefined ? [] : deepPairs(`${prefix}[${k}]`, v, enc),
    );
  }
  return [`${encodeComponent(prefix).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${enc(scalar(value))}`];
}

/** A header value (style simple). CR, LF and NUL would split or corrupt the request: refused. */
export function headerValue(param: ParamPlan, value: unknown): string {
  let text: string;
  if (param.contentType) text = JSON.stringify(value);
  else if (Array.isArray(value)) text = value.map(scalar).join(',');
  else if (value !== null && typeof value === 'object') {
    const pairs = entriesOf(value as Record<string, unknown>);
    text = (param.explode ? pairs.map(([k, x]) => `${k}=${x}`) : pairs.flatMap(([k, x]) => [k, x])).join(',');
  } else text = scalar(value);
  if (/[\r\n\0]/.test(text) || /[^\t\x20-\x7e\x80-\xff]/.test(text)) {
    throw new InvalidToolCall(
      `argument "${param.arg}" cannot be sent as the ${param.name} header: it contains control or non-Latin-1 characters`,
    );
  }
  return text;
}

/** `name=value` for the Cookie header (style form). */
export function cookiePair(param: ParamPlan, value: unknown): string {
  const enc = encodeComponent;
  if (param.contentType) return `${param.name}=${enc(JSON.stringify(value))}`;
  if (Array.isArray(value)) return `${param.name}=${value.map((x) => enc(scalar(x))).join(',')}`;
  if (value !== null && typeof value === 'object') {
    return `${param.name}=${entriesOf(value as Record<string, unknown>)
      .flatMap(([k, x]) => [enc(k), enc(x)])
      .join(',')}`;
  }
  return `${param.name}=${enc(scalar(value))}`;
}
