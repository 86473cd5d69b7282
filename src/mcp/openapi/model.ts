import type { BodyEncoding, BodyKind, ParamLocation, ParamStyle } from '../invoke/plan.js';
import type { JsonSchema } from './schema.js';

/** One operation, normalized from OpenAPI 3.x or Swagger 2.0, with schemas already converted. */
export interface OperationModel {
  method: string;
  path: string;
  /** JSON pointer of the operation, for messages. */
  pointer: string;
  operationId?: string;
  summary?: string;
  description?: string;
  tags: string[];
  deprecated: boolean;
  params: ParamModel[];
  body?: BodyModel;
  /** The schema of the first 2xx JSON response, if any. */
  output?: JsonSchema;
  responseTypes: string[];
  basePath: string;
  /** Scopes of the operation's `security` requirements: one list per alternative (security.ts). */
  security?: string[][];
}

export interface ParamModel {
  name: string;
  in: ParamLocation;
  required: boolean;
  schema: JsonSchema;
  description?: string;
  deprecated: boolean;
  style: ParamStyle;
  explode: boolean;
  allowReserved: boolean;
  contentType?: string;
}

export interface BodyModel {
  mediaType: string;
  kind: BodyKind;
  schema: JsonSchema;
  required: boolean;
  description?: string;
  encoding: Record<string, BodyEncoding>;
}

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Headers OpenAPI says to ignore as parameters: the tool layer sets them itself. */
export const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

export function defaultStyle(location: ParamLocation): ParamStyle {
  return location === 'query' || location === 'cookie' ? 'form' : 'simple';
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * Path template variables that no parameter declares (a common slip) become required string path
 * parameters, so the tool can still fill every segment instead of failing on each call.
 */
export function withUndeclaredPathParams(path: string, params: ParamModel[]): ParamModel[] {
  const declared = new Set(params.filter((p) => p.in === 'path').map((p) => p.name));
  const extra: ParamModel[] = [];
  for (const match of path.matchAll(/\{([^}]+)\}/g)) {
    const name = match[1]!;
    if (declared.has(name)) continue;
    declared.add(name);
    extra.push({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
      description: 'Path segment (not declared in the document)',
      deprecated: false,
      style: 'simple',
      explode: false,
      allowReserved: false,
    });
  }
  return extra.length > 0 ? [...params, ...extra] : params;
}
