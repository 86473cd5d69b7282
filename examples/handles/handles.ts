import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Explicit handles (MCP 2026-07-28, SEP-2567): with no protocol session, state a tool must
 * remember travels in an opaque handle the model passes back as an ordinary argument. Here the
 * handle carries the state itself, signed so no one can forge or alter it, with an expiry, and
 * bound to the caller when one is known — so any instance can continue where another left off,
 * with no shared store. Format: `h1.<base64url JSON>.<base64url HMAC-SHA256>`.
 */
export interface HandleClaims<S> {
  /** What the handle is for ("tally", "basket"): a basket handle cannot be used as a tally. */
  kind: string;
  state: S;
  /** Expiry, epoch milliseconds. */
  exp: number;
  /** The caller the handle was minted for; absent when the request was anonymous. */
  sub?: string;
  /** 128 random bits: two handles with the same state still differ (unguessable, per the spec). */
  nonce: string;
}

export class HandleError extends Error {}

export class HandleSigner {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (Buffer.byteLength(secret) < 16) throw new Error('the handle secret must be at least 16 bytes');
    this.key = Buffer.from(secret);
  }

  mint<S>(kind: string, state: S, caller: string | undefined): string {
    const claims: HandleClaims<S> = {
      kind,
      state,
      exp: this.now() + this.ttlMs,
      nonce: randomBytes(16).toString('base64url'),
    };
    if (caller !== undefined) claims.sub = caller;
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `h1.${payload}.${this.mac(payload)}`;
  }

  /** The state inside a genuine handle of this kind, or a HandleError saying exactly what is wrong. */
  open<S>(handle: unknown, kind: string, caller: string | undefined): S {
    if (typeof handle !== 'string')
      throw new HandleError(`the ${kind} handle must be a string returned by an earlier call`);
    const [scheme, payload, mac, ...rest] = handle.split('.');
    if (scheme !== 'h1' || payload === undefined || mac === undefined || rest.length > 0) {
      throw new HandleError(`"${handle.slice(0, 40)}" is not a ${kind} handle`);
    }
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new HandleError(`the ${kind} handle was altered or was not issued by this service`);
    }
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as HandleClaims<S>;
    if (claims.kind !== kind) throw new HandleError(`this is a ${claims.kind} handle, not a ${kind} handle`);
    if (claims.exp <= this.now()) {
      throw new HandleError(
        `the ${kind} handle expired at ${new Date(claims.exp).toISOString()}; start a new ${kind}`,
      );
    }
    if (claims.sub !== undefined && claims.sub !== caller)
      throw new HandleError(`the ${kind} handle belongs to another caller`);
    return claims.state;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
