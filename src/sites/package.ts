import { randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { HttpError } from '../lib/problem.js';
import { DEFAULT_PACKAGE_LIMITS, refusedKind, type PackageLimits } from './archive-checks.js';
import type { Version } from './group.js';

/** What a deployment is made from: a folder on this machine, or a zip or tar(.gz) archive. */
export type DeploySource = { kind: 'directory'; path: string } | { kind: 'archive'; path: string };

/** `20261126T124800-1a2b3c`: sortable by time, unique. */
export function newVersionId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
}

/** What the first bytes say; node-tar reads plain tar and gzip (bzip2 it does not, nor does Berth). */
async function archiveKind(path: string): Promise<'zip' | 'tar' | 'bzip2' | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar'; // gzip: tar.gz
    if (bytesRead >= 3 && head.subarray(0, 3).toString() === 'BZh') return 'bzip2';
    if (bytesRead >= 262 && head.subarray(257, 262).toString() === 'ustar') return 'tar';
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * After unpacking, everything must be a regular file or folder. The checks already refused anything
 * else; this catches what an unpacker might still create from an entry read differently.
 */
async function onlyFilesAndFolders(dir: string, top = dir): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await onlyFilesAndFolders(path, top);
    else if (!entry.isFile() || !(await lstat(path)).isFile())
      throw refusedKind('an entry that is not a regular file', path.slice(top.length + 1));
  }
}

/**
 * Unpacks or copies a deployment into `<deploymentsDir>/<id>/` and returns it as a version. Throws a
 * 400 HttpError for a package that cannot be used (413 for one over its limits); the running version
 * is not touched either way, and nothing of the package is left behind.
 */
export async function prepareVersion(
  deploymentsDir: string,
  source: DeploySource,
  limits: PackageLimits = DEFAULT_PACKAGE_LIMITS,
): Promise<Version> {
  const id = newVersionId();
  const dir = join(deploymentsDir, id);
  const path = resolve(source.path);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new HttpError(400, `${source.path} does not exist on the server`);
  await mkdir(dir, { recursive: true });
  try {
    if (source.kind === 'directory') {
      if (!info.isDirectory()) throw new HttpError(400, `${source.path} is not a folder`);
      await cp(path, dir, { recursive: true, verbatimSymlinks: true });
    } else {
      if (!info.isFile()) throw new HttpError(400, `${source.path} is not a file`);
      const kind = await archiveKind(path);
      if (kind === 'bzip2')
        throw new HttpError(400, 'the package is compressed with bzip2; send a zip, tar or tar.gz instead');
      if (!kind) throw new HttpError(400, 'the package is neither a zip nor a tar archive (tar, tar.gz)');
      // Loaded on the first deploy, not at start: yauzl and node-tar are many modules, and ESM loads
      // a graph's files in parallel, which at start competes for descriptors with everything else.
      const entries =
        kind === 'zip'
          ? await (await import('./archive-zip.js')).unpackZip(path, dir, limits)
          : await (await import('./archive-tar.js')).unpackTar(path, dir, limits);
      if (entries === 0) throw new HttpError(400, 'the package is empty');
      await onlyFilesAndFolders(dir);
    }
    return { id, dir: await contentRoot(dir) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Archives often hold one folder (`app/…`); the app then runs from inside it. */
async function contentRoot(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  if (entries.length === 1 && entries[0]!.isDirectory()) return join(dir, entries[0]!.name);
  return dir;
}

const VERSION_ID = /^\d{8}T\d{6}-[0-9a-f]{6}$/;

/**
 * Removes the version folders under `deploymentsDir` that are not in `inUse` (only folders named like
 * a version id, so nothing else placed there is touched). Returns the removed ids.
 */
export async function pruneDeployments(deploymentsDir: string, inUse: Set<string>): Promise<string[]> {
  const entries = await readdir(deploymentsDir, { withFileTypes: true }).catch(() => []);
  const stale = entries
    .filter((e) => e.isDirectory() && VERSION_ID.test(e.name) && !inUse.has(e.name))
    .map((e) => e.name);
  await Promise.all(stale.map((id) => rm(join(deploymentsDir, id), { recursive: true, force: true })));
  return stale;
}
