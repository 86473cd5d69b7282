import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose';

/** App Service's session cookie name. */
export const SESSION_COOKIE = 'AppServiceAuthSession';
/** The short-lived cookie that carries one sign-in (state, PKCE verifier, nonce, where to return). */
export const LOGIN_COOKIE = 'BerthAuthLogin';
/** Browsers keep at most about 4 KiB per cookie. */
const MAX_COOKIE_BYTES = 4000;

export interface SessionData {
  /** Random id: a logged-out session's id is refused until the cookie would have expired. */
  sid: string;
  idp: string;
  /** The ID token's claims. */
  claims: JWTPayload;
  /** Provider tokens, kept only with the token store on. */
  tokens?: { accessToken?: string; idToken?: string; refreshToken?: string; expiresOn?: number };
}

export interface LoginState {
  state: string;
  verifier: string;
  nonce: string;
  provider: string;
  redirect: string;
}

/**
 * Encrypted, authenticated cookies (JWE, `dir` + A256GCM, via jose) under a per-site key derived
 * from Berth's cookie secret: a cookie made for one site is not accepted by another, and a
 * changed byte fails decryption. The cookie is HttpOnly and SameSite=Lax (the callback is a
 * top-level navigation from the provider, which Strict would strip), Secure on https.
 */
export class SessionCookies {
  private readonly key: Uint8Array;
  /** Session ids that logged out, with when their cookie expires. */
  private readonly revoked = new Map<string, number>();

  constructor(
    secret: Buffer,
    site: string,
    readonly lifetimeSeconds: number,
  ) {
    this.key = new Uint8Array(
      hkdfSync('sha256', secret, Buffer.from('berth-auth-cookie'), Buffer.from(site), 32),
    );
  }

  private async seal(payload: Record<string, unknown>, seconds: number, purpose: string): Promise<string> {
    return new EncryptJWT(payload)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${seconds}s`)
      .setAudience(purpose)
      .encrypt(this.key);
  }

  private async open(value: string, purpose: string): Promise<JWTPayload | undefined> {
    try {
      const { payload } = await jwtDecrypt(value, this.key, { audience: purpose, clockTolerance: 0 });
      return payload;
    } catch {
      return undefined;
    }
  }

  async sealSession(data: Omit<SessionData, 'sid'>): Promise<{ value: string; sid: string }> {
    const sid = randomBytes(16).toString('base64url');
    let value = await this.seal({ ...data, sid }, this.lifetimeSeconds, 'session');
    // Too large for a cookie with the tokens: the session keeps the claims only.
    if (value.length > MAX_COOKIE_BYTES && data.tokens)
      value = await this.seal({ ...data, tokens: undefined, sid }, this.lifetimeSeconds, 'session');
    return { value, sid };
  }

  /** The session, or why the cookie is refused (tampered, expired, logged out). */
  async openSession(value: string): Promise<SessionData | { refused: string }> {
    const payload = await this.open(value, 'session');
    if (!payload)
      return { refused: 'the session cookie is not valid (altered, expired, or from another site)' };
    const data = payload as unknown as SessionData;
    if (this.revoked.has(data.sid)) return { refused: 'the session was signed out' };
    return data;
  }

  /** Signs a session out for good: its cookie, replayed, is refused until it would have expired. */
  revoke(sid: string, expiresAt: number): void {
    const now = Date.now() / 1000;
    for (const [id, exp] of this.revoked) if (exp < now) this.revoked.delete(id);
    this.revoked.set(sid, expiresAt);
  }

  sealLogin(state: LoginState): Promise<string> {
    return this.seal({ ...state }, 600, 'login');
  }

  async openLogin(value: string): Promise<LoginState | undefined> {
    return (await this.open(value, 'login')) as unknown as LoginState | undefined;
  }
}

/** PKCE (RFC 7636): a random verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/** A Set-Cookie value; `maxAge` 0 clears it. */
export function cookie(
  name: string,
  value: string,
  options: { maxAge: number; path: string; secure: boolean },
): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/** One cookie's value from a Cookie header. */
export function cookieFrom(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
