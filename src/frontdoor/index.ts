/** What `berth up` and other parts may use from the front door. */
export { startFrontdoor, type Frontdoor, type FrontdoorOptions } from './server.js';
export {
  answerPath,
  type FrontdoorMiddleware,
  type MiddlewareMap,
  type RequestContext,
} from './middleware.js';
export { builtinMcp, type BuiltinMcpOptions } from './builtin-mcp.js';
export type { UpstreamSource } from './forward.js';
export { builtinAuth, type BuiltinAuth, type BuiltinAuthOptions } from './builtin-auth.js';
