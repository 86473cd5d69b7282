import { InvalidToolCall } from '../types.js';
import type { BodyPlan } from './plan.js';
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
        body: formUrlEncoded(plan, asObject(value, plan.arg)),
        contentType: 'application/x-www-form-urlencoded',
      };
    case 'multipart':
      return multipart(plan, asObject(value, plan.arg));
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

/** multipart/form-data: file fields carry base64 bytes (+ media type, file name); objects are JSON. */
async function multipart(plan: BodyPlan, value: Record<string, unknown>): Promise<EncodedBody> {
  const form = new FormData();
  for (const [field, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const fileKind = Object.hasOwn(plan.fileFields, field) ? plan.fileFields[field] : undefined;
    if (fileKind) {
      const files = fileKind === 'array' ? (Array.isArray(v) ? v : [v]) : [v];
      for (const file of files) {
        const f = asObject(file, `${plan.arg}.${field}`);
        const type =
          typeof f.contentType === 'string'
            ? f.contentType
            : ((Object.hasOwn(plan.encoding, field) ? plan.encoding[field]!.contentType : undefined) ??
              'application/octet-stream');
        const bytes = decodeBase64(f.data, `${plan.arg}.${field}.data`);
        form.append(
          field,
          new Blob([new Uint8Array(bytes)], { type }),
          typeof f.filename === 'string' ? f.filename : field,
        );
      }
    } else if (Array.isArray(v)) {
      for (const item of v) form.append(field, scalar(item));
    } else if (v !== null && typeof v === 'object') {
      form.append(field, new Blob([JSON.stringify(v)], { type: 'application/json' }));
    } else {
      form.append(field, scalar(v));
    }
  }
  // Response serializes a FormData with a fresh boundary, the same way fetch would send it.
  const encoded = new Response(form);
  return {
    body: Buffer.from(await encoded.arrayBuffer()),
    contentType: encoded.headers.get('content-type')!,
  };
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
