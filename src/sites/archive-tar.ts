import { createReadStream } from 'node:fs';
import { Parser, extract, type ReadEntry } from 'tar';
import { HttpError } from '../lib/problem.js';
import { checkEntryPath, refusedKind, UnpackBudget, type PackageLimits } from './archive-checks.js';

/** node-tar's names for the entry types a package may not hold. */
const TYPES: Record<string, string> = {
  SymbolicLink: 'a symbolic link',
  Link: 'a hard link',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a named pipe',
};
const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Throws for an entry that is not a regular file or folder, or whose path leaves the folder. */
function checkEntry(entry: ReadEntry, budget: UnpackBudget): void {
  const { type, path } = entry;
  if (!ALLOWED.has(type)) {
    // Named as `tar -tv` shows links, so the message says where the link points.
    const name =
      type === 'SymbolicLink'
        ? `${path} -> ${entry.linkpath}`
        : type === 'Link'
          ? `${path} link to ${entry.linkpath}`
          : path;
    throw refusedKind(TYPES[type] ?? `an entry of type "${type}"`, name);
  }
  checkEntryPath(path);
  budget.entries();
  budget.add(entry.size);
}

/** node-tar's message, without the prefix it gives every error. */
const why = (error: unknown) => String((error as Error).message ?? error).replace(/^TAR_\w+: /, '');

/** Reads every entry header of a tar (plain or gzip), stopping at the first one refused. */
async function checkAll(path: string, limits: PackageLimits): Promise<number> {
  const budget = new UnpackBudget(limits);
  let refused: unknown;
  let count = 0;
  const source = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        entry.resume();
        if (refused) return;
        try {
          checkEntry(entry, budget);
          count++;
        } catch (error) {
          refused = error;
          parser.abort(error as Error);
        }
      },
    });
    parser.on('end', resolve);
    parser.on('error', (error: unknown) =>
      reject(refused ?? new HttpError(400, `the package is not a readable tar archive: ${why(error)}`)),
    );
    source.on('error', reject);
    source.pipe(parser);
  }).finally(() => source.destroy());
  return count;
}

/**
 * Unpacks a tar or tar.gz into `dir` (an empty folder) with node-tar: every entry is checked first
 * (regular files and folders only, no path outside the folder, the limits on entries and bytes),
 * then extracted with the same checks applied again to what is written, in case the file changed in
 * between. A tar entry's size is the exact number of bytes the parser hands out for it, so the sum of
 * the sizes is what is written; node-tar also aborts a gzip stream that inflates more than 1000-fold.
 */
export async function unpackTar(path: string, dir: string, limits: PackageLimits): Promise<number> {
  const count = await checkAll(path, limits);
  const budget = new UnpackBudget(limits);
  let refused: unknown;
  try {
    await extract({
      file: path,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (_path, entry) => {
        if (refused) return false;
        try {
          checkEntry(entry as ReadEntry, budget);
          return true;
        } catch (error) {
          refused = error;
          return false;
        }
      },
    });
  } catch (error) {
    throw new HttpError(400, `the package could not be unpacked: ${why(error)}`);
  }
  if (refused) throw refused;
  return count;
}
