import { isAbsolute, join, resolve } from 'node:path';
import type { RegistryAuthConfig } from '../../config/index.js';
import type { Logger } from '../../lib/logger.js';
import { basicChallenge, bearerChallenge, denied, realmFor, throttled, unauthorized } from './challenge.js';
import { readCredentials } from '../../lib/credentials.js';
import { HtpasswdUsers, PasswordCheckRefused } from '../../lib/htpasswd.js';
import { Permissions } from './permissions.js';
import { accessAllows, formatScope, formatScopes, type AccessEntry } from './scope.js';
import { loadOrCreateSigningKey, type SigningKey } from './signing-key.js';
import { registerTokenRoutes, TOKEN_PATH } from './token-endpoint.js';
import { TokenError, verifyToken, type TokenSettings } from './tokens.js';
import type { AccessControl, AccessDecision, AccessRequest } from './types.js';

export interface AccessControlOptions {
  /** The registry's data dir: the generated token signing key lives here. */
  dataDir: string;
  /** Relative paths in the config (htpasswd, signingKey) are resolved against this; default cwd. */
  baseDir?: string;
  logger: Logger;
}

/** The identity a request proved, or why it proved none. */
type Caller =
  | { kind: 'anonymous' }
  | { kind: 'user'; user: string }
  | { kind: 'token'; subject: string | undefined; access: AccessEntry[] }
  | { kind: 'rejected'; decision: AccessDecision };

/**
 * Access control for the registry, from `registry.auth`:
 * - no htpasswd file: an open registry (everything allowed);
 * - `scheme: basic`: HTTP Basic checked against the htpasswd file on every request;
 * - `scheme: token`: Docker token authentication. Requests carry a Bearer JWT from `/auth/token`
 *   (served through `routes(app)`); Basic is still accepted so `curl -u` works.
 * Anonymous callers may pull when `anonymousPull` is on, but `/v2/` always answers 401 to them: clients
 * (containers/image, docker) learn the challenge there and send credentials only after seeing one.
 */
export function createAccessControl(
  config: RegistryAuthConfig,
  options: AccessControlOptions,
): AccessControl {
  const log = options.logger.child({ component: 'registry-access' });
  if (!config.htpasswd) {
    log.warn('registry auth: no htpasswd file configured, anyone may pull, push and delete');
    return { authorize: async () => ({ allowed: true }) };
  }
  const baseDir = options.baseDir ?? process.cwd();
  const users = new HtpasswdUsers(resolve(baseDir, config.htpasswd), log, 'registry.auth.htpasswd', {
    failureLimit: config.failureLimit,
  });
  const permissions = new Permissions(config);
  const settings: TokenSettings = {
    issuer: config.token.issuer,
    service: config.token.service,
    expiryMs: config.token.expiry,
  };
  let key: SigningKey | undefined;
  if (config.scheme === 'token') {
    const keyFile = config.token.signingKey
      ? resolve(baseDir, config.token.signingKey)
      : join(
          isAbsolute(options.dataDir) ? options.dataDir : resolve(baseDir, options.dataDir),
          'token-signing-key.pem',
        );
    key = loadOrCreateSigningKey(keyFile, log);
  }

  function challenge(request: AccessRequest, error?: 'invalid_token' | 'insufficient_scope'): string {
    if (!key) return basicChallenge(config.token.service);
    let scope: string | undefined;
    if (request.catalog) scope = formatScope('', [], true);
    else if (request.actions.length > 0)
      scope = formatScopes(
        request.challengeScopes ?? [{ repository: request.repository, actions: request.actions }],
      );
    return bearerChallenge(
      realmFor(request.headers, config.token.realm, TOKEN_PATH, config.token.trustForwardedHeaders),
      config.token.service,
      scope,
      error,
    );
  }

  async function identify(request: AccessRequest): Promise<Caller> {
    const credentials = readCredentials(request.headers);
    switch (credentials.kind) {
      case 'none':
        return { kind: 'anonymous' };
      case 'invalid':
        return { kind: 'rejected', decision: unauthorized(challenge(request), credentials.reason) };
      case 'basic':
        try {
          if (await users.verify(credentials.user, credentials.password, request.client ?? 'unknown'))
            return { kind: 'user', user: credentials.user };
        } catch (error) {
          if (!(error instanceof PasswordCheckRefused)) throw error;
          return { kind: 'rejected', decision: throttled(error.status, error.retryAfter, error.message) };
        }
        log.info({ user: credentials.user }, 'registry auth: wrong user name or password');
        return {
          kind: 'rejected',
          decision: unauthorized(challenge(request), 'wrong user name or password'),
        };
      case 'bearer':
        if (!key)
          return {
            kind: 'rejected',
            decision: unauthorized(
              challenge(request),
              'this registry takes Basic credentials, not Bearer tokens',
            ),
          };
        try {
          return { kind: 'token', ...(await verifyToken(key, settings, credentials.token)) };
        } catch (error) {
          const message = error instanceof TokenError ? error.message : 'the token is not valid';
          return { kind: 'rejected', decision: unauthorized(challenge(request, 'invalid_token'), message) };
        }
    }
  }

  function describe(request: AccessRequest): string {
    return request.catalog
      ? 'list the catalog'
      : `${request.actions.join(' and ')} repository "${request.repository}"`;
  }

  /** What the user's standing permissions allow, regardless of what a token says. */
  function userMay(user: string | undefined, request: AccessRequest): boolean {
    if (request.catalog) return permissions.catalog(user);
    return permissions.granted(user, request.repository, request.actions).length === request.actions.length;
  }

  return {
    async authorize(request) {
      const caller = await identify(request);
      const isPing = !request.catalog && request.actions.length === 0;
      switch (caller.kind) {
        case 'rejected':
          return caller.decision;
        case 'anonymous':
          if (!isPing && userMay(undefined, request)) return { allowed: true };
          return unauthorized(challenge(request), 'authentication required');
        case 'user':
          if (isPing || userMay(caller.user, request)) return { allowed: true, subject: caller.user };
          return denied(`user "${caller.user}" may not ${describe(request)}`);
        case 'token': {
          if (isPing || accessAllows(caller.access, request.repository, request.actions, request.catalog)) {
            return { allowed: true, ...(caller.subject ? { subject: caller.subject } : {}) };
          }
          // The token lacks the scope. If the user could hold it, the client should fetch a token for it
          // (Docker's insufficient_scope); if not, say plainly that it is denied.
          if (caller.subject === undefined || userMay(caller.subject, request)) {
            return unauthorized(
              challenge(request, 'insufficient_scope'),
              `the token does not grant ${describe(request)}`,
            );
          }
          return denied(`user "${caller.subject}" may not ${describe(request)}`);
        }
      }
    },
    routes: key
      ? (app) =>
          registerTokenRoutes(app, {
            users,
            permissions,
            key: key!,
            settings,
            realm: config.token.realm,
            log,
          })
      : undefined,
  };
}
