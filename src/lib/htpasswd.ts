import { createHash, randomInt } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { BcryptBusyError, bcryptPool, type BcryptPool } from './bcrypt-pool.js';
import { FailureLimiter, type FailureLimitConfig } from './failure-limit.js';
import type { Logger } from './logger.js';

/** How long a successful password check is remembered. bcrypt is slow by design (tens of ms per check
 * in pure JS) and clients send Basic credentials on every request, so checks are cached briefly. */
const VERIFIED_TTL_MS = 60_000;
const MAX_CACHED = 1000;
/** The file is re-read when its mtime or size changes, looked at no more often than this. */
const RECHECK_MS = 1000;
/** Seconds a client refused because every bcrypt worker is busy is told to wait. */
const BUSY_RETRY_AFTER_S = 2;
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A password check that was not made: too many failures from the client (429) or no worker free (503). */
export class PasswordCheckRefused extends Error {
  constructor(
    readonly status: 429 | 503,
    readonly retryAfter: number,
    message: string,
  ) {
    super(message);
    this.name = 'PasswordCheckRefused';
  }
}

export interface HtpasswdOptions {
  /** Failed checks per client before it is refused (429) until the window ends; none: unlimited. */
  failureLimit?: FailureLimitConfig;
  /** Where bcrypt runs; the process-wide pool unless a test passes its own. */
  pool?: BcryptPool;
}

/** A well-formed bcrypt hash of nothing anyone knows: checking against it costs what a real one does. */
function dummyHash(cost: number): string {
  let rest = '';
  for (let i = 0; i < 53; i++) rest += BCRYPT_ALPHABET[randomInt(BCRYPT_ALPHABET.length)];
  return `$2b$${String(cost).padStart(2, '0')}$${rest}`;
}

function costOf(hash: string): number {
  return Number(hash.slice(4, 6));
}

/**
 * Users from an htpasswd file with bcrypt entries (`htpasswd -B`, `$2y$`/`$2a$`/`$2b$`). Other hash
 * formats (MD5 `$apr1$`, `{SHA}`, crypt) are weak; those users are skipped with a warning naming them.
 */
export class HtpasswdUsers {
  private users = new Map<string, string>();
  private stamp = '';
  private lastCheck = 0;
  /** sha256(user, password, hash) → expiry time. Stores no password, only a digest of a verified one. */
  private verified = new Map<string, number>();
  /** What an unknown user name is checked against: the highest cost in the file (10 when empty). */
  private unknownUserHash = dummyHash(10);
  private readonly limiter: FailureLimiter | undefined;
  private readonly pool: BcryptPool;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    /** The config key that names the file, for the error when it cannot be read. */
    private readonly setting = 'registry.auth.htpasswd',
    options: HtpasswdOptions = {},
  ) {
    this.limiter = options.failureLimit ? new FailureLimiter(options.failureLimit) : undefined;
    this.pool = options.pool ?? bcryptPool;
    this.reload(true);
  }

  has(user: string): boolean {
    this.reloadIfChanged();
    return this.users.has(user);
  }

  /**
   * True when the user exists and the password matches its bcrypt hash. `client` (the remote address;
   * callers that cannot tell pass one shared name, so the limit still holds) counts failures. Throws PasswordCheckRefused when the client is over the
   * limit (no bcrypt work is done) or every bcrypt worker is busy and the queue is full.
   */
  async verify(user: string, password: string, client: string): Promise<boolean> {
    const wait = this.limiter?.retryAfter(client) ?? 0;
    if (wait > 0) {
      throw new PasswordCheckRefused(
        429,
        wait,
        `too many failed password checks from this address; try again in ${wait} s`,
      );
    }
    const ok = await this.check(user, password);
    if (!ok) this.limiter?.failed(client);
    return ok;
  }

  private async check(user: string, password: string): Promise<boolean> {
    this.reloadIfChanged();
    const hash = this.users.get(user);
    if (!hash) {
      // Spend the same bcrypt time as for a real user, so response times do not reveal which names exist.
      await this.compare(password, this.unknownUserHash);
      return false;
    }
    const key = createHash('sha256')
      .update(user)
      .update('\0')
      .update(password)
      .update('\0')
      .update(hash)
      .digest('base64');
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    // bcryptjs understands $2a$ and $2b$; $2y$ (Apache's htpasswd -B) is the same algorithm.
    const ok = await this.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
    if (ok) {
      if (this.verified.size >= MAX_CACHED) this.verified.clear();
      this.verified.set(key, Date.now() + VERIFIED_TTL_MS);
    }
    return ok;
  }

  private async compare(password: string, hash: string): Promise<boolean> {
    try {
      return await this.pool.compare(password, hash);
    } catch (error) {
      if (!(error instanceof BcryptBusyError)) throw error;
      throw new PasswordCheckRefused(
        503,
        BUSY_RETRY_AFTER_S,
        'too many password checks are waiting; try again shortly',
      );
    }
  }

  private reloadIfChanged(): void {
    const now = Date.now();
    if (now - this.lastCheck < RECHECK_MS) return;
    this.lastCheck = now;
    this.reload(false);
  }

  /** On first load a missing or unreadable file is fatal; later, the last good user list is kept. */
  private reload(first: boolean): void {
    let stamp: string;
    let text: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}`;
      if (stamp === this.stamp) return;
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (first) throw new Error(`${this.setting}: cannot read ${this.file}: ${reason}`, { cause: error });
      this.log.warn({ file: this.file, reason }, 'htpasswd file unreadable; keeping the users loaded before');
      return;
    }
    this.users = parseHtpasswd(text, this.file, this.log);
    const costs = [...this.users.values()].map(costOf);
    this.unknownUserHash = dummyHash(costs.length > 0 ? Math.max(...costs) : 10);
    this.stamp = stamp;
    this.verified.clear();
    if (!first) this.log.info({ file: this.file, users: this.users.size }, 'htpasswd file reloaded');
  }
}

export function parseHtpasswd(text: string, file: string, log: Logger): Map<string, string> {
  const users = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = colon > 0 ? line.slice(0, colon) : '';
    const hash = colon > 0 ? line.slice(colon + 1) : '';
    if (!user || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      // Never log the hash itself; the line number and user name are enough to fix the file.
      log.warn(
        { file, line: index + 1, user: user || undefined },
        'htpasswd line skipped: only user:bcrypt entries are accepted (htpasswd -B)',
      );
      return;
    }
    users.set(user, hash);
  });
  return users;
}
