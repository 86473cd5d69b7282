import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/logger.js';
import type { RegistryConfig } from '../../config/index.js';
import type { AccessControl, AccessDecision, RegistryAction, ScopeRequest } from '../access/index.js';
import type { ForeignUrlPolicy } from '../manifest.js';
import { OciError } from '../errors.js';
import type { MetadataStore } from '../meta/index.js';
import type { BlobStore } from '../store/index.js';
import type { UploadService } from '../uploads.js';

/** What every route handler works with. */
export interface RegistryContext {
  config: RegistryConfig;
  meta: MetadataStore;
  store: BlobStore;
  uploads: UploadService;
  access: AccessControl;
  log: Logger;
  /** registry.validation.manifests.urls, compiled once. */
  foreignUrls: ForeignUrlPolicy;
}

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  url: URL;
  /** Repository name from the path ('' for registry-wide routes). */
  name: string;
  /** The path segment after the route keyword: a reference, digest or upload id. */
  ref: string;
}

/** Asks access control before anything is touched; a refusal becomes the decision's status and OCI error. */
export async function authorize(
  ctx: RegistryContext,
  req: IncomingMessage,
  repository: string,
  actions: RegistryAction[],
  options: { catalog?: boolean; challengeScopes?: ScopeRequest[] } = {},
): Promise<void> {
  const decision = await decide(ctx, req, repository, actions, options);
  if (!decision.allowed) throw refusal(decision);
}

/** The decision itself, for a route that falls back rather than fails (a mount's `from`). */
export function decide(
  ctx: RegistryContext,
  req: IncomingMessage,
  repository: string,
  actions: RegistryAction[],
  options: { catalog?: boolean; challengeScopes?: ScopeRequest[] } = {},
): Promise<AccessDecision> {
  return ctx.access.authorize({
    headers: req.headers,
    ...(req.socket.remoteAddress ? { client: req.socket.remoteAddress } : {}),
    repository,
    actions,
    ...(options.catalog ? { catalog: true } : {}),
    ...(options.challengeScopes ? { challengeScopes: options.challengeScopes } : {}),
  });
}

export function refusal(decision: Extract<AccessDecision, { allowed: false }>): OciError {
  return new OciError(decision.code, decision.message, {
    status: decision.status,
    headers: decision.headers,
  });
}

/** What a Bearer challenge asks for on a push route: pull and push on the target, so one token serves it all. */
export function pushScopes(repository: string): ScopeRequest[] {
  return [{ repository, actions: ['pull', 'push'] }];
}

export function methodNotAllowed(method: string, allowed: string[]): OciError {
  return new OciError('UNSUPPORTED', `${method} is not supported here; use ${allowed.join(', ')}`, {
    headers: { Allow: allowed.join(', ') },
  });
}
