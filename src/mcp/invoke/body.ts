import { InvalidToolCall } from '../types.js';
import type { BodyPlan } from './plan.js';
import { encodeMultipart, type Part } from './multipart.js';
import { deepPairs, encodeComponent, scalar } from './serialize.js';

export interface EncodedBody {
  body: Buffer | string;
  contentType: string;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Encodes the `body` argument in the operation's media type. */
export async function encodeBody(plan: BodyPlan, value: unknown): Promise<EncodedBody> {
  switch (plan.kind) {
    case 'json':
      return { body: JSON.stringify(value), contentType: plan.mediaType };
    case 'text':
      return { body: scalar(value), contentType: withCharset(plan.mediaType) };
    case 'binary':
      return { body: decodeBase64(value, plan.arg), contentType: plan.mediaType };
    case 'form':
      return {
        // A form body whose schema is not an object is taken as already-encoded text (`a=1&b=2`).
        body:
          plan.whole === 'text' ? formText(value, plan.arg) : formUrlEncoded(plan, asObject(value, plan.arg)),
        contentType: 'application/x-www-form-urlencoded',
      };
    case 'multipart':
      return multipart(plan, value);
  }
}

/**
 * application/x-www-form-urlencoded. Scalars are `k=v`; arrays repeat the key (form, explode) unless the
 * field's encoding says otherwise; objects and deepObject fields use brackets `k[a][b]=v`, which is what
 * form APIs such as Stripe's expect.
 */
function formUrlEncoded(plan: BodyPlan, value: Record<string, unknown>): string {
  const pairs: string[] = [];
  for (const [field, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const encoding = Object.hasOwn(plan.encoding, field) ? plan.encoding[field]! : {};
    if (encoding.style === 'deepObject' || (v !== null && typeof v === 'object' && !Array.isArray(v))) {
      pairs.push(...deepPairs(field, v));
    } else if (Array.isArray(v)) {
      if (v.some((x) => x !== null && typeof x === 'object')) pairs.push(...deepPairs(field, v));
      else if (encoding.explode === false) {
        const separator =
          encoding.style === 'spaceDelimited' ? '%20' : encoding.style === 'pipeDelimited' ? '|' : ',';
        pairs.push(`${encodeComponent(field)}=${v.map((x) => encodeComponent(scalar(x))).join(separator)}`);
      } else pairs.push(...v.map((x) => `${encodeComponent(field)}=${encodeComponent(scalar(x))}`));
    } else {
      pairs.push(`${encodeComponent(field)}=${encodeComponent(scalar(v))}`);
    }
  }
  return pairs.join('&');
}

/**
 * multipart/form-data. File fields carry base64 bytes (+ media type, file name) and are the only parts
 * with a filename; an object (or an array of objects, or any field whose encoding says JSON) is one
 * `application/json` part; an array of scalars repeats the field; a scalar is a text part. A body whose
 * schema is not an object (a single file, a list of files) is sent as parts named `file`.
 */
async function multipart(plan: BodyPlan, value: unknown): Promise<EncodedBody> {
  const parts: Part[] = [];
  if (plan.whole === 'file' || plan.whole === 'files') {
    const files = plan.whole === 'files' ? (Array.isArray(value) ? value : [value]) : [value];
    for (const file of files) parts.push(filePart('file', file, undefined, plan.arg));
    return encodeMultipart(parts);
  }
  const fields = asObject(value, plan.arg);
  for (const [field, v] of Object.entries(fields)) {
    if (v === undefined || v === null) continue;
    const fileKind = Object.hasOwn(plan.fileFields, field) ? plan.fileFields[field] : undefined;
    const declared = Object.hasOwn(plan.encoding, field) ? plan.encoding[field]!.contentType : undefined;
    if (fileKind) {
      const files = fileKind === 'array' ? (Array.isArray(v) ? v : [v]) : [v];
      for (const file of files) parts.push(filePart(field, file, declared, `${plan.arg}.${field}`));
    } else if (
      (declared && bodyKindOf(declared) === 'json') ||
      (v !== null && typeof v === 'object' && !Array.isArray(v)) ||
      (Array.isArray(v) && v.some((x) => x !== null && typeof x === 'object'))
    ) {
      parts.push({ name: field, body: JSON.stringify(v), contentType: declared ?? 'application/json' });
    } else if (Array.isArray(v)) {
      for (const item of v) parts.push({ name: field, body: scalar(item), contentType: declared });
    } else {
      parts.push({ name: field, body: scalar(v), contentType: declared });
    }
  }
  return encodeMultipart(parts);
}

function filePart(name: string, file: unknown, declared: string | undefined, arg: string): Part {
  const f = asObject(file, arg);
  return {
    name,
    body: decodeBase64(f.data, `${arg}.data`),
    contentType: typeof f.contentType === 'string' ? f.contentType : (declared ?? 'application/octet-stream'),
    filename: typeof f.filename === 'string' ? f.filename : name,
  };
}

function bodyKindOf(mediaType: string): 'json' | 'other' {
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json') ? 'json' : 'other';
}

function asObject(value: unknown, arg: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidToolCall(`argument "${arg}" must be an object`);
  return value as Record<string, unknown>;
}

function decodeBase64(value: unknown, arg: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value.replace(/\s+/g, '')))
    throw new InvalidToolCall(`argument "${arg}" must be base64-encoded bytes`);
  return Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
}

function withCharset(mediaType: string): string {
  return /charset=/i.test(mediaType) ? mediaType : `${mediaType}; charset=utf-8`;
}

function formText(value: unknown, arg: string): string {
  if (typeof value !== 'string') throw new InvalidToolCall(`argument "${arg}" must be a string`);
  return value;
}
