import { Transform } from 'node:stream';
import { HttpError } from '../lib/problem.js';

/** How much one package may unpack to (`sites[].maxUnpackedSize`, `sites[].maxPackageEntries`). */
export interface PackageLimits {
  maxUnpackedSize: number;
  maxPackageEntries: number;
}

export const DEFAULT_PACKAGE_LIMITS: PackageLimits = {
  maxUnpackedSize: 1024 ** 3,
  maxPackageEntries: 100_000,
};

/** An entry that would land outside the target folder once extracted (absolute, drive letter, `..`). */
export function checkEntryPath(name: string): void {
  if (/^([\\/]|[A-Za-z]:)/.test(name) || name.split(/[\\/]/).includes('..'))
    throw new HttpError(400, `the package contains a path outside its folder: ${name}`);
  if (name.includes('\0')) throw new HttpError(400, `the package contains a name with a NUL byte: ${name}`);
}

/** Why an entry of this kind is refused: links could point anywhere, and a package has no use for devices. */
export function refusedKind(kind: string, name: string): HttpError {
  return new HttpError(
    400,
    `the package contains ${kind} (${name}); only regular files and folders are allowed in a package`,
  );
}

/**
 * Counts a package's entries and bytes against its limits; throws a 413 naming the limit and its key.
 * One budget for what the archive declares (checked before anything is written) and another for the
 * bytes actually written (a zip's declared sizes can lie).
 */
export class UnpackBudget {
  private count = 0;
  private bytes = 0;

  constructor(private readonly limits: PackageLimits) {}

  entries(count = 1): void {
    this.count += count;
    if (this.count > this.limits.maxPackageEntries)
      throw new HttpError(
        413,
        `the package has more than ${this.limits.maxPackageEntries} entries (the site's maxPackageEntries)`,
      );
  }

  add(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.maxUnpackedSize)
      throw new HttpError(
        413,
        `the package unpacks to more than ${this.limits.maxUnpackedSize} bytes (the site's maxUnpackedSize)`,
      );
  }

  /** A pass-through stream that adds what flows through it, failing the stream once over the limit. */
  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        try {
          this.add(chunk.length);
          done(null, chunk);
        } catch (error) {
          done(error as Error);
        }
      },
    });
  }
}
