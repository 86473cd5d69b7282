import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { AccessEntry } from './scope.js';
import type { SigningKey } from './signing-key.js';

export interface TokenSettings {
  issuer: string;
  service: string;
  expiryMs: number;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

export interface VerifiedToken {
  subject: string | undefined;
  access: AccessEntry[];
}

/** Signs a Docker registry token: `sub` (empty for anonymous), `aud` = service, and the granted `access`. */
export async function issueToken(
  key: SigningKey,
  settings: TokenSettings,
  subject: string | undefined,
  access: AccessEntry[],
): Promise<IssuedToken> {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = Math.max(1, Math.round(settings.expiryMs / 1000));
  const token = await new SignJWT({ access })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT' })
    .setIssuer(settings.issuer)
    .setSubject(subject ?? '')
    .setAudience(settings.service)
    .setIssuedAt(now)
    .setNotBefore(now - 1)
    .setExpirationTime(now + expiresIn)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { token, expiresIn, issuedAt: new Date(now * 1000).toISOString() };
}

/** Verifies signature, issuer, audience and lifetime. Throws `TokenError` with a reason safe to show. */
export async function verifyToken(
  key: SigningKey,
  settings: TokenSettings,
  token: string,
): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      issuer: settings.issuer,
      audience: settings.service,
      algorithms: [key.alg],
      clockTolerance: 5,
    });
    const access = Array.isArray(payload.access) ? (payload.access as unknown[]).filter(isAccessEntry) : [];
    return { subject: payload.sub ? payload.sub : undefined, access };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired)
      throw new TokenError('the token has expired; request a new one');
    if (error instanceof joseErrors.JWTClaimValidationFailed)
      throw new TokenError(`the token is not for this registry (${error.claim})`);
    throw new TokenError('the token is not valid');
  }
}

export class TokenError extends Error {}

function isAccessEntry(value: unknown): value is AccessEntry {
  const v = value as AccessEntry;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.type === 'string' &&
    typeof v.name === 'string' &&
    Array.isArray(v.actions)
  );
}
