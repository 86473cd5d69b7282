import type { BodyOption, BodyPlan } from '../invoke/plan.js';
import { canonicalJson } from '../../lib/canonical-json.js';
import type { BodyModel } from './model.js';
import { isObject, put } from './pointer.js';
import type { JsonSchema, SchemaConverter } from './schema.js';

const FILE_SCHEMA = {
  type: 'object',
  description: 'A file: its bytes in base64, optionally its media type and file name.',
  properties: {
    data: { type: 'string', contentEncoding: 'base64' },
    contentType: { type: 'string' },
    filename: { type: 'string' },
  },
  required: ['data'],
  additionalProperties: false,
};

export interface BuiltBody {
  /** Argument schemas to add to the tool: the body, and `contentType` when there is a choice. */
  properties: Record<string, JsonSchema>;
  plan: BodyPlan;
}

/**
 * The request body as tool arguments. One media type: the `body` argument in that type's shape. Several
 * (Kubernetes' PATCH takes json-patch, merge-patch, strategic-merge-patch and apply-patch): a
 * `contentType` argument lists them (the most structured one is the default), and `body` accepts the
 * shape of each, checked against the chosen one's schema when the call is made.
 */
export function buildBody(
  model: BodyModel,
  schemas: SchemaConverter,
  arg: string,
  contentTypeArg: string | undefined,
): BuiltBody {
  const models = [model, ...(model.alternatives ?? [])];
  const shapes = models.map((m) => bodySchema(m, schemas));
  const options: BodyOption[] = models.map((m, i) => ({
    mediaType: m.mediaType,
    kind: m.kind,
    fileFields: shapes[i]!.fileFields,
    encoding: m.encoding,
    ...(shapes[i]!.whole ? { whole: shapes[i]!.whole } : {}),
  }));
  const [preferred] = options;
  const properties: Record<string, JsonSchema> = {};
  if (models.length === 1 || !contentTypeArg) {
    put(properties, arg, describe(shapes[0]!.schema, model.description));
    return { properties, plan: { arg, ...preferred! } };
  }
  // Distinct shapes become anyOf members; each option remembers which member is its own.
  const distinct: string[] = [];
  const members: JsonSchema[] = [];
  const variants = shapes.map((shape) => {
    const key = canonicalJson(shape.schema);
    let index = distinct.indexOf(key);
    if (index < 0) {
      index = distinct.push(key) - 1;
      members.push(shape.schema);
    }
    return index;
  });
  if (members.length > 1) options.forEach((option, i) => (option.variant = variants[i]));
  const types = models.map((m) => m.mediaType);
  put(properties, arg, describe(members.length === 1 ? members[0]! : { anyOf: members }, model.description));
  put(properties, contentTypeArg, {
    type: 'string',
    enum: types,
    default: types[0],
    description: `The media type to send the body as (default ${types[0]}); the body must have that type's shape.`,
  });
  return { properties, plan: { arg, ...preferred!, choice: { arg: contentTypeArg, options } } };
}

function describe(schema: JsonSchema, text: string | undefined): JsonSchema {
  if (!text || typeof schema === 'boolean' || typeof schema.description === 'string') return schema;
  return { ...schema, description: text };
}

export function bodySchema(
  body: BodyModel,
  schemas: SchemaConverter,
): { schema: JsonSchema; fileFields: BodyPlan['fileFields']; whole?: BodyPlan['whole'] } {
  if (body.kind === 'binary') {
    return {
      schema: {
        type: 'string',
        contentEncoding: 'base64',
        description: `The ${body.mediaType} body, base64-encoded.`,
      },
      fileFields: {},
    };
  }
  if (body.kind === 'text') {
    const root = schemas.resolveRoot(body.schema);
    return {
      schema: isObject(root) && root.type === 'string' ? body.schema : { type: 'string' },
      fileFields: {},
    };
  }
  if (body.kind !== 'multipart' && body.kind !== 'form') return { schema: body.schema, fileFields: {} };

  // Form bodies: inline the root so each field can be examined, and turn binary fields into file objects.
  const root = schemas.resolveRoot(body.schema);
  const objectRoot = isObject(root) && (root.type === 'object' || isObject(root.properties));
  if (!objectRoot) return wholeBody(body, root);
  if (!isObject(root.properties)) return { schema: body.schema, fileFields: {} };
  const fileFields: BodyPlan['fileFields'] = {};
  const properties: Record<string, JsonSchema> = {};
  for (const [field, raw] of Object.entries(root.properties)) {
    const sub = schemas.resolveRoot(raw as JsonSchema);
    const encodingType = Object.hasOwn(body.encoding, field) ? body.encoding[field]!.contentType : undefined;
    if (body.kind === 'multipart' && isBinary(sub, encodingType)) {
      put(fileFields, field, 'single');
      put(properties, field, withDescription(FILE_SCHEMA, sub));
    } else if (
      body.kind === 'multipart' &&
      isObject(sub) &&
      sub.type === 'array' &&
      isBinary(schemas.resolveRoot(sub.items as JsonSchema), encodingType)
    ) {
      put(fileFields, field, 'array');
      put(properties, field, {
        type: 'array',
        items: FILE_SCHEMA,
        ...(typeof sub.description === 'string' ? { description: sub.description } : {}),
      });
    } else {
      put(properties, field, raw as JsonSchema);
    }
  }
  return { schema: { ...root, type: 'object', properties }, fileFields };
}

/**
 * A form or multipart body whose schema is not an object (a single binary, an array of files, a
 * string): the argument is the whole body, so the tool stays callable. Multipart sends file objects as
 * parts named `file`; urlencoded takes the encoded text itself.
 */
function wholeBody(
  body: BodyModel,
  root: JsonSchema,
): { schema: JsonSchema; fileFields: BodyPlan['fileFields']; whole?: BodyPlan['whole'] } {
  if (body.kind === 'form') {
    return {
      schema: {
        type: 'string',
        description: 'The application/x-www-form-urlencoded body as text, e.g. a=1&b=2',
      },
      fileFields: {},
      whole: 'text',
    };
  }
  if (isObject(root) && root.type === 'array') {
    return {
      schema: {
        type: 'array',
        items: FILE_SCHEMA,
        description: 'The files, each sent as a part named "file".',
      },
      fileFields: {},
      whole: 'files',
    };
  }
  return {
    schema: { ...FILE_SCHEMA, description: 'The file, sent as a part named "file" (bytes in base64).' },
    fileFields: {},
    whole: 'file',
  };
}

function isBinary(schema: JsonSchema, encodingType: string | undefined): boolean {
  if (!isObject(schema)) return false;
  if (schema.format === 'binary') return true;
  if (typeof schema.contentMediaType === 'string' && !schema.contentMediaType.startsWith('text/'))
    return true;
  if (schema.contentEncoding === 'base64' && schema.type === 'string') return true;
  return !!encodingType && schema.type === 'string' && !/^(text\/|application\/json)/.test(encodingType);
}

function withDescription(base: Record<string, unknown>, from: JsonSchema): Record<string, unknown> {
  return isObject(from) && typeof from.description === 'string'
    ? { ...base, description: from.description }
    : base;
}
