import type { RegistryAction } from './types.js';

/** One entry of a token's `access` claim, as in the Docker token specification. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses `repository:team/app:pull,push` (also `registry:catalog:*`). The name sits between the first
 * and the last colon, and a resource class such as `repository(plugin)` is dropped. Null when malformed.
 */
export function parseScope(scope: string): AccessEntry | null {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return null;
  const type = scope.slice(0, first).replace(/\(.*\)$/, '');
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (!type || !name || actions.length === 0) return null;
  return { type, name, actions };
}

export function formatScope(repository: string, actions: RegistryAction[], catalog = false): string {
  return catalog ? 'registry:catalog:*' : `repository:${repository}:${actions.join(',')}`;
}

const ACTION_ORDER: RegistryAction[] = ['pull', 'push', 'delete'];

/** Several repository scopes for one challenge, space-separated (one per repository, actions merged). */
export function formatScopes(scopes: { repository: string; actions: RegistryAction[] }[]): string {
  const merged = new Map<string, Set<RegistryAction>>();
  for (const { repository, actions } of scopes) {
    const set = merged.get(repository) ?? new Set();
    for (const action of actions) set.add(action);
    merged.set(repository, set);
  }
  return [...merged]
    .filter(([, actions]) => actions.size > 0)
    .map(([repository, actions]) =>
      formatScope(
        repository,
        ACTION_ORDER.filter((a) => actions.has(a)),
      ),
    )
    .join(' ');
}

/** Does an `access` claim allow these actions on this repository (or the catalog)? */
export function accessAllows(
  access: AccessEntry[],
  repository: string,
  actions: RegistryAction[],
  catalog = false,
): boolean {
  if (catalog)
    return access.some((e) => e.type === 'registry' && e.name === 'catalog' && e.actions.includes('*'));
  return actions.every((action) =>
    access.some(
      (e) =>
        e.type === 'repository' &&
        e.name === repository &&
        (e.actions.includes(action) || e.actions.includes('*')),
    ),
  );
}
