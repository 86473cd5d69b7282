import type { IncomingMessage } from 'node:http';
import type { Principal } from './principal.js';
import type { ToolAccess } from './tool-scopes.js';

/** What the auth middleware learnt about a request, for the middlewares after it (built-in MCP, governance). */
interface RequestIdentity {
  principal?: Principal;
  toolAccess?: ToolAccess;
}

const identities = new WeakMap<IncomingMessage, RequestIdentity>();

export function setRequestIdentity(req: IncomingMessage, identity: RequestIdentity): void {
  identities.set(req, identity);
}

/** The verified caller of a request, if the front door's authentication found one. */
export function principalOf(req: IncomingMessage): Principal | undefined {
  return identities.get(req)?.principal;
}

/** Which MCP tools the request's caller may call; undefined when the site has no built-in authentication. */
export function toolAccessOf(req: IncomingMessage): ToolAccess | undefined {
  return identities.get(req)?.toolAccess;
}
