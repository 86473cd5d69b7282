import type { FastifyInstance } from 'fastify';

/**
 * The contract between the registry's routes (registry/api) and access control (registry/access).
 * Every route asks `authorize` before it touches anything.
 */
export type RegistryAction = 'pull' | 'push' | 'delete';

export interface AccessRequest {
  /** Lower-cased request headers as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The client's address (the socket's, never a forwarded header): failed logins are limited per client. */
  client?: string;
  /** Repository name, or '' for registry-wide endpoints (/v2/ and /v2/_catalog). */
  repository: string;
  /** What the route needs. /v2/ asks for []: only "is this caller known" (or anonymous allowed). */
  actions: RegistryAction[];
  /** For /v2/_catalog: Docker's `registry:catalog:*` scope instead of a repository scope. */
  catalog?: boolean;
  /**
   * The scopes a Bearer challenge asks for, when they are more than `repository`/`actions`: pull and
   * push on the target of a push (one token then serves the whole push), plus pull on the source of
   * a cross-repository mount, as distribution asks. Only what `actions` names is required.
   */
  challengeScopes?: ScopeRequest[];
}

export interface ScopeRequest {
  repository: string;
  actions: RegistryAction[];
}

export type AccessDecision =
  | { allowed: true; subject?: string }
  | {
      allowed: false;
      /**
       * 401 with a WWW-Authenticate challenge, 403 when the caller is known but lacks the scope, 429
       * when the client failed too many password checks, 503 when no password check could be queued.
       */
      status: 401 | 403 | 429 | 503;
      headers: Record<string, string>;
      /** OCI error code: UNAUTHORIZED, DENIED, or TOOMANYREQUESTS (429 and 503, with Retry-After). */
      code: 'UNAUTHORIZED' | 'DENIED' | 'TOOMANYREQUESTS';
      message: string;
    };

export interface AccessControl {
  authorize(request: AccessRequest): Promise<AccessDecision>;
  /**
   * Extra HTTP routes access control serves on the registry's own server (the Docker token endpoint).
   * The registry app calls this once while it is built. Typed loosely so this contract does not tie
   * the access part to the api part's Fastify instance type.
   */
  routes?(app: FastifyInstance): void;
}
