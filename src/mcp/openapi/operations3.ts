import type { BodyEncoding, ParamLocation, ParamStyle } from '../invoke/plan.js';
import { OperationError } from './errors.js';
import { bodyKind, isJsonMediaType, preferredRequestType } from './media.js';
import {
  defaultStyle,
  IGNORED_HEADERS,
  METHODS,
  text,
  type BodyModel,
  type OperationModel,
  type ParamModel,
  withUndeclaredPathParams,
} from './model.js';
import { isObject, pointerOf } from './pointer.js';
import { deref } from './refs.js';
import type { SchemaConverter } from './schema.js';
import { scopeRequirements } from './security.js';

const LOCATIONS = new Set<ParamLocation>(['path', 'query', 'header', 'cookie']);
const STYLES = new Set<ParamStyle>([
  'simple',
  'label',
  'matrix',
  'form',
  'spaceDelimited',
  'pipeDelimited',
  'deepObject',
]);

export interface Skipped {
  method: string;
  path: string;
  reason: string;
}

/** Walks `paths` of an OpenAPI 3.0/3.1 document. Operations with a local problem are skipped and reported. */
export function operations3(
  document: Record<string, unknown>,
  schemas: SchemaConverter,
): { operations: OperationModel[]; skipped: Skipped[] } {
  const operations: OperationModel[] = [];
  const skipped: Skipped[] = [];
  const paths = isObject(document.paths) ? document.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const itemAt = pointerOf('paths', path);
    let item: Record<string, unknown>;
    try {
      item = deref(document, rawItem, itemAt);
    } catch (error) {
      skipped.push({ method: '*', path, reason: (error as Error).message });
      continue;
    }
    for (const method of METHODS) {
      if (!isObject(item[method])) continue;
      const at = pointerOf('paths', path, method);
      try {
        operations.push(
          operation(document, schemas, path, method, item, item[method] as Record<string, unknown>, at),
        );
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
): OperationModel {
  const responses = responseInfo(document, schemas, op, at);
  return {
    method,
    path,
    pointer: at,
    operationId: text(op.operationId),
    security: scopeRequirements(document, op),
    summary: text(op.summary) ?? text(item.summary),
    description: text(op.description) ?? text(item.description),
    tags: Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === 'string') : [],
    deprecated: op.deprecated === true,
    params: withUndeclaredPathParams(path, parameters(document, schemas, item.parameters, op.parameters, at)),
    body:
      op.requestBody === undefined
        ? undefined
        : requestBody(document, schemas, op.requestBody, `${at}/requestBody`),
    output: responses.output,
    responseTypes: responses.types,
    basePath: basePath(op.servers ?? item.servers ?? document.servers),
  };
}

function parameters(
  document: unknown,
  schemas: SchemaConverter,
  pathLevel: unknown,
  opLevel: unknown,
  at: string,
): ParamModel[] {
  const byKey = new Map<string, ParamModel>();
  const add = (list: unknown, listAt: string) => {
    if (list === undefined) return;
    if (!Array.isArray(list)) throw new OperationError('parameters must be an array', listAt);
    list.forEach((raw, i) => {
      const param = parameter(document, schemas, raw, `${listAt}/${i}`);
      if (param) byKey.set(`${param.in}\0${param.name}`, param); // operation level overrides path level
    });
  };
  add(pathLevel, at.replace(/\/[^/]+$/, '/parameters'));
  add(opLevel, `${at}/parameters`);
  return [...byKey.values()];
}

function parameter(
  document: unknown,
  schemas: SchemaConverter,
  raw: unknown,
  at: string,
): ParamModel | undefined {
  const p = deref(document, raw, at);
  if (typeof p.name !== 'string' || p.name === '') throw new OperationError('parameter has no name', at);
  const location = p.in as ParamLocation;
  if (!LOCATIONS.has(location))
    throw new OperationError(`parameter "${p.name}" has unknown location "${String(p.in)}"`, at);
  if (location === 'header' && IGNORED_HEADERS.has(p.name.toLowerCase())) return undefined;
  let schema = p.schema === undefined ? {} : schemas.convert(p.schema, `${at}/schema`);
  let contentType: string | undefined;
  if (p.schema === undefined && isObject(p.content)) {
    const [mediaType, media] = Object.entries(p.content)[0] ?? [];
    if (mediaType && isObject(media)) {
      contentType = mediaType;
      schema = media.schema === undefined ? {} : schemas.convert(media.schema, `${at}/content`);
    }
  }
  const style = STYLES.has(p.style as ParamStyle) ? (p.style as ParamStyle) : defaultStyle(location);
  return {
    name: p.name,
    in: location,
    required: location === 'path' || p.required === true,
    schema,
    description: text(p.description),
    deprecated: p.deprecated === true,
    style,
    explode: typeof p.explode === 'boolean' ? p.explode : style === 'form',
    allowReserved: p.allowReserved === true,
    contentType,
  };
}

function requestBody(
  document: unknown,
  schemas: SchemaConverter,
  raw: unknown,
  at: string,
): BodyModel | undefined {
  const body = deref(document, raw, at);
  if (!isObject(body.content)) return undefined;
  const mediaType = preferredRequestType(Object.keys(body.content));
  if (!mediaType) return undefined;
  const media = body.content[mediaType];
  const mediaAt = `${at}/content/${mediaType.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  const kind = bodyKind(mediaType);
  const schema =
    isObject(media) && media.schema !== undefined ? schemas.convert(media.schema, `${mediaAt}/schema`) : {};
  const encoding: Record<string, BodyEncoding> = {};
  if (isObject(media) && isObject(media.encoding)) {
    for (const [field, enc] of Object.entries(media.encoding)) {
      if (!isObject(enc)) continue;
      encoding[field] = {
        style: STYLES.has(enc.style as ParamStyle) ? (enc.style as ParamStyle) : undefined,
        explode: typeof enc.explode === 'boolean' ? enc.explode : undefined,
        contentType: typeof enc.contentType === 'string' ? enc.contentType : undefined,
      };
    }
  }
  return {
    mediaType,
    kind,
    schema,
    required: body.required === true,
    description: text(body.description),
    encoding,
  };
}

function responseInfo(document: unknown, schemas: SchemaConverter, op: Record<string, unknown>, at: string) {
  const types = new Set<string>();
  let output: OperationModel['output'];
  if (!isObject(op.responses)) return { types: [], output };
  for (const code of successCodes(Object.keys(op.responses))) {
    let response: Record<string, unknown>;
    try {
      response = deref(document, op.responses[code], `${at}/responses/${code}`);
    } catch {
      continue; // a broken response only costs the output schema
    }
    if (!isObject(response.content)) continue;
    for (const mediaType of Object.keys(response.content)) types.add(mediaType);
    if (output !== undefined) continue;
    const jsonType = Object.keys(response.content).find(isJsonMediaType);
    const media = jsonType ? response.content[jsonType] : undefined;
    if (isObject(media) && media.schema !== undefined)
      output = schemas.convert(media.schema, `${at}/responses/${code}/content`);
    else if (jsonType) output = false; // first 2xx JSON response has no schema: no outputSchema
  }
  return { types: [...types], output: output === false ? undefined : output };
}

/** 2xx codes in order: 200, 201, ..., then the 2XX range. */
export function successCodes(codes: string[]): string[] {
  const exact = codes.filter((c) => /^2\d\d$/.test(c)).sort();
  return [...exact, ...codes.filter((c) => /^2XX$/i.test(c))];
}

/** The path of the first server URL (`https://host/v2` → `/v2`), server variables at their defaults. */
function basePath(servers: unknown): string {
  if (!Array.isArray(servers) || !isObject(servers[0]) || typeof servers[0].url !== 'string') return '';
  const server = servers[0];
  const variables = isObject(server.variables) ? server.variables : {};
  const url = (server.url as string).replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const variable = variables[name];
    return isObject(variable) && variable.default !== undefined ? String(variable.default) : '';
  });
  try {
    return new URL(url, 'http://relative.invalid').pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}
