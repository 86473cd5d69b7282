import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError } from '../../src/lib/problem.js';
import { prepareVersion } from '../../src/sites/package.js';
import { call, harness, loadTest } from '../sites/helpers.js';

/** Issue 10 item 9: a deploy package's unpacked size and entry count are bounded. */

const MiB = 1024 ** 2;

/**
 * A zip with Python's zipfile: `files` entries of `size` zero bytes each, deflated at level 9. With
 * `declare`, the sizes written in both headers are replaced by that number (a zip that lies).
 */
function zeroZip(path: string, files: number, size: number, declare?: number): void {
  const script = `
import struct, sys, zipfile
path, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
declare = int(sys.argv[4]) if len(sys.argv) > 4 else None
with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for i in range(files):
        z.writestr(f'app/f{i}.bin', bytes(size))
if declare is not None:
    data = bytearray(open(path, 'rb').read())
    for sig, offset in ((b'PK\\x03\\x04', 22), (b'PK\\x01\\x02', 24)):
        at = data.find(sig)
        while at >= 0:
            struct.pack_into('<I', data, at + offset, declare)
            at = data.find(sig, at + 4)
    open(path, 'wb').write(data)
`;
  execFileSync('python3', [
    '-c',
    script,
    path,
    String(files),
    String(size),
    ...(declare ? [String(declare)] : []),
  ]);
}

const tooLarge = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof HttpError, String(error));
  assert.equal(error.status, 413, error.message);
  assert.match(error.message, pattern);
  return true;
};

test('a 195 KB zip that unpacks to 191 MB is refused over the site limit; the running version keeps serving and nothing is left', async (t) => {
  const site = `bomb-${randomBytes(3).toString('hex')}`;
  const work = await mkdtemp(join(tmpdir(), 'berth-bomb-'));
  const h = await harness([
    { name: site, command: 'node server.mjs', root: 'api', instances: 1, maxUnpackedSize: '16MiB' },
  ]);
  t.after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  const bomb = join(work, 'bomb.zip');
  zeroZip(bomb, 1, 191 * MiB);
  assert.ok((await stat(bomb)).size < 200 * 1024, 'the package is under 200 KB');
  const host = `${site}.localhost`;
  const load = loadTest(h.frontdoor.port, host, '/', 2);
  await assert.rejects(
    h.manager.deploy(site, { kind: 'archive', path: bomb }),
    tooLarge(/^the package unpacks to more than 16777216 bytes \(the site's maxUnpackedSize\)$/),
  );
  const stats = await load.stop();
  assert.equal(stats.failed, 0, stats.errors.join('\n'));
  assert.equal(JSON.parse((await call(h.frontdoor.port, host, '/')).body).version, 'dev');
  assert.deepEqual(await readdir(join(h.dataDir, 'sites', site, 'deployments')), [], 'nothing is left');
});

test('declared sizes that lie, too many entries, and a tar.gz over the limit are refused; within the limits a package unpacks', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'berth-limits-'));
  const deployments = join(work, 'deployments');
  t.after(() => rm(work, { recursive: true, force: true }));
  const limits = { maxUnpackedSize: 4 * MiB, maxPackageEntries: 20 };
  const deploy = (file: string) =>
    prepareVersion(deployments, { kind: 'archive', path: join(work, file) }, limits);
  const leavesNothing = async () => assert.deepEqual(await readdir(deployments).catch(() => []), []);

  // Each entry claims 1 KB and inflates to 3 MiB: the declared total passes the limit, the bytes would
  // not. Inflating stops at the first byte past an entry's declaration (yauzl's check; Berth's counter
  // holds the total as well).
  zeroZip(join(work, 'liar.zip'), 2, 3 * MiB, 1024);
  await assert.rejects(deploy('liar.zip'), (error: unknown) => {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 400);
    assert.match(
      error.message,
      /^the package could not be unpacked: app\/f0\.bin: too many bytes in the stream/,
    );
    return true;
  });
  await leavesNothing();

  zeroZip(join(work, 'many.zip'), 21, 1);
  await assert.rejects(deploy('many.zip'), tooLarge(/more than 20 entries \(the site's maxPackageEntries\)/));
  await leavesNothing();

  const tarDir = join(work, 'tar');
  await mkdir(tarDir);
  await writeFile(join(tarDir, 'big.bin'), Buffer.alloc(5 * MiB));
  execFileSync('tar', ['-czf', join(work, 'big.tar.gz'), 'big.bin'], { cwd: tarDir });
  await assert.rejects(deploy('big.tar.gz'), tooLarge(/unpacks to more than 4194304 bytes/));
  await leavesNothing();

  zeroZip(join(work, 'fits.zip'), 3, MiB);
  const version = await deploy('fits.zip');
  assert.equal((await stat(join(version.dir, 'f2.bin'))).size, MiB);
  await writeFile(join(tarDir, 'big.bin'), Buffer.alloc(MiB));
  execFileSync('tar', ['-czf', join(work, 'fits.tar.gz'), 'big.bin'], { cwd: tarDir });
  const fromTar = await deploy('fits.tar.gz');
  assert.equal((await stat(join(fromTar.dir, 'big.bin'))).size, MiB);
});
