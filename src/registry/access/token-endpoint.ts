import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import type { Logger } from '../../lib/logger.js';
import { basicChallenge } from './challenge.js';
import { readCredentials } from '../../lib/credentials.js';
import { PasswordCheckRefused, type HtpasswdUsers } from '../../lib/htpasswd.js';
import type { Permissions } from './permissions.js';
import { parseScope, type AccessEntry } from './scope.js';
import type { SigningKey } from './signing-key.js';
import { issueToken, type TokenSettings } from './tokens.js';
import type { RegistryAction } from './types.js';

export const TOKEN_PATH = '/auth/token';
export const JWKS_PATH = '/auth/jwks';

export interface TokenEndpointDeps {
  users: HtpasswdUsers;
  permissions: Permissions;
  key: SigningKey;
  settings: TokenSettings;
  realm: string | undefined;
  log: Logger;
}

const REGISTRY_ACTIONS = new Set<string>(['pull', 'push', 'delete']);

class TokenRequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 429 | 503,
    readonly code: string,
    message: string,
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/**
 * The Docker token endpoint (https://distribution.github.io/distribution/spec/auth/token/):
 * - `GET /auth/token?service=&scope=...` with Basic credentials, or none for an anonymous token;
 * - `POST /auth/token` with an OAuth2 form, `grant_type=password` (what `docker login` may use);
 * - `GET /auth/jwks`: the public key, so another process (a replica) can verify tokens.
 * A scope the caller does not hold is left out of the token rather than failing the request, as the
 * specification says; the registry then refuses the operation with 401/403.
 */
export function registerTokenRoutes(app: FastifyInstance, deps: TokenEndpointDeps): void {
  void app.register(async (scope) => {
    // Encapsulated: the form parser applies to these routes only, whatever the registry's app parses.
    if (!scope.hasContentTypeParser('application/x-www-form-urlencoded')) {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 64 * 1024 },
        (_req, body, done) => {
          done(null, Object.fromEntries(new URLSearchParams(body as string)));
        },
      );
    }
    scope.get(TOKEN_PATH, (request, reply) => handleGet(deps, request, reply));
    scope.post(TOKEN_PATH, (request, reply) => handlePost(deps, request, reply));
    scope.get(JWKS_PATH, async (_request, reply) => {
      const jwk = await exportJWK(deps.key.publicKey);
      const kid = await calculateJwkThumbprint(jwk);
      return reply
        .header('cache-control', 'public, max-age=300')
        .send({ keys: [{ ...jwk, kid, alg: deps.key.alg, use: 'sig' }] });
    });
  });
}

async function handleGet(deps: TokenEndpointDeps, request: FastifyRequest, reply: FastifyReply) {
  const query = request.query as Record<string, string | string[] | undefined>;
  try {
    checkService(deps, query.service);
    const credentials = readCredentials(request.headers);
    let subject: string | undefined;
    if (credentials.kind === 'basic')
      subject = await authenticate(deps, credentials.user, credentials.password, request.ip);
    else if (credentials.kind !== 'none')
      throw new TokenRequestError(401, 'UNAUTHORIZED', 'send Basic credentials to get a token');
    const token = await grant(deps, subject, scopesOf(query.scope));
    return reply.header('cache-control', 'no-store').send({
      token: token.token,
      access_token: token.token,
      expires_in: token.expiresIn,
      issued_at: token.issuedAt,
    });
  } catch (error) {
    return sendError(deps, reply, error);
  }
}

async function handlePost(deps: TokenEndpointDeps, request: FastifyRequest, reply: FastifyReply) {
  const form = (request.body ?? {}) as Record<string, string | undefined>;
  try {
    if (form.grant_type !== 'password') {
      throw new TokenRequestError(
        400,
        'unsupported_grant_type',
        'only grant_type=password is supported; refresh tokens are not issued',
      );
    }
    checkService(deps, form.service);
    if (!form.username || form.password === undefined)
      throw new TokenRequestError(400, 'invalid_request', 'username and password are required');
    const subject = await authenticate(deps, form.username, form.password, request.ip);
    const token = await grant(deps, subject, scopesOf(form.scope));
    return reply.header('cache-control', 'no-store').send({
      access_token: token.token,
      token_type: 'Bearer',
      expires_in: token.expiresIn,
      issued_at: token.issuedAt,
      scope: form.scope ?? '',
    });
  } catch (error) {
    return sendError(deps, reply, error);
  }
}

