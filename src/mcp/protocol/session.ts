import { randomBytes } from 'node:crypto';
import { HmacSigner } from '../../lib/hmac.js';

/**
 * Legacy-era (2025-11-25) session ids that any instance accepts without a session store: the id is
 * a signed statement "this server negotiated version V at time T", so whichever instance receives
 * a later request verifies the MAC with the shared secret instead of looking the session up.
 * Format: `s1.<base64url payload>.<base64url HMAC-SHA256>` — visible ASCII only, as the spec asks.
 */
export interface SessionClaims {
  /** The negotiated protocol version. */
  v: string;
  /** Issued at, epoch seconds. */
  iat: number;
  /** Expires at, epoch seconds. */
  exp: number;
  /** 128 random bits so two sessions opened in the same second differ. */
  n: string;
}

export class SessionSigner {
  private readonly signer: HmacSigner;

  constructor(
    secret: string | Buffer,
    private readonly ttlSeconds: number,
  ) {
    this.signer = new HmacSigner(secret);
  }

  issue(version: string, now = Date.now()): string {
    const iat = Math.floor(now / 1000);
    const claims: SessionClaims = {
      v: version,
      iat,
      exp: iat + this.ttlSeconds,
      n: randomBytes(16).toString('base64url'),
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `s1.${payload}.${this.signer.sign(payload)}`;
  }

  /** The claims of a genuine, unexpired id; undefined for anything else (the caller answers 404). */
  verify(id: string, now = Date.now()): SessionClaims | undefined {
    const [scheme, payload, signature, ...rest] = id.split('.');
    if (scheme !== 's1' || payload === undefined || signature === undefined || rest.length > 0)
      return undefined;
    if (!this.signer.verify(payload, signature)) return undefined;
    let claims: SessionClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SessionClaims;
    } catch {
      return undefined;
    }
    if (typeof claims.v !== 'string' || typeof claims.exp !== 'number') return undefined;
    return claims.exp * 1000 > now ? claims : undefined;
  }
}
