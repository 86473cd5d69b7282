import type { ToolDefinition } from '../types.js';
import { ARGUMENT_NAME } from './arguments.js';
import type { OpenApiCatalog } from './catalog.js';
import { forEachSchema } from './walk.js';

/** The strictest tool-name rule among model APIs (Anthropic's, OpenAI's, Bedrock's). */
export const STRICT_TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export interface ToolProblem {
  tool: string;
  /** `error`: a strict host refuses the request listing this tool; `warning`: some hosts may. */
  severity: 'error' | 'warning';
  message: string;
}

export interface StrictHostReport {
  tools: number;
  operations: number;
  problems: ToolProblem[];
  skipped: OpenApiCatalog['skipped'];
}

/**
 * What a strict model host (one that checks names and schema shape the way Anthropic's and Bedrock's
 * APIs do) would refuse, per tool: `berth mcp check`. One refused tool fails every request of a host
 * that lists it, so each is worth knowing before an agent meets it.
 */
export function strictHostReport(catalog: OpenApiCatalog): StrictHostReport {
  const problems: ToolProblem[] = [];
  for (const tool of catalog.tools) problems.push(...toolProblems(tool));
  return {
    tools: catalog.tools.length,
    operations: catalog.operationCount,
    problems,
    skipped: catalog.skipped,
  };
}

export function toolProblems(tool: ToolDefinition): ToolProblem[] {
  const problems: ToolProblem[] = [];
  const add = (severity: ToolProblem['severity'], message: string) =>
    problems.push({ tool: tool.name, severity, message });
  if (!STRICT_TOOL_NAME.test(tool.name)) add('error', `tool name does not match ${STRICT_TOOL_NAME.source}`);
  const input = tool.inputSchema;
  if (input.type !== 'object') add('error', 'inputSchema is not an object schema');
  for (const keyword of ['anyOf', 'oneOf', 'allOf', 'not', 'enum'])
    if (keyword in input) add('error', `inputSchema has "${keyword}" at the top level`);
  const top = (input.properties ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(top))
    if (!ARGUMENT_NAME.test(key))
      add('error', `argument name ${JSON.stringify(key)} does not match ${ARGUMENT_NAME.source}`);
  const nested = new Set<string>();
  forEachSchema(input, (node, path) => {
    if (path.length === 0 || !node.properties || typeof node.properties !== 'object') return;
    for (const key of Object.keys(node.properties)) if (!ARGUMENT_NAME.test(key)) nested.add(key);
  });
  if (nested.size > 0) {
    const sample = [...nested].slice(0, 5).map((k) => JSON.stringify(k));
    add(
      'warning',
      `nested property names outside ${ARGUMENT_NAME.source} (some hosts check every level): ${sample.join(', ')}${nested.size > 5 ? ` and ${nested.size - 5} more` : ''}`,
    );
  }
  if (tool.outputSchema && tool.outputSchema.type !== 'object')
    add('error', 'outputSchema is not an object schema');
  return problems;
}
