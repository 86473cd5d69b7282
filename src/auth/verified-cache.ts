import type { JWTPayload } from 'jose';
import type { Issuer } from './issuer.js';
import type { Principal } from './principal.js';

/** Tokens kept at most; the oldest goes first. */
const MAX_ENTRIES = 10_000;
/** A verdict is reused at most this long, however late the token expires (bounds how long a removed key's tokens live on). */
const MAX_AGE_MS = 5 * 60_000;

interface Entry {
  payload: JWTPayload;
  issuer: Issuer;
  /** Until when the verdict may be reused (ms). */
  until: number;
  /** What was made from the payload once, for every later request with the token. */
  principal?: Principal;
  headers?: Record<string, string>;
}

/**
 * Tokens one site already verified, by their exact text (as Envoy's jwt_authn cache does): the
 * same bytes under the same policy get the same verdict until the token expires, so a client that
 * sends one token many times pays for one signature check. Only accepted tokens are kept; an
 * expired one is dropped on its next use. Bounded in size and in age.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, Entry>();

  get(token: string, now = Date.now()): Entry | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, payload: JWTPayload, issuer: Issuer, now = Date.now()): Entry {
    const until = typeof payload.exp === 'number' ? Math.min(payload.exp * 1000, now + MAX_AGE_MS) : 0;
    const entry: Entry = { payload, issuer, until };
    if (until === 0) return entry;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, entry);
    return entry;
  }
}
