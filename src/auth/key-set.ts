import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { fetchJson } from './fetch-json.js';

/** An unknown `kid` fetches the JWKS again at most this often (and so does a failed fetch). */
export const JWKS_COOLDOWN_MS = 30_000;
/** Keys older than this are fetched again in the background, so a key the provider removed stops being trusted. */
export const JWKS_REFRESH_MS = 3_600_000;

/**
 * An issuer's signing keys, fetched once at start and kept. A token whose `kid` is not among them
 * (the provider rotated its keys) fetches the set again, at most once per cooldown whatever the
 * outcome: a flood of made-up `kid`s, or a provider that is down, costs one fetch per 30 s, never
 * one per request. Keys older than an hour are fetched again behind a request, so a key the
 * provider dropped stops being trusted within the hour. (jose's createRemoteJWKSet re-fetches on every request while it has no keys or
 * after a failed fetch, hence this wrapper around its createLocalJWKSet.)
 */
export class KeySet {
  private local: ReturnType<typeof createLocalJWKSet> | undefined;
  private lastAttempt = -Infinity;
  private loadedAt = -Infinity;
  private pending: Promise<boolean> | undefined;
  /** Fetches made, for tests and the log. */
  fetches = 0;

  constructor(
    readonly url: string,
    private readonly now: () => number = Date.now,
    private readonly cooldownMs = JWKS_COOLDOWN_MS,
  ) {}

  /** Fetches the set now (start, and the periodic refresh); throws when it cannot. */
  async load(): Promise<void> {
    this.lastAttempt = this.now();
    this.fetches++;
    const jwks = (await fetchJson(this.url, 'JWKS')) as JSONWebKeySet;
    if (!Array.isArray(jwks?.keys)) throw new Error(`the JWKS at ${this.url} has no "keys" list`);
    this.local = createLocalJWKSet(jwks);
    this.loadedAt = this.now();
  }

  /** The latest refresh started, under way or done (a test waits on it rather than on the clock). */
  lastRefresh: Promise<boolean> | undefined;

  get loaded(): boolean {
    return this.local !== undefined;
  }

  /** jose's key lookup for jwtVerify. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    // Stale keys are refreshed behind this request (which uses the keys at hand): at most once an hour.
    if (this.local && this.now() - this.loadedAt > JWKS_REFRESH_MS) void this.refresh();
    if (!this.local && !(await this.refresh()))
      throw new errors.JWKSNoMatchingKey('no signing keys could be fetched');
    try {
      return await this.local!(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey && (await this.refresh()))
        return this.local!(header, token);
      throw error;
    }
  };

  /** One fetch for everyone asking at once, none within the cooldown; true when new keys came. */
  private refresh(): Promise<boolean> {
    if (this.pending) return this.pending;
    if (this.now() - this.lastAttempt < this.cooldownMs) return Promise.resolve(false);
    this.pending = this.load()
      .then(() => true)
      .catch(() => false)
      .finally(() => (this.pending = undefined));
    this.lastRefresh = this.pending;
    return this.pending;
  }
}
