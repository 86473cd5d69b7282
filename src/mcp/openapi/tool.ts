import type { ToolAnnotations, ToolDefinition } from '../types.js';
import type { BodyPlan, OperationPlan, ParamLocation, ParamPlan } from '../invoke/plan.js';
import { buildBody } from './body.js';
import type { OperationModel } from './model.js';
import { argumentNames } from './arguments.js';
import { isObject, put } from './pointer.js';
import type { JsonSchema, SchemaConverter } from './schema.js';

/** Long descriptions cost every client context on every tools/list; beyond this they are cut. */
const MAX_DESCRIPTION = 1024;
/**
 * Size budgets (bytes of JSON) for the `$defs` one tool carries. Inputs get more room because they are
 * also what arguments are validated against; outputs only guide the model and the client's check.
 */
export interface DefsBudget {
  input: number;
  output: number;
}
export const DEFAULT_DEFS_BUDGET: DefsBudget = { input: 128 * 1024, output: 32 * 1024 };
const LOCATION_ORDER: ParamLocation[] = ['path', 'query', 'header', 'cookie'];

export interface BuiltTool {
  definition: ToolDefinition;
  plan: OperationPlan;
  /** Bytes of JSON of the `$defs` the input and output schemas carry. */
  defsBytes: DefsBudget;
}

/**
 * One MCP tool from one operation.
 *
 * inputSchema is a single object. Parameters keep their own names; when the same name occurs in more
 * than one location, the first location in the order path, query, header, cookie keeps the plain name
 * and each later one is renamed `<name>__<location>` (e.g. `id` and `id__query`). The request body is
 * one argument, `body` (renamed `body__body` if a parameter is already called `body`).
 */
export function buildTool(
  name: string,
  op: OperationModel,
  schemas: SchemaConverter,
  withOutputSchema = true,
  budget: DefsBudget = DEFAULT_DEFS_BUDGET,
): BuiltTool {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const params: ParamPlan[] = [];
  const ordered = [...op.params].sort((a, b) => LOCATION_ORDER.indexOf(a.in) - LOCATION_ORDER.indexOf(b.in));
  const args = argumentNames([
    ...ordered.map((p) => ({ name: p.name, in: p.in })),
    ...(op.body ? [{ name: 'body', in: 'body' as const }] : []),
    ...(op.body?.alternatives ? [{ name: 'contentType', in: 'body' as const }] : []),
  ]);
  ordered.forEach((param, i) => {
    const arg = args[i]!;
    const renamed = arg !== param.name && arg !== `${param.name}__${param.in}`;
    const text = renamed ? originalName(param.name, param.in, param.description) : param.description;
    put(properties, arg, describe(param.schema, text, param.deprecated, renamed));
    if (param.required) required.push(arg);
    params.push({
      arg,
      name: param.name,
      in: param.in,
      style: param.style,
      explode: param.explode,
      allowReserved: param.allowReserved,
      contentType: param.contentType,
    });
  });

  let body: BodyPlan | undefined;
  if (op.body) {
    const built = buildBody(op.body, schemas, args[ordered.length]!, args[ordered.length + 1]);
    for (const [arg, schema] of Object.entries(built.properties)) put(properties, arg, schema);
    if (op.body.required) required.push(built.plan.arg);
    body = built.plan;
  }

  const bounded = schemas.withDefs(
    {
      type: 'object' as const,
      properties,
      ...(required.length > 0 ? { required } : {}),
      additionalProperties: false,
    },
    budget.input,
  );
  const inputSchema: ToolDefinition['inputSchema'] = bounded.defs
    ? { ...bounded.schema, $defs: bounded.defs }
    : bounded.schema;

  const definition: ToolDefinition = {
    name,
    ...(op.summary ? { title: op.summary } : {}),
    ...(description(op) ? { description: description(op) } : {}),
    inputSchema,
    annotations: annotations(op.method),
  };
  const output = withOutputSchema ? objectSchema(op.output, schemas, budget.output) : undefined;
  if (output) definition.outputSchema = output.schema;

  return {
    definition,
    defsBytes: { input: bounded.bytes, output: output?.bytes ?? 0 },
    plan: {
      method: op.method.toUpperCase(),
      pathTemplate: op.path,
      basePath: op.basePath,
      params,
      body,
      accept: accept(op.responseTypes),
      ...(op.security ? { security: op.security } : {}),
    },
  };
}

