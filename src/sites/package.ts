import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HttpError } from '../lib/problem.js';
import type { Version } from './group.js';
import { readZipEntries, ZipFormatError } from './zip-entries.js';

const run = promisify(execFile);

/** What a deployment is made from: a folder on this machine, or a zip or tar(.gz) archive. */
export type DeploySource = { kind: 'directory'; path: string } | { kind: 'archive'; path: string };

/** `20261126T124800-1a2b3c`: sortable by time, unique. */
export function newVersionId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
}

async function archiveKind(path: string): Promise<'zip' | 'tar' | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar'; // gzip: tar.gz
    if (bytesRead >= 3 && head.subarray(0, 3).toString() === 'BZh') return 'tar';
    if (bytesRead >= 262 && head.subarray(257, 262).toString() === 'ustar') return 'tar';
    return undefined;
  } finally {
    await handle.close();
  }
}

/** An entry that would land outside the target folder once extracted (absolute, drive letter, `..`). */
function unsafeEntry(name: string): boolean {
  return /^([\\/]|[A-Za-z]:)/.test(name) || name.split(/[\\/]/).includes('..');
}

/** File types by the `S_IFMT` bits of a Unix mode and by the first letter of `tar -tv`. */
const ZIP_TYPES: Record<number, string> = {
  0o120000: 'a symbolic link',
  0o020000: 'a character device',
  0o060000: 'a block device',
  0o010000: 'a named pipe',
  0o140000: 'a socket',
};
const TAR_TYPES: Record<string, string> = {
  l: 'a symbolic link',
  h: 'a hard link',
  c: 'a character device',
  b: 'a block device',
  p: 'a named pipe',
  s: 'a socket',
};

/** Why an entry of this kind is refused: links could point anywhere, and a package has no use for devices. */
function refusedKind(kind: string, name: string): HttpError {
  return new HttpError(
    400,
    `the package contains ${kind} (${name}); only regular files and folders are allowed in a package`,
  );
}

/** The entry names of an archive, after refusing any entry that is not a regular file or folder. */
async function listEntries(kind: 'zip' | 'tar', path: string): Promise<string[]> {
  try {
    if (kind === 'zip') {
      const names: string[] = [];
      for (const entry of await readZipEntries(path)) {
        const type = entry.unixMode & 0o170000;
        if (type !== 0 && type !== 0o100000 && type !== 0o040000)
          throw refusedKind(ZIP_TYPES[type] ?? `a file of type ${type.toString(8)}`, entry.name);
        names.push(entry.name, ...(entry.unicodeName !== undefined ? [entry.unicodeName] : []));
      }
      return names;
    }
    const { stdout } = await run('tar', ['-tvf', path], { maxBuffer: 64 * 1024 * 1024 });
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const name = line.split(/\s+/).slice(5).join(' ');
        if (line[0] !== '-' && line[0] !== 'd')
          throw refusedKind(TAR_TYPES[line[0]!] ?? `an entry of type "${line[0]}"`, name);
        return name;
      });
  } catch (error) {
    if (error instanceof HttpError) throw error;
    const why =
      error instanceof ZipFormatError
        ? error.message
        : String((error as { stderr?: string }).stderr ?? (error as Error).message);
    throw new HttpError(400, `the package is not a readable ${kind} archive: ${why.trim().split('\n')[0]}`);
  }
}

/**
 * After unpacking, everything must be a regular file or folder. The listing already refused anything
 * else; this catches what an unpacker might still create from an entry the listing read differently.
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
 * 400 HttpError for a package that cannot be used; the running version is not touched either way.
 */
export async function prepareVersion(deploymentsDir: string, source: DeploySource): Promise<Version> {
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
      if (!kind)
        throw new HttpError(400, 'the package is neither a zip nor a tar archive (tar, tar.gz, tar.bz2)');
      const entries = await listEntries(kind, path);
      if (entries.length === 0) throw new HttpError(400, 'the package is empty');
      const bad = entries.find(unsafeEntry);
      if (bad) throw new HttpError(400, `the package contains a path outside its folder: ${bad}`);
      try {
        if (kind === 'zip') await run('unzip', ['-q', '-o', path, '-d', dir]);
        else await run('tar', ['-xf', path, '-C', dir, '--no-same-owner', '--no-same-permissions']);
      } catch (error) {
        throw new HttpError(
          400,
          `the package could not be unpacked: ${
            String((error as { stderr?: string }).stderr ?? (error as Error).message)
              .trim()
              .split('\n')[0]
          }`,
        );
      }
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
