import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readOrCreateKey } from './key.js';

/** Key Vault's rule for secret names: 1-127 letters, digits and dashes. */
export const SECRET_NAME = /^[A-Za-z0-9-]{1,127}$/;

export interface SecretVersionInfo {
  version: number;
  created: string;
}

export interface SecretInfo {
  name: string;
  versions: SecretVersionInfo[];
}

interface StoredVersion extends SecretVersionInfo {
  iv: string;
  tag: string;
  data: string;
}

interface StoredSecret {
  name: string;
  versions: StoredVersion[];
}

export class SecretNotFound extends Error {
  constructor(name: string, version?: number) {
    super(
      version === undefined
        ? `secret ${name} is not in the secret store`
        : `secret ${name} has no version ${version}`,
    );
    this.name = 'SecretNotFound';
  }
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name))
    throw new Error(`"${name}" is not a secret name: 1-127 letters, digits or dashes`);
}

/**
 * Berth's secret store: one JSON file per secret under `dir`, each version encrypted with
 * AES-256-GCM under the key file's key (a fresh 96-bit IV per version; the name and version are
 * authenticated data, so a version cannot be moved to another name or number). Values exist in
 * clear only in memory, on their way to an instance's environment.
 */
export class SecretStore {
  private key: Buffer | undefined;

  constructor(
    readonly dir: string,
    readonly keyFile: string,
  ) {}

  private async cipherKey(): Promise<Buffer> {
    return (this.key ??= await readOrCreateKey(this.keyFile));
  }

  private file(name: string): string {
    return join(this.dir, `${name.toLowerCase()}.json`);
  }

  private async read(name: string): Promise<StoredSecret | undefined> {
    checkName(name);
    try {
      return JSON.parse(await readFile(this.file(name), 'utf8')) as StoredSecret;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`the secret store file of ${name} cannot be read: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private async write(secret: StoredSecret): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.file(secret.name);
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(secret), { mode: 0o600 });
    await rename(temporary, path);
  }

  /** Adds a new version (1, 2, ...) and returns its number. Names are case-insensitive, as in Key Vault. */
  async set(name: string, value: string): Promise<number> {
    const existing = (await this.read(name)) ?? { name, versions: [] };
    const version = (existing.versions.at(-1)?.version ?? 0) + 1;
    const key = await this.cipherKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`berth-secret:${name.toLowerCase()}:${version}`));
    const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    existing.versions.push({
      version,
      created: new Date().toISOString(),
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    });
    await this.write(existing);
    return version;
  }

  /** The value of the newest version, or of `version`. */
  async get(name: string, version?: number): Promise<{ value: string; version: number }> {
    const secret = await this.read(name);
    const stored =
      version === undefined ? secret?.versions.at(-1) : secret?.versions.find((v) => v.version === version);
    if (!stored) throw new SecretNotFound(name, secret ? version : undefined);
    const decipher = createDecipheriv(
      'aes-256-gcm',
      await this.cipherKey(),
      Buffer.from(stored.iv, 'base64'),
    );
    decipher.setAAD(Buffer.from(`berth-secret:${name.toLowerCase()}:${stored.version}`));
    decipher.setAuthTag(Buffer.from(stored.tag, 'base64'));
    try {
      const value = Buffer.concat([decipher.update(Buffer.from(stored.data, 'base64')), decipher.final()]);
      return { value: value.toString('utf8'), version: stored.version };
    } catch {
      throw new Error(
        `secret ${name} version ${stored.version} does not decrypt: wrong key file, or the file was altered`,
      );
    }
  }

  /** Names and versions, never values. */
  async list(): Promise<SecretInfo[]> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const out: SecretInfo[] = [];
    for (const file of files.filter((f) => f.endsWith('.json')).sort()) {
      const secret = await this.read(file.slice(0, -5));
      if (secret)
        out.push({
          name: secret.name,
          versions: secret.versions.map(({ version, created }) => ({ version, created })),
        });
    }
    return out;
  }

  /** Removes the secret with all its versions; false when there was none. */
  async delete(name: string): Promise<boolean> {
    if (!(await this.read(name))) return false;
    await rm(this.file(name));
    return true;
  }
}
