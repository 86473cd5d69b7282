import { open, type FileHandle } from 'node:fs/promises';

/** One entry of a zip's central directory, as unzip will see it. */
export interface ZipEntry {
  /** The name in the entry header (UTF-8 when flagged so, else read byte for byte). */
  name: string;
  /** Info-ZIP's Unicode Path extra field (0x7075); unzip extracts under this name when present. */
  unicodeName?: string;
  /** The Unix mode in the high 16 bits of the external attributes, 0 when none is stored. */
  unixMode: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
/** A central directory larger than this is refused rather than read into memory. */
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;

export class ZipFormatError extends Error {}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new ZipFormatError('the file ends early');
  return buffer;
}

/**
 * Lists a zip's entries from its central directory, with the Unix file type unzip would give each
 * (a symlink entry is a link however harmless its name). The names and types are read here rather
 * than from `unzip -Z` output so that no entry name, however crafted, can confuse the parsing.
 */
export async function readZipEntries(path: string): Promise<ZipEntry[]> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    // The end record (22 bytes) is followed only by the archive comment (at most 65535 bytes).
    const tailLength = Math.min(size, 22 + 0xffff + 20);
    const tail = await readAt(handle, size - tailLength, tailLength);
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new ZipFormatError('no end of central directory record');
    const eocdPosition = size - tailLength + at;
    let total = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    // Self-extracting archives put data in front; unzip then finds the directory just before the end record.
    let cdEnd = eocdPosition;
    if (total === 0xffff || cdSize === 0xffffffff || tail.readUInt32LE(at + 16) === 0xffffffff) {
      if (at < 20 || tail.readUInt32LE(at - 20) !== ZIP64_LOCATOR)
        throw new ZipFormatError('a zip64 archive without its locator');
      const recordPosition = Number(tail.readBigUInt64LE(at - 20 + 8));
      const record = await readAt(handle, recordPosition, 56);
      if (record.readUInt32LE(0) !== ZIP64_EOCD) throw new ZipFormatError('a broken zip64 end record');
      total = Number(record.readBigUInt64LE(32));
      cdSize = Number(record.readBigUInt64LE(40));
      cdEnd = recordPosition;
    }
    if (cdSize > MAX_CENTRAL_DIRECTORY)
      throw new ZipFormatError(`a central directory of ${cdSize} bytes (more than ${MAX_CENTRAL_DIRECTORY})`);
    if (cdSize > cdEnd) throw new ZipFormatError('a central directory larger than the file');
    const cd = await readAt(handle, cdEnd - cdSize, cdSize);
    const entries: ZipEntry[] = [];
    for (let p = 0; p < cd.length;) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_HEADER)
        throw new ZipFormatError(`a broken central directory header at entry ${entries.length + 1}`);
      const utf8 = (cd.readUInt16LE(p + 8) & 0x0800) !== 0;
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      const next = p + 46 + nameLength + extraLength + commentLength;
      if (next > cd.length)
        throw new ZipFormatError(`entry ${entries.length + 1} runs past the central directory`);
      const name = cd.toString(utf8 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLength);
      const entry: ZipEntry = { name, unixMode: cd.readUInt32LE(p + 38) >>> 16 };
      for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength;) {
        const id = cd.readUInt16LE(e);
        const length = cd.readUInt16LE(e + 2);
        if (id === 0x7075 && length >= 5)
          entry.unicodeName = cd.toString('utf8', e + 9, Math.min(e + 4 + length, cd.length));
        e += 4 + length;
      }
      entries.push(entry);
      p = next;
    }
    if (entries.length !== total)
      throw new ZipFormatError(
        `the end record counts ${total} entries, the central directory holds ${entries.length}`,
      );
    return entries;
  } finally {
    await handle.close();
  }
}
