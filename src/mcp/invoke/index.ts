import type { CallContext, CallToolResult, ToolDefinition } from '../types.js';
import { InvalidToolCall } from '../types.js';
import { CredentialApplier, type CredentialOptions } from './credentials.js';
import type { OperationPlan } from './plan.js';
import { buildRequest } from './request.js';
import { toResult } from './result.js';
import { send, UpstreamFailure } from './send.js';
import { childTraceparent } from './trace.js';
import { ArgumentValidator, describeErrors, withoutOptionalNulls } from '../validate.js';

export type {
  OperationPlan,
  ParamPlan,
  BodyPlan,
  ParamLocation,
  ParamStyle,
  BodyKind,
  BodyEncoding,
  BodyOption,
  SecurityScheme,
  SecurityRequirement,
} from './plan.js';
export { ArgumentValidator, describeErrors } from '../validate.js';
export { childTraceparent } from './trace.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

export interface InvokeOptions {
  /** Base URL of the REST API. */
  upstream: string;
  /** Whole-request deadline (default 30 s). */
  timeoutMs?: number;
  /** Larger responses fail the call with isError (default 10 MiB). */
  maxResponseBytes?: number;
  /**
   * True when the upstream is the site itself (built-in MCP): only then is the caller's Authorization
   * forwarded. Never true for a third-party upstream.
   */
  sameOrigin?: boolean;
  /** Fixed headers for every upstream request (e.g. an API key the operator configured). */
  headers?: Record<string, string>;
  /**
   * Credentials for the document's security schemes: the schemes (from `securitySchemes`) and the
   * resolved secret value per scheme name. The operation's requirements pick which are sent.
   */
  credentials?: Omit<CredentialOptions, 'timeoutMs'>;
}

export interface InvocableTool {
  definition: ToolDefinition;
  plan: OperationPlan;
}

export type CallFunction = (
  name: string,
  args: Record<string, unknown>,
  context: CallContext,
) => Promise<CallToolResult>;

/** The `call` of a ToolCatalog: validate, build the request, send it, map the response. */
export function createInvoker(tools: Map<string, InvocableTool>, options: InvokeOptions): CallFunction {
  const upstream = new URL(options.upstream);
  const validator = new ArgumentValidator();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const credentials = new CredentialApplier({
    schemes: options.credentials?.schemes ?? {},
    values: options.credentials?.values ?? {},
    timeoutMs,
  });
  const fixedHeaders = Object.fromEntries(
    Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );

  return async (name, args, context) => {
    const tool = tools.get(name);
    if (!tool) throw new InvalidToolCall(`unknown tool "${name}"`);
    if (typeof (args ?? {}) !== 'object' || Array.isArray(args))
      throw new InvalidToolCall(`arguments for tool "${name}" must be an object`);
    const input = withoutOptionalNulls(tool.definition.inputSchema, args ?? {});
    validator.check(name, tool.definition.inputSchema, input);

    const request = await buildRequest(withChosenBody(tool, input, validator), upstream, input);
    Object.assign(request.headers, fixedHeaders);
    request.headers.traceparent = childTraceparent(context.traceparent);
    if (context.tracestate) request.headers.tracestate = context.tracestate;
    if (options.sameOrigin && context.callerAuthorization)
      request.headers.authorization = context.callerAuthorization;
    request.headers['user-agent'] = 'berth-mcp';

    const url = `${request.origin}${request.path}`;
    try {
      // After the caller's own Authorization (same origin only): configured credentials take precedence.
      await credentials.apply(tool.plan.security, request, context.signal);
      const response = await send(request, { timeoutMs, maxResponseBytes, signal: context.signal });
      return declaredShape(tool.definition, toResult(response, url), response.status, validator);
    } catch (error) {
      if (error instanceof UpstreamFailure)
        return {
          isError: true,
          content: [{ type: 'text', text: `${error.message} (${tool.plan.method} ${url})` }],
        };
      throw error;
    }
  };
}

/**
 * A tool with an outputSchema promises structured content that fits it, and clients check: a result
 * without structured content throws in the official clients unless it is an error. So an answer that
 * does not fit (a JSON body the document does not describe, an undocumented empty or non-JSON
 * success) is returned as text marked isError, saying why, with the answer itself for the model.
 */
function declaredShape(
  definition: ToolDefinition,
  result: CallToolResult,
  status: number,
  validator: ArgumentValidator,
): CallToolResult {
  if (!definition.outputSchema || result.isError) return result;
  let why: string;
  if (result.structuredContent === undefined) {
    why = 'the answer is not JSON';
  } else {
    let validate: ReturnType<ArgumentValidator['compile']> | undefined;
    try {
      validate = validator.compile(definition.outputSchema);
    } catch {
      return result; // a schema ajv cannot compile cannot be checked here; clients decide
    }
    if (validate(result.structuredContent)) return result;
    const errors = (validate.errors ?? [])
      .slice(0, 3)
      .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    why = `the JSON answer does not match the documented response schema (${errors.join('; ')})`;
  }
  const text = result.content
    .map((block) => (block.type === 'text' ? block.text : `<${block.type} content>`))
    .join('\n');
  return {
    isError: true,
    content: [{ type: 'text', text: `HTTP ${status}: ${why}, so it is returned as text:\n${text}` }],
  };
}

/**
 * The plan with the body media type the caller chose (the `contentType` argument), after checking the
 * body against that type's own shape: the input schema only says it fits one of the offered types.
 */
function withChosenBody(
  tool: InvocableTool,
  args: Record<string, unknown>,
  validator: ArgumentValidator,
): OperationPlan {
  const body = tool.plan.body;
  if (!body?.choice) return tool.plan;
  const wanted = Object.hasOwn(args, body.choice.arg) ? args[body.choice.arg] : undefined;
  const option = body.choice.options.find((o) => o.mediaType === wanted) ?? body.choice.options[0]!;
  const value = Object.hasOwn(args, body.arg) ? args[body.arg] : undefined;
  if (option.variant !== undefined && value !== undefined && value !== null) {
    const schema = variantSchema(tool.definition.inputSchema, body.arg, option.variant);
    if (schema) {
      const validate = validator.compile(schema);
      if (!validate(value)) {
        // Field names here are inside the body (`"name" must be string` means body.name).
        const problems = describeErrors(validate.errors ?? []);
        throw new InvalidToolCall(
          `the body does not have the shape of ${option.mediaType}: ${problems.join('; ')}`,
        );
      }
    }
  }
  const { choice: _choice, variant: _variant, ...rest } = { ...body, ...option };
  return { ...tool.plan, body: rest };
}

/** The anyOf member for one media type, carrying the tool's $defs so its references resolve. Cached. */
const variants = new WeakMap<object, Map<number, object>>();
function variantSchema(input: Record<string, unknown>, arg: string, variant: number): object | undefined {
  let cache = variants.get(input);
  if (!cache) variants.set(input, (cache = new Map()));
  let schema = cache.get(variant);
  if (!schema) {
    const property = (input.properties as Record<string, { anyOf?: unknown[] }> | undefined)?.[arg];
    const member = property?.anyOf?.[variant];
    if (member === undefined) return undefined;
    schema = { ...(input.$defs ? { $defs: input.$defs } : {}), allOf: [member] };
    cache.set(variant, schema);
  }
  return schema;
}
