import type { RegistryAuthConfig } from '../../config/index.js';
import type { RegistryAction } from './types.js';

const ALL_ACTIONS: RegistryAction[] = ['pull', 'push', 'delete'];

/** `*` matches any run of characters (slashes included); everything else is literal. */
function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

/**
 * Who may do what. `user` is undefined for an anonymous caller. Authenticated users also hold what
 * anonymous callers hold, so turning on anonymous pull never locks out a named user.
 */
export class Permissions {
  private readonly rules: {
    users: Set<string>;
    repositories: RegExp[];
    all: boolean;
    actions: Set<RegistryAction>;
  }[];

  constructor(
    private readonly config: Pick<RegistryAuthConfig, 'anonymousPull' | 'permissions' | 'htpasswd'>,
  ) {
    this.rules = config.permissions.map((rule) => ({
      users: new Set(rule.users),
      repositories: rule.repositories.map(patternToRegExp),
      all: rule.repositories.includes('*'),
      actions: new Set(rule.actions),
    }));
  }

  /** The subset of `wanted` that `user` holds on `repository`. */
  granted(user: string | undefined, repository: string, wanted: RegistryAction[]): RegistryAction[] {
    return wanted.filter((action) => this.holds(user, repository, action));
  }

  holds(user: string | undefined, repository: string, action: RegistryAction): boolean {
    if (!this.config.htpasswd) return true; // no users configured: an open registry
    if (action === 'pull' && this.config.anonymousPull) return true;
    if (user === undefined) return false;
    if (this.rules.length === 0) return ALL_ACTIONS.includes(action);
    return this.rules.some(
      (rule) =>
        (rule.users.has(user) || rule.users.has('*')) &&
        rule.actions.has(action) &&
        rule.repositories.some((re) => re.test(repository)),
    );
  }

  /** The catalog names every repository, so it needs pull on all of them. */
  catalog(user: string | undefined): boolean {
    if (!this.config.htpasswd || this.config.anonymousPull) return true;
    if (user === undefined) return false;
    if (this.rules.length === 0) return true;
    return this.rules.some(
      (rule) => (rule.users.has(user) || rule.users.has('*')) && rule.actions.has('pull') && rule.all,
    );
  }
}
