import type { BuiltTool, DefsBudget } from './tool.js';
import { DEFAULT_DEFS_BUDGET } from './tool.js';

/** The smallest per-tool `$defs` budget: below this a tool would carry little more than stubs. */
const MIN_INPUT_BUDGET = 1024;

/**
 * The per-tool `$defs` budget that keeps the whole tool list near `maxListBytes` of JSON, or undefined
 * when the list already fits with the default budgets.
 *
 * Every tool carries its own copy of each schema it reaches (MCP has no cross-tool references), so a
 * document whose operations share large schemas (Microsoft Graph: 11,422 tools reaching the same
 * entity types) lists those schemas thousands of times. When the sum is over the limit, the largest
 * input budget B (output: B/4) is found for which Σ root + min(inputDefs, B) + min(outputDefs, B/4)
 * fits; tools that carry more are rebuilt with it, so the schemas nearest each tool stay and the far
 * ones become stubs. Small tools are untouched.
 */
export function listBudget(tools: ToolSize[], maxListBytes: number): DefsBudget | undefined {
  const size = (budget: DefsBudget) =>
    tools.reduce(
      (sum, tool) =>
        sum + tool.root + Math.min(tool.input, budget.input) + Math.min(tool.output, budget.output),
      0,
    );
  if (size(DEFAULT_DEFS_BUDGET) <= maxListBytes) return undefined;
  let low = MIN_INPUT_BUDGET;
  let high = DEFAULT_DEFS_BUDGET.input;
  const of = (input: number): DefsBudget => ({ input, output: Math.floor(input / 4) });
  while (high - low > 256) {
    const middle = Math.floor((low + high) / 2);
    if (size(of(middle)) <= maxListBytes) low = middle;
    else high = middle;
  }
  return of(low);
}

/** How many bytes of JSON a tool is: without its `$defs`, and the `$defs` of its input and output. */
export interface ToolSize {
  root: number;
  input: number;
  output: number;
}

/** Measured once per tool: serializing Graph's 11,422 roots costs about 20 MB of strings each time. */
export function toolSize(tool: BuiltTool): ToolSize {
  return { root: rootBytes(tool), input: tool.defsBytes.input, output: tool.defsBytes.output };
}

/** Bytes of JSON of a tool without its `$defs`. */
function rootBytes(tool: BuiltTool): number {
  const { inputSchema, outputSchema, ...rest } = tool.definition;
  const withoutDefs = (schema: Record<string, unknown>) => {
    const { $defs: _defs, ...root } = schema;
    return JSON.stringify(root).length;
  };
  return (
    JSON.stringify(rest).length + withoutDefs(inputSchema) + (outputSchema ? withoutDefs(outputSchema) : 0)
  );
}
