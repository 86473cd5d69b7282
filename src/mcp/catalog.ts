import { createHash } from 'node:crypto';
import {
  InvalidToolCall,
  type CallContext,
  type CallToolResult,
  type ToolCatalog,
  type ToolDefinition,
} from './types.js';

/** JSON with object keys sorted, so equal tool lists hash equally whatever order keys were built in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hashTools(tools: ToolDefinition[]): string {
  return createHash('sha256').update(canonicalJson(tools)).digest('hex');
}

export type ToolImplementation = (
  args: Record<string, unknown>,
  context: CallContext,
) => Promise<CallToolResult> | CallToolResult;

/**
 * A catalog of hand-written tools (the conformance fixture, the handles example, tests): each
 * definition paired with the function that runs it.
 */
export function defineCatalog(
  entries: Array<{ tool: ToolDefinition; run: ToolImplementation }>,
): ToolCatalog {
  const byName = new Map(entries.map((entry) => [entry.tool.name, entry.run]));
  const tools = entries.map((entry) => entry.tool);
  return {
    tools,
    hash: hashTools(tools),
    async call(name, args, context) {
      const run = byName.get(name);
      if (!run) throw new InvalidToolCall(`Unknown tool: ${name}`);
      return run(args, context);
    },
  };
}
