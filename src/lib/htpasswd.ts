import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import type { Logger } from './logger.js';

/** How long a successful password check is remembered. bcrypt is slow by design (tens of ms per check
 * in pure JS) and clients send Basic credentials on every request, so checks are cached briefly. */
const VERIFIED_TTL_MS = 60_000;
const MAX_CACHED = 1000;
/** The file is re-read when its mtime or size changes, looked at no more often than this. */
const RECHECK_MS = 1000;
/** A bcrypt hash (cost 10, the usual htpasswd -B cost) of a random string nobody knows; made on first use. */
let unknownUserHash: Promise<string> | undefined;

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

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    /** The config key that names the file, for the error when it cannot be read. */
    private readonly setting = 'registry.auth.htpasswd',
  ) {
    this.reload(true);
  }

  has(user: string): boolean {
    this.reloadIfChanged();
    return this.users.has(user);
  }

  /** True when the user exists and the password matches its bcrypt hash. */
  async verify(user: string, password: string): Promise<boolean> {
    this.reloadIfChanged();
    const hash = this.users.get(user);
    if (!hash) {
      // Spend the same bcrypt time as for a real user, so response times do not reveal which names exist.
      unknownUserHash ??= bcrypt.hash(randomBytes(16).toString('hex'), 10);
      await bcrypt.compare(password, await unknownUserHash);
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
    const ok = await bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
    if (ok) {
      if (this.verified.size >= MAX_CACHED) this.verified.clear();
      this.verified.set(key, Date.now() + VERIFIED_TTL_MS);
    }
    return ok;
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
