import type { IncomingMessage, ServerResponse } from 'node:http';
import { jwtVerify, type JWTPayload } from 'jose';
import { PROBLEM_CONTENT_TYPE, problem } from '../lib/problem.js';
import type { Issuer } from './issuer.js';
import {
  LOGIN_COOKIE,
  SESSION_COOKIE,
  cookie,
  cookieFrom,
  pkce,
  randomToken,
  type SessionData,
} from './session.js';
import type { SiteAuth } from './site-auth.js';
import { ALGORITHMS, MAX_SKEW_SECONDS } from './verify.js';

/** What the /.auth endpoints need besides the site's authentication. */
export interface LoginContext {
  origin: string;
  requestId: string;
  /** An app setting's value with secret references resolved (the client secret). */
  setting(name: string): Promise<string | undefined>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  502: 'Bad Gateway',
};

function send(
  res: ServerResponse,
  status: number,
  detail: string,
  requestId: string,
  headers: Record<string, string | string[]> = {},
): void {
  const body = JSON.stringify(problem(status, TITLES[status] ?? 'Error', detail, { requestId }));
  res.writeHead(status, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function redirect(res: ServerResponse, location: string, cookies: string[] = []): void {
  res.writeHead(302, { location, 'set-cookie': cookies, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

/**
 * A post-login or post-logout target, only on this site: a path (not `//host`, no backslash or
 * control character a browser would reinterpret) or an absolute URL with this site's origin.
 * Undefined for anything else: an open redirect is refused, not rewritten.
 */
export function safeRedirect(target: string | null, origin: string): string | undefined {
  if (target === null || target === '') return '/';
  if (target.includes('\\') || [...target].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    return undefined;
  let url: URL;
  try {
    url = new URL(target, origin);
  } catch {
    return undefined;
  }
  if (url.origin !== origin) return undefined;
  if (!target.startsWith('/') && !target.startsWith(origin)) return undefined;
  if (target.startsWith('//')) return undefined;
  return `${url.pathname}${url.search}${url.hash}`;
}

async function tokenRequest(issuer: Issuer, body: Record<string, string>): Promise<Record<string, unknown>> {
  const endpoint = issuer.metadata.token_endpoint;
  if (!endpoint) throw new Error('the provider has no token_endpoint');
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(body),
    redirect: 'error',
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok)
    throw new Error(`the provider refused the token request: ${String(json.error ?? response.status)}`);
  return json;
}

/** The session's tokens as the token store keeps them. */
function tokensOf(answer: Record<string, unknown>, previous?: SessionData['tokens']): SessionData['tokens'] {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const expiresIn = typeof answer.expires_in === 'number' ? answer.expires_in : undefined;
  return {
    accessToken: str(answer.access_token),
    idToken: str(answer.id_token) ?? previous?.idToken,
    refreshToken: str(answer.refresh_token) ?? previous?.refreshToken,
    expiresOn: expiresIn === undefined ? undefined : Math.floor(Date.now() / 1000) + expiresIn,
  };
}

/**
 * App Service's browser sign-in endpoints under /.auth: login (authorization code with PKCE,
 * `state` and `nonce`), the callback, me, refresh and logout. Answers and returns true for a
 * /.auth path; false leaves the request to the rest of the chain.
 */
export async function authEndpoint(
  req: IncomingMessage,
  res: ServerResponse,
  auth: SiteAuth,
  ctx: LoginContext,
): Promise<boolean> {
  const url = new URL(req.url ?? '/', ctx.origin);
  const path = url.pathname;
  if (!path.startsWith('/.auth/')) return false;
  const secure = ctx.origin.startsWith('https:');
  const sessionCookie = (value: string, maxAge: number) =>
    cookie(SESSION_COOKIE, value, { maxAge, path: '/', secure });
  const loginCookie = (value: string, maxAge: number) =>
    cookie(LOGIN_COOKIE, value, { maxAge, path: '/.auth/', secure });

  const login = /^\/\.auth\/login\/([A-Za-z0-9_-]+)(\/callback)?$/.exec(path);
  if (login) {
    const issuer = auth.issuers.find((i) => i.provider.name === login[1]!.toLowerCase());
    if (!issuer) {
      send(res, 404, `no identity provider named ${login[1]} is enabled for this site`, ctx.requestId);
      return true;
    }
    const callback = `${ctx.origin}/.auth/login/${issuer.provider.name}/callback`;
    if (!login[2]) {
      const target = safeRedirect(url.searchParams.get('post_login_redirect_uri'), ctx.origin);
      if (!target) {
        send(res, 400, 'post_login_redirect_uri must be a path on this site', ctx.requestId);
        return true;
      }
      if (!issuer.metadata.authorization_endpoint) {
        send(res, 502, 'the provider has no authorization_endpoint', ctx.requestId);
        return true;
      }
      const { verifier, challenge } = pkce();
      const state = randomToken();
      const nonce = randomToken();
      const scopes = ['openid', 'profile', 'email', ...issuer.provider.config.login.scopes];
      const authorize = new URL(issuer.metadata.authorization_endpoint);
      for (const [k, v] of Object.entries({
        client_id: issuer.provider.config.registration.clientId,
        response_type: 'code',
        redirect_uri: callback,
        scope: [...new Set(scopes)].join(' '),
        state,
        nonce,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }))
        authorize.searchParams.set(k, v);
      const sealed = await auth.cookies.sealLogin({
        state,
        verifier,
        nonce,
        provider: issuer.provider.name,
        redirect: target,
      });
      redirect(res, authorize.href, [loginCookie(sealed, 600)]);
      return true;
    }
    // The callback: the state must be the one this browser's login cookie carries, used once.
    const flow = await auth.cookies.openLogin(cookieFrom(req.headers.cookie, LOGIN_COOKIE) ?? '');
    const clear = loginCookie('', 0);
    if (!flow || flow.state !== url.searchParams.get('state') || flow.provider !== issuer.provider.name) {
      send(
        res,
        400,
        'the sign-in cannot be completed: its state does not match this browser (start again at /.auth/login)',
        ctx.requestId,
        { 'set-cookie': [clear] },
      );
      return true;
    }
    const returnedIss = url.searchParams.get('iss');
    if (returnedIss !== null && returnedIss !== issuer.metadata.issuer) {
      send(res, 400, 'the sign-in answer names another issuer (RFC 9207)', ctx.requestId, {
        'set-cookie': [clear],
      });
      return true;
    }
    const code = url.searchParams.get('code');
    if (!code) {
      send(
        res,
        401,
        `the provider did not sign you in: ${url.searchParams.get('error') ?? 'no code'}`,
        ctx.requestId,
        { 'set-cookie': [clear] },
      );
      return true;
    }
    const { registration } = issuer.provider.config;
    const secretName =
      registration.clientCredential?.clientSecretSettingName ?? registration.clientSecretSettingName;
    const secret = secretName ? await ctx.setting(secretName) : undefined;
    let answer: Record<string, unknown>;
    let claims: JWTPayload;
    try {
      answer = await tokenRequest(issuer, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: callback,
        code_verifier: flow.verifier,
        client_id: registration.clientId,
        ...(secret ? { client_secret: secret } : {}),
      });
      if (typeof answer.id_token !== 'string') throw new Error('the provider sent no ID token');
      ({ payload: claims } = await jwtVerify(answer.id_token, issuer.keys.getKey, {
        issuer: issuer.metadata.issuer,
        audience: registration.clientId,
        algorithms: ALGORITHMS,
        clockTolerance: MAX_SKEW_SECONDS,
        requiredClaims: ['exp', 'sub'],
      }));
      if (claims.nonce !== flow.nonce) throw new Error('the ID token is not for this sign-in (nonce)');
    } catch (error) {
      send(res, 401, `sign-in failed: ${(error as Error).message}`, ctx.requestId, { 'set-cookie': [clear] });
      return true;
    }
    const { value } = await auth.cookies.sealSession({
      idp: issuer.provider.name,
      claims,
      tokens: auth.settings.auth.login.tokenStore.enabled ? tokensOf(answer) : undefined,
    });
    redirect(res, flow.redirect, [clear, sessionCookie(value, auth.cookies.lifetimeSeconds)]);
    return true;
  }

  const raw = cookieFrom(req.headers.cookie, SESSION_COOKIE);
  const session = raw ? await auth.cookies.openSession(raw) : undefined;
  const signedIn = session && !('refused' in session) ? session : undefined;

  if (path === '/.auth/logout') {
    const target = safeRedirect(url.searchParams.get('post_logout_redirect_uri'), ctx.origin);
    if (!target) {
      send(res, 400, 'post_logout_redirect_uri must be a path on this site', ctx.requestId);
      return true;
    }
    if (signedIn) auth.cookies.revoke(signedIn.sid, Number((signedIn as { exp?: number }).exp ?? 0));
    redirect(res, target, [sessionCookie('', 0)]);
    return true;
  }
  if (path === '/.auth/me' || path === '/.auth/refresh') {
    if (!signedIn) {
      send(res, 401, session ? (session as { refused: string }).refused : 'not signed in', ctx.requestId);
      return true;
    }
    let current = signedIn;
    const issuer = auth.issuers.find((i) => i.provider.name === current.idp);
    if (path === '/.auth/refresh') {
      const refreshToken = current.tokens?.refreshToken;
      if (!issuer || !refreshToken) {
        send(
          res,
          400,
          'this session has no refresh token (the token store is off, or the provider gave none)',
          ctx.requestId,
        );
        return true;
      }
      try {
        const { registration } = issuer.provider.config;
        const secretName =
          registration.clientCredential?.clientSecretSettingName ?? registration.clientSecretSettingName;
        const secret = secretName ? await ctx.setting(secretName) : undefined;
        const answer = await tokenRequest(issuer, {
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: registration.clientId,
          ...(secret ? { client_secret: secret } : {}),
        });
        auth.cookies.revoke(current.sid, Number((current as { exp?: number }).exp ?? 0));
        const sealed = await auth.cookies.sealSession({
          idp: current.idp,
          claims: current.claims,
          tokens: tokensOf(answer, current.tokens),
        });
        current = { ...current, sid: sealed.sid, tokens: tokensOf(answer, current.tokens) };
        res.setHeader('set-cookie', sessionCookie(sealed.value, auth.cookies.lifetimeSeconds));
      } catch (error) {
        send(res, 401, `refresh failed: ${(error as Error).message}`, ctx.requestId);
        return true;
      }
    }
    const claims = Object.entries(current.claims).flatMap(([typ, val]) =>
      (Array.isArray(val) ? val : [val]).map((v) => ({
        typ,
        val: typeof v === 'object' ? JSON.stringify(v) : String(v),
      })),
    );
    const body = JSON.stringify([
      {
        provider_name: current.idp,
        user_id: String(current.claims.oid ?? current.claims.sub ?? ''),
        user_claims: claims,
        ...(current.tokens
          ? {
              access_token: current.tokens.accessToken,
              id_token: current.tokens.idToken,
              expires_on: current.tokens.expiresOn
                ? new Date(current.tokens.expiresOn * 1000).toISOString()
                : undefined,
            }
          : {}),
      },
    ]);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
    return true;
  }
  send(
    res,
    404,
    `no such endpoint: ${path}; the endpoints are /.auth/login/<provider>, /.auth/me, /.auth/refresh, /.auth/logout`,
    ctx.requestId,
  );
  return true;
}
