import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/logger.js';
import type { RegistryConfig } from '../../config/index.js';
import type { AccessControl, RegistryAction } from '../access/index.js';
import { OciError } from '../errors.js';
import type { MetadataStore } from '../meta/store.js';
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
  catalog = false,
): Promise<void> {
  const decision = await ctx.access.authorize({
    headers: req.headers,
    repository,
    actions,
    ...(catalog ? { catalog } : {}),
  });
  if (!decision.allowed)
    throw new OciError(decision.code, decision.message, {
      status: decision.status,
      headers: decision.headers,
    });
}

/** Is the caller allowed, without failing (used for the `from` repository of a mount). */
export async function isAllowed(
  ctx: RegistryContext,
  req: IncomingMessage,
  repository: string,
  actions: RegistryAction[],
): Promise<boolean> {
  return (await ctx.access.authorize({ headers: req.headers, repository, actions })).allowed;
}

export function methodNotAllowed(method: string, allowed: string[]): OciError {
  return new OciError('UNSUPPORTED', `${method} is not supported here; use ${allowed.join(', ')}`, {
    headers: { Allow: allowed.join(', ') },
  });
}
