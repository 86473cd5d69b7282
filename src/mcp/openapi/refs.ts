import { OperationError } from './errors.js';
import { isObject, refTokens, resolveTokens } from './pointer.js';

/**
 * Follows `$ref`s on non-schema objects (parameters, request bodies, responses, path items).
 * Local only: a network or file reference is refused, never fetched. A chain that loops is an error.
 */
export function deref(document: unknown, node: unknown, at: string): Record<string, unknown> {
  let current = node;
  const seen = new Set<string>();
  while (isObject(current) && typeof current.$ref === 'string') {
    const ref = current.$ref;
    const tokens = refTokens(ref);
    if (!tokens)
      throw new OperationError(
        `external $ref "${ref}" is not followed (network and file references are never fetched)`,
        at,
      );
    if (seen.has(ref)) throw new OperationError(`$ref "${ref}" refers back to itself`, at);
    seen.add(ref);
    current = resolveTokens(document, tokens);
    if (current === undefined)
      throw new OperationError(`$ref "${ref}" points to nothing in the document`, at);
  }
  if (!isObject(current)) throw new OperationError('expected an object', at);
  return current;
}
