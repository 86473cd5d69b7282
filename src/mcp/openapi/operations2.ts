import type { ParamLocation, ParamStyle } from '../invoke/plan.js';
import { OperationError } from './errors.js';
import { isJsonMediaType, preferredRequestType } from './media.js';
import {
  IGNORED_HEADERS,
  METHODS,
  text,
  type BodyModel,
  type OperationModel,
  type ParamModel,
  withUndeclaredPathParams,
} from './model.js';
import type { Skipped } from './operations3.js';
import { successCodes } from './operations3.js';
import { isObject, pointerOf } from './pointer.js';
import { deref } from './refs.js';
import type { JsonSchema, SchemaConverter } from './schema.js';
import { scopeRequirements } from './security.js';

/** Keywords of a Swagger 2.0 non-body parameter that describe its value (the rest describe the parameter). */
const VALUE_KEYWORDS = [
  'type',
  'format',
  'items',
  'enum',
  'default',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'multipleOf',
];

/** Walks `paths` of a Swagger 2.0 document into the same model as 3.x. */
export function operations2(
  document: Record<string, unknown>,
  schemas: SchemaConverter,
): { operations: OperationModel[]; skipped: Skipped[] } {
  const operations: OperationModel[] = [];
  const skipped: Skipped[] = [];
  const paths = isObject(document.paths) ? document.paths : {};
  const basePath = typeof document.basePath === 'string' ? document.basePath.replace(/\/+$/, '') : '';
  for (const [path, rawItem] of Object.entries(paths)) {
    let item: Record<string, unknown>;
    try {
      item = deref(document, rawItem, pointerOf('paths', path));
    } catch (error) {
      skipped.push({ method: '*', path, reason: (error as Error).message });
      continue;
    }
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const at = pointerOf('paths', path, method);
      try {
        operations.push(operation(document, schemas, path, method, item, op, at, basePath));
      } catch (error) {
        if (!(error instanceof OperationError)) throw error;
        skipped.push({ method, path, reason: error.message });
      }
    }
  }
  return { operations, skipped };
}

function operation(
  document: Record<string, unknown>,
  schemas: SchemaConverter,
  path: string,
  method: string,
  item: Record<string, unknown>,
  op: Record<string, unknown>,
  at: string,
  basePath: string,
): OperationModel {
  const consumes = mediaTypes(op.consumes ?? document.consumes);
  const produces = mediaTypes(op.produces ?? document.produces);
  const raw = new Map<string, { param: Record<string, unknown>; at: string }>();
  for (const [list, listAt] of [
    [item.parameters, pointerOf('paths', path, 'parameters')],
    [op.parameters, `${at}/parameters`],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new OperationError('parameters must be an array', listAt);
    list.forEach((entry, i) => {
      const param = deref(document, entry, `${listAt}/${i}`);
      if (typeof param.name !== 'string' || param.name === '')
        throw new OperationError('parameter has no name', `${listAt}/${i}`);
      raw.set(`${String(param.in)}\0${param.name}`, { param, at: `${listAt}/${i}` });
    });
  }

  const params: ParamModel[] = [];
  const formFields: { param: Record<string, unknown>; at: string }[] = [];
  let body: BodyModel | undefined;
  for (const { param, at: paramAt } of raw.values()) {
    const name = param.name as string;
    if (param.in === 'body') {
      body = {
        mediaType:
          preferredRequestType(
            consumes.filter((t) => !t.startsWith('multipart/') && t !== 'application/x-www-form-urlencoded'),
          ) ?? 'application/json',
        kind: 'json',
        schema: param.schema === undefined ? {} : schemas.convert(param.schema, `${paramAt}/schema`),
        required: param.required === true,
        description: text(param.description),
        encoding: {},
      };
      body.kind = isJsonMediaType(body.mediaType) ? 'json' : 'text';
    } else if (param.in === 'formData') {
      formFields.push({ param, at: paramAt });
    } else if (param.in === 'path' || param.in === 'query' || param.in === 'header') {
      if (param.in === 'header' && IGNORED_HEADERS.has(name.toLowerCase())) continue;
      params.push(simpleParam(schemas, param, param.in, paramAt));
    } else {
      throw new OperationError(`parameter "${name}" has unknown location "${String(param.in)}"`, paramAt);
    }
  }
  if (formFields.length > 0) body = formBody(schemas, formFields, consumes);

  return {
    method,
    path,
    pointer: at,
    operationId: text(op.operationId),
    security: scopeRequirements(document, op),
    summary: text(op.summary),
    description: text(op.description),
    tags: Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === 'string') : [],
    deprecated: op.deprecated === true,
    params: withUndeclaredPathParams(path, params),
    body,
    output: output(document, schemas, op, produces, at),
    responseTypes: produces,
    basePath,
  };
}

