/**
 * The auth part: OpenID Connect / JWT verification (jose), App Service's built-in authentication
 * per site, Protected Resource Metadata and challenges for MCP, per-tool scopes. The Principal is
 * the contract other parts build on (docs/auth.md).
 */
export type { Claim, Principal, StoredTokens } from './principal.js';
export { principalFrom, principalHeaders } from './principal.js';
export {
  SiteAuth,
  originOf,
  PRM_PATH,
  PRM_SETTING,
  type Authentication,
  type SiteAuthSettings,
} from './site-auth.js';
export { principalOf, toolAccessOf, setRequestIdentity } from './request-identity.js';
export type { ToolAccess, ToolRefusal } from './tool-scopes.js';
export { requiredScopes } from './tool-scopes.js';
export { KeySet, JWKS_COOLDOWN_MS } from './key-set.js';
export { discoverIssuer, type Issuer } from './issuer.js';
export { verifyToken, TokenRefused, ALGORITHMS, MAX_SKEW_SECONDS } from './verify.js';
export { authEndpoint, safeRedirect, type LoginContext } from './login.js';
export { SESSION_COOKIE, SessionCookies } from './session.js';
