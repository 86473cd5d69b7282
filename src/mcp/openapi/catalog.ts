import type { ToolCatalog, ToolDefinition } from '../types.js';
import { createInvoker, type InvokeOptions } from '../invoke/index.js';
import { canonicalHash } from '../../lib/canonical-json.js';
import { SpecError } from './errors.js';
import type { OperationModel } from './model.js';
import { toolNames } from './names.js';
import { operations2 } from './operations2.js';
import { operations3, type Skipped } from './operations3.js';
import { SchemaChecker } from './meta.js';
import { scopeAlternatives, securitySchemes } from './security.js';
import { isObject } from './pointer.js';
import { SchemaConverter, type Dialect } from './schema.js';
import { listBudget, toolSize } from './list-budget.js';
import { buildTool, type BuiltTool } from './tool.js';

export const DEFAULT_MAX_LIST_BYTES = 20_000_000;

export interface OperationFilter {
  tags?: string[];
  operationIds?: string[];
}

export interface CatalogOptions extends Omit<InvokeOptions, 'upstream' | 'credentials'> {
  /** Base URL of the REST API the tools call, e.g. http://127.0.0.1:3000 (its path, if any, replaces the spec's server path). */
  upstream: string;
  /** Keep only operations with one of these tags or operation ids (both lists together: either matches). */
  include?: OperationFilter;
  /** Then drop operations with one of these tags or operation ids. */
  exclude?: OperationFilter;
  /**
   * App Service's ToolList: ["*"] (default) every operation, also ones added later; [] none; otherwise
   * an allow-list of operation ids (or generated tool names). Unknown ids are ignored.
   */
  tools?: string[];
  /**
   * Publish outputSchema (default true). Clients validate structuredContent against it, so an API that
   * returns data its document does not describe fails there; false turns the schemas off.
   */
  outputSchemas?: boolean;
  /**
   * Secret values for the document's security schemes, by scheme name (already resolved: an API key
   * or bearer token as sent, `user:password` for basic, `client_id:client_secret` for OAuth2 client
   * credentials). A name the document does not declare is listed in `unknownCredentials`.
   */
  credentials?: Record<string, string>;
  /**
   * About how large the whole tool list may be, in bytes of JSON (default 20 MB). Above it, each
   * tool carries fewer of the shared schemas it reaches (see listBudget); GitHub's 4 MB list is
   * untouched, Microsoft Graph's 117 MB one is brought near it.
   */
  maxListBytes?: number;
}

export interface OpenApiCatalog extends ToolCatalog {
  /** Operations that could not become tools, with the reason (the rest still converted). */
  skipped: Skipped[];
  /** Non-fatal conversion notes: unresolved or external $refs, truncated schemas. */
  warnings: string[];
  /** Operations in the document before filtering. */
  operationCount: number;
  /** Security schemes the document declares that configured credentials can fill. */
  securitySchemes: string[];
  /** Configured credential names that match no usable security scheme of the document. */
  unknownCredentials: string[];
  /** Per tool, the scopes its operation's OpenAPI `security` asks for (any one list suffices); tools without `security` are absent. */
  toolScopes: Record<string, string[][]>;
}