/** Annotations by method, as App Service documents them. */
export function annotations(method: string): ToolAnnotations {
  switch (method) {
    case 'get':
    case 'head':
    case 'options':
    case 'trace':
      return { readOnlyHint: true, destructiveHint: false, idempotentHint: true };
    case 'put':
    case 'patch':
      return { readOnlyHint: false, destructiveHint: false, idempotentHint: true };
    case 'delete':
      return { readOnlyHint: false, destructiveHint: true, idempotentHint: true };
    default:
      return { readOnlyHint: false, destructiveHint: false, idempotentHint: false };
  }
}

function description(op: OperationModel): string | undefined {
  const parts = [op.summary, op.description].filter((p): p is string => !!p);
  if (parts.length === 2 && parts[0] === parts[1]) parts.pop();
  let text = parts.join('\n\n');
  if (op.deprecated) text = `(Deprecated) ${text}`.trim();
  if (text.length > MAX_DESCRIPTION) text = `${text.slice(0, MAX_DESCRIPTION - 1)}…`;
  return text || undefined;
}

/**
 * Sets a schema's description (and deprecated flag). `force` puts the text first even when the schema
 * has a description of its own: a renamed argument must always say what it is called on the wire.
 */
function describe(
  schema: JsonSchema,
  text: string | undefined,
  deprecated: boolean,
  force = false,
): JsonSchema {
  if (!text && !deprecated) return schema;
  const base = typeof schema === 'boolean' ? (schema ? {} : { not: {} }) : schema;
  const own = typeof base.description === 'string' ? base.description : undefined;
  const description = force && own && text !== own ? `${text} ${own}` : (own ?? text);
  return {
    ...base,
    ...(description ? { description } : {}),
    ...(deprecated ? { deprecated: true } : {}),
  };
}

/** `The "$top" query parameter.` + its own description: the original name, for the model and for people. */
function originalName(name: string, location: string, own: string | undefined): string {
  const text = `The ${JSON.stringify(name)} ${location} parameter.`;
  return own ? `${text} ${own}` : text;
}

/** outputSchema: only for an object response (MCP requires `type: "object"` at the root). */
function objectSchema(
  output: JsonSchema | undefined,
  schemas: SchemaConverter,
  budget: number,
): { schema: NonNullable<ToolDefinition['outputSchema']>; bytes: number } | undefined {
  if (output === undefined) return undefined;
  const root = schemas.resolveRoot(output);
  if (!isObject(root)) return undefined;
  const isObjectType = root.type === 'object' || (root.type === undefined && isObject(root.properties));
  if (!isObjectType) return undefined;
  const { $defs: _inline, ...rest } = root;
  // With a reduced budget (a huge document), an output schema whose own root is many times the budget
  // is left out: its shape would be mostly stubs, and it alone would outweigh the list's bound.
  if (budget < DEFAULT_DEFS_BUDGET.output && JSON.stringify(rest).length > budget * 8) return undefined;
  const bounded = schemas.withDefs({ ...rest, type: 'object' as const }, budget);
  return {
    schema: bounded.defs ? { ...bounded.schema, $defs: bounded.defs } : bounded.schema,
    bytes: bounded.bytes,
  };
}

/** JSON first and preferred (q=1), so an operation documented in JSON and XML answers in JSON. */
function accept(types: string[]): string {
  if (types.length === 0) return 'application/json, */*;q=0.5';
  const unique = [...new Set(types)];
  const json = unique.filter((t) => t.includes('json'));
  const other = unique.filter((t) => !t.includes('json'));
  if (json.length === 0) return other.join(', ');
  return [...json, ...other.map((t) => `${t};q=0.5`)].join(', ');
}
