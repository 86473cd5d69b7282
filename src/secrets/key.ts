import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const KEY_BYTES = 32;

/**
 * The store's AES-256 key: 32 random bytes in a file only its owner may read (mode 0600), created
 * on first use. It lives outside the data folder, so a copy or backup of the data folder holds
 * only ciphertext. A key file that others can read is refused rather than used.
 */
export async function readOrCreateKey(path: string): Promise<Buffer> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0)
      throw new Error(
        `the secret store key ${path} can be read by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`,
      );
    const key = await readFile(path);
    if (key.length !== KEY_BYTES) throw new Error(`the secret store key ${path} is not ${KEY_BYTES} bytes`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // 'wx': two processes creating the key at once do not end up with two keys.
  const handle = await open(path, 'wx', 0o600).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') return undefined;
    throw error;
  });
  if (!handle) return readOrCreateKey(path);
  try {
    await handle.writeFile(key);
  } finally {
    await handle.close();
  }
  await chmod(path, 0o600);
  return key;
}
