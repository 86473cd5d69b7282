/** OpenAPI → MCP tools: what other parts may use. The protocol layer needs only buildCatalog and loadSpec. */
export { buildCatalog, detectDialect } from './catalog.js';
export type { CatalogOptions, OpenApiCatalog, OperationFilter } from './catalog.js';
export { loadSpec, parseSpecText, MAX_SPEC_BYTES } from './load.js';
export type { LoadOptions, LoadedSpec } from './load.js';
export { SpecError } from './errors.js';
export type { Skipped } from './operations3.js';
export { canonicalHash, canonicalJson } from '../../lib/canonical-json.js';
export { strictHostReport, toolProblems, STRICT_TOOL_NAME } from './check.js';
export type { StrictHostReport, ToolProblem } from './check.js';
export { ARGUMENT_NAME } from './arguments.js';