/** Turns an OpenAPI 3.0/3.1 or Swagger 2.0 document into an MCP tool catalog whose calls reach `upstream`. */
export function buildCatalog(document: object, options: CatalogOptions): OpenApiCatalog {
  checkUpstream(options.upstream);
  const dialect = detectDialect(document);
  const doc = document as Record<string, unknown>;
  const schemas = new SchemaConverter(doc, dialect);
  const { operations, skipped } =
    dialect === 'swagger2' ? operations2(doc, schemas) : operations3(doc, schemas);

  const operationCount = operations.length + skipped.length;
  const names = toolNames(operations);
  const withOutput = options.outputSchemas !== false;
  let built: Array<{ op: OperationModel; tool: BuiltTool }> = [];
  const toolScopes: Record<string, string[][]> = {};
  for (const op of operations) {
    if (!selected(op, names.get(op)!, options)) continue;
    if (op.security) toolScopes[names.get(op)!] = scopeAlternatives(op.security);
    built.push({ op, tool: buildTool(names.get(op)!, op, schemas, withOutput) });
  }
  // A huge document's list is bounded: tools reaching many shared schemas carry fewer of them. The
  // estimate cannot know how many stubs a smaller budget adds, so the target is corrected from the
  // measured size (at most three rounds).
  const maxListBytes = options.maxListBytes ?? DEFAULT_MAX_LIST_BYTES;
  const sizes = built.map((b) => toolSize(b.tool)); // at the default budgets
  let target = maxListBytes;
  let previous: number | undefined;
  for (let round = 0; round < 3; round++) {
    const budget = listBudget(sizes, target);
    if (!budget || budget.input === previous) break; // fits, or at the smallest budget already
    previous = budget.input;
    let measured = 0;
    built = built.map(({ op, tool }, i) => {
      const size = sizes[i]!;
      if (size.input <= budget.input && size.output <= budget.output) {
        measured += size.root + size.input + size.output;
        return { op, tool };
      }
      const rebuilt = buildTool(tool.definition.name, op, schemas, withOutput, budget);
      const now = toolSize(rebuilt);
      measured += now.root + now.input + now.output;
      return { op, tool: rebuilt };
    });
    if (round === 0 || measured > maxListBytes)
      schemas.warn(
        `the tool list would exceed ${maxListBytes} bytes; $defs per tool limited to ${budget.input} bytes (input) and ${budget.output} (output), about ${measured} bytes in all`,
        '/paths',
      );
    if (measured <= maxListBytes) break;
    target = Math.floor((target * maxListBytes) / measured);
  }
  const checker = new SchemaChecker();
  const listed: BuiltTool[] = [];
  for (const { op, tool } of built) {
    // No listed schema may fail the meta-schema: one bad tool can make a client refuse the whole list.
    const inputProblem = checker.problem(tool.definition.inputSchema);
    if (inputProblem) {
      skipped.push({ method: op.method, path: op.path, reason: `invalid input schema: ${inputProblem}` });
      continue;
    }
    const outputProblem = tool.definition.outputSchema && checker.problem(tool.definition.outputSchema);
    if (outputProblem) {
      schemas.warn(`output schema dropped, it is invalid: ${outputProblem}`, op.pointer);
      delete tool.definition.outputSchema;
    }
    listed.push(tool);
  }
  listed.sort((a, b) => (a.definition.name < b.definition.name ? -1 : 1));
  const tools: ToolDefinition[] = listed.map((b) => b.definition);
  const schemes = securitySchemes(doc);
  const values = options.credentials ?? {};
  const invoker = createInvoker(new Map(listed.map((b) => [b.definition.name, b])), {
    ...options,
    upstream: options.upstream,
    credentials: { schemes, values },
  });

  return {
    tools,
    hash: canonicalHash(tools),
    call: invoker,
    skipped,
    warnings: schemas.warnings,
    operationCount,
    securitySchemes: Object.keys(schemes),
    unknownCredentials: Object.keys(values).filter((name) => !Object.hasOwn(schemes, name)),
    toolScopes,
  };
}

export function detectDialect(document: unknown): Dialect {
  if (!isObject(document)) throw new SpecError('an OpenAPI document must be a JSON or YAML object');
  const { openapi, swagger, paths } = document;
  let dialect: Dialect;
  if (swagger !== undefined) {
    if (String(swagger) !== '2.0')
      throw new SpecError(`unsupported Swagger version "${String(swagger)}"; only "2.0" exists`, '/swagger');
    dialect = 'swagger2';
  } else if (typeof openapi === 'string') {
    if (/^3\.0(\.|$)/.test(openapi)) dialect = 'openapi30';
    else if (/^3\.[12](\.|$)/.test(openapi)) dialect = 'openapi31';
    else
      throw new SpecError(
        `unsupported OpenAPI version "${openapi}"; expected 3.0.x, 3.1.x or Swagger 2.0`,
        '/openapi',
      );
  } else if (openapi !== undefined) {
    throw new SpecError(
      `"openapi" must be a version string such as "3.0.3", got ${JSON.stringify(openapi)}`,
      '/openapi',
    );
  } else {
    throw new SpecError('not an OpenAPI document: it has neither an "openapi" nor a "swagger" field');
  }
  if (paths === undefined && dialect !== 'openapi31')
    throw new SpecError('the document has no "paths"', '/paths');
  if (paths !== undefined && !isObject(paths))
    throw new SpecError('"paths" must be an object mapping paths to operations', '/paths');
  return dialect;
}

function selected(op: OperationModel, name: string, options: CatalogOptions): boolean {
  const matches = (filter: OperationFilter | undefined): boolean =>
    !!filter &&
    ((filter.tags ?? []).some((tag) => op.tags.includes(tag)) ||
      (filter.operationIds ?? []).some((id) => id === op.operationId || id === name));
  const include = options.include;
  if (
    include &&
    ((include.tags?.length ?? 0) > 0 || (include.operationIds?.length ?? 0) > 0) &&
    !matches(include)
  )
    return false;
  if (matches(options.exclude)) return false;
  const tools = options.tools ?? ['*'];
  if (tools.includes('*')) return true;
  return tools.some((id) => id === op.operationId || id === name);
}

function checkUpstream(upstream: string): void {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new SpecError(`upstream "${upstream}" is not a URL; expected e.g. http://127.0.0.1:3000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SpecError(`upstream "${upstream}" must be an http or https URL`);
}
