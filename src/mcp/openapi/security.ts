import { isObject } from './pointer.js';

/**
 * The scopes an operation's `security` requirements ask for (OpenAPI 3 and Swagger 2 alike; the
 * operation's own list, else the document's): one list per alternative, any one of which is
 * enough. An empty alternative (`{}`) means no credentials are needed. Undefined when the
 * document says nothing, so the operation needs no scope.
 */
export function scopeRequirements(
  document: Record<string, unknown>,
  op: Record<string, unknown>,
): string[][] | undefined {
  const security = op.security ?? document.security;
  if (!Array.isArray(security)) return undefined;
  return security
    .filter(isObject)
    .map((requirement) => [
      ...new Set(
        Object.values(requirement).flatMap((scopes) =>
          Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string' && s !== '') : [],
        ),
      ),
    ]);
}
