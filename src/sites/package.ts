import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HttpError } from '../lib/problem.js';
import type { Version } from './group.js';

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

/** An entry that would land outside the target folder once extracted. */
function unsafeEntry(name: string): boolean {
  return name.startsWith('/') || name.split(/[\\/]/).includes('..');
}

async function listEntries(kind: 'zip' | 'tar', path: string): Promise<string[]> {
  try {
    if (kind === 'zip') {
      const { stdout } = await run('unzip', ['-Z1', path], { maxBuffer: 64 * 1024 * 1024 });
      return stdout.split('\n').filter(Boolean);
    }
    const { stdout } = await run('tar', ['-tvf', path], { maxBuffer: 64 * 1024 * 1024 });
    return stdout.split('\n').filter(Boolean).map((line) => {
      // Links could point anywhere; a package has no need for them.
      if (line.startsWith('l') || line.startsWith('h')) throw new HttpError(400, `the package contains a link (${line.split(/\s+/).slice(5).join(' ')}); links are not allowed`);
      return line.split(/\s+/).slice(5).join(' ');
    });
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, `the package is not a readable ${kind} archive: ${String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0]}`);
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
      if (!kind) throw new HttpError(400, 'the package is neither a zip nor a tar archive (tar, tar.gz, tar.bz2)');
      const entries = await listEntries(kind, path);
      if (entries.length === 0) throw new HttpError(400, 'the package is empty');
      const bad = entries.find(unsafeEntry);
      if (bad) throw new HttpError(400, `the package contains a path outside its folder: ${bad}`);
      try {
        if (kind === 'zip') await run('unzip', ['-q', '-o', path, '-d', dir]);
        else await run('tar', ['-xf', path, '-C', dir, '--no-same-owner', '--no-same-permissions']);
      } catch (error) {
        throw new HttpError(400, `the package could not be unpacked: ${String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0]}`);
      }
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
