import { canonicalHash } from '../lib/canonical-json.js';
import {
  InvalidToolCall,
  type CallContext,
  type CallToolResult,
  type ToolCatalog,
  type ToolDefinition,
} from './types.js';

/** SHA-256 of the tool list's canonical JSON: equal lists hash equally whatever order keys were built in. */
export function hashTools(tools: ToolDefinition[]): string {
  return canonicalHash(tools);
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