function checkService(deps: TokenEndpointDeps, service: unknown): void {
  if (service !== undefined && service !== deps.settings.service) {
    throw new TokenRequestError(
      400,
      'invalid_request',
      `this endpoint issues tokens for service "${deps.settings.service}"`,
    );
  }
}

async function authenticate(
  deps: TokenEndpointDeps,
  user: string,
  password: string,
  client: string,
): Promise<string> {
  let ok: boolean;
  try {
    ok = await deps.users.verify(user, password, client);
  } catch (error) {
    if (!(error instanceof PasswordCheckRefused)) throw error;
    throw new TokenRequestError(error.status, 'TOOMANYREQUESTS', error.message, error.retryAfter);
  }
  if (ok) return user;
  deps.log.info({ user }, 'token endpoint: wrong user name or password');
  throw new TokenRequestError(401, 'UNAUTHORIZED', 'wrong user name or password');
}

/** Scopes arrive as repeated `scope=` parameters and/or space-separated in one (OAuth2 style). */
function scopesOf(raw: string | string[] | undefined): string[] {
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return values.flatMap((v) => v.split(' ')).filter(Boolean);
}

/** Grants the intersection of what was asked and what the subject holds. Malformed scopes are errors. */
async function grant(deps: TokenEndpointDeps, subject: string | undefined, scopes: string[]) {
  const access: AccessEntry[] = [];
  const refused: string[] = [];
  for (const raw of scopes) {
    const scope = parseScope(raw);
    if (!scope)
      throw new TokenRequestError(
        400,
        'invalid_request',
        `malformed scope "${raw}"; expected repository:<name>:<actions>`,
      );
    if (scope.type === 'registry' && scope.name === 'catalog') {
      if (deps.permissions.catalog(subject))
        access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      else refused.push(raw);
      continue;
    }
    if (scope.type !== 'repository') {
      refused.push(raw);
      continue;
    }
    // `*` asks for everything the subject holds on the repository.
    const wanted = scope.actions.includes('*') ? ['pull', 'push', 'delete'] : scope.actions;
    const known = wanted.filter((a): a is RegistryAction => REGISTRY_ACTIONS.has(a));
    const granted = deps.permissions.granted(subject, scope.name, known);
    if (granted.length < wanted.length && !scope.actions.includes('*')) refused.push(raw);
    if (granted.length > 0) mergeInto(access, scope.name, granted);
  }
  if (refused.length > 0)
    deps.log.info(
      { subject: subject ?? '(anonymous)', refused },
      'token endpoint: scopes not held were left out',
    );
  const token = await issueToken(deps.key, deps.settings, subject, access);
  deps.log.debug({ subject: subject ?? '(anonymous)', access }, 'token issued');
  return token;
}

function mergeInto(access: AccessEntry[], name: string, actions: string[]): void {
  const existing = access.find((e) => e.type === 'repository' && e.name === name);
  if (existing) existing.actions = [...new Set([...existing.actions, ...actions])];
  else access.push({ type: 'repository', name, actions });
}

function sendError(deps: TokenEndpointDeps, reply: FastifyReply, error: unknown) {
  if (!(error instanceof TokenRequestError)) throw error;
  if (error.status === 401) reply.header('www-authenticate', basicChallenge(deps.settings.service));
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  // Docker clients show `errors[0].message`; OAuth2 clients read `error`/`error_description`.
  return reply
    .status(error.status)
    .header('cache-control', 'no-store')
    .send({
      errors: [{ code: error.code, message: error.message }],
      error: error.code.toLowerCase(),
      error_description: error.message,
    });
}
