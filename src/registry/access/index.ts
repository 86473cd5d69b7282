// Registry access control: who may pull, push and delete. The registry's routes use only this file.
import type { AccessControl } from './types.js';
export type { AccessControl, AccessDecision, AccessRequest, RegistryAction, ScopeRequest } from './types.js';
export { createAccessControl, type AccessControlOptions } from './access-control.js';
export { JWKS_PATH, TOKEN_PATH } from './token-endpoint.js';

/** Everything allowed: for tests and embedded use where no `registry.auth` applies. */
export function allowAll(): AccessControl {
  return { authorize: async () => ({ allowed: true }) };
}