function simpleParam(
  schemas: SchemaConverter,
  param: Record<string, unknown>,
  location: ParamLocation,
  at: string,
): ParamModel {
  const { style, explode } = collectionStyle(param.collectionFormat, location);
  return {
    name: param.name as string,
    in: location,
    required: location === 'path' || param.required === true,
    schema: valueSchema(schemas, param, at),
    description: text(param.description),
    deprecated: false,
    style,
    explode,
    allowReserved: false,
  };
}

function valueSchema(schemas: SchemaConverter, param: Record<string, unknown>, at: string): JsonSchema {
  const raw: Record<string, unknown> = {};
  for (const keyword of VALUE_KEYWORDS) if (param[keyword] !== undefined) raw[keyword] = param[keyword];
  if (param['x-nullable'] === true) raw['x-nullable'] = true;
  return schemas.convert(raw, at);
}

/** Swagger 2.0 collectionFormat → OpenAPI 3 style/explode. */
function collectionStyle(format: unknown, location: ParamLocation): { style: ParamStyle; explode: boolean } {
  if (format === 'multi') return { style: 'form', explode: true };
  if (format === 'ssv') return { style: 'spaceDelimited', explode: false };
  if (format === 'pipes') return { style: 'pipeDelimited', explode: false };
  if (format === 'tsv') return { style: 'tabDelimited', explode: false };
  return { style: location === 'query' ? 'form' : 'simple', explode: false }; // csv, the default
}

function formBody(
  schemas: SchemaConverter,
  fields: { param: Record<string, unknown>; at: string }[],
  consumes: string[],
): BodyModel {
  const hasFile = fields.some(({ param }) => param.type === 'file');
  const multipart = hasFile || consumes.some((t) => t.startsWith('multipart/form-data'));
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const encoding: BodyModel['encoding'] = {};
  for (const { param, at } of fields) {
    const name = param.name as string;
    const schema = valueSchema(schemas, param, at);
    properties[name] =
      typeof schema === 'object' && text(param.description)
        ? { ...schema, description: text(param.description) }
        : schema;
    if (param.required === true) required.push(name);
    if (param.collectionFormat === 'multi') encoding[name] = { style: 'form', explode: true };
    else if (param.type === 'array')
      encoding[name] = { style: collectionStyle(param.collectionFormat, 'query').style, explode: false };
  }
  return {
    mediaType: multipart ? 'multipart/form-data' : 'application/x-www-form-urlencoded',
    kind: multipart ? 'multipart' : 'form',
    schema: { type: 'object', properties, ...(required.length > 0 ? { required } : {}) },
    required: required.length > 0,
    encoding,
  };
}

function output(
  document: unknown,
  schemas: SchemaConverter,
  op: Record<string, unknown>,
  produces: string[],
  at: string,
): JsonSchema | undefined {
  if (!isObject(op.responses)) return undefined;
  if (produces.length > 0 && !produces.some(isJsonMediaType)) return undefined;
  const code = successCodes(Object.keys(op.responses))[0];
  if (!code) return undefined;
  try {
    const response = deref(document, op.responses[code], `${at}/responses/${code}`);
    return response.schema === undefined
      ? undefined
      : schemas.convert(response.schema, `${at}/responses/${code}/schema`);
  } catch {
    return undefined;
  }
}

function mediaTypes(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
}
