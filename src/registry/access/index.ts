// Placeholder until registry/access lands: allows everything. Replaced by the access-control work.
import type { AccessControl } from './types.js';
export type { AccessControl, AccessDecision, AccessRequest, RegistryAction } from './types.js';

export function allowAll(): AccessControl {
  return { authorize: async () => ({ allowed: true }) };
}
