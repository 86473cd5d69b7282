import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError } from '../../src/lib/problem.js';
import { prepareVersion } from '../../src/sites/package.js';
import { readZipEntries } from '../../src/sites/archive-zip.js';
import { call, harness, loadTest } from './helpers.js';

/**
 * Writes a zip with Python's zipfile, entry by entry: (name, unix mode, data, host system, unicode
 * path extra field). Lets a test make entries no zip tool would (devices, forged names).
 */
function craftZip(
  path: string,
  entries: Array<{ name: string; mode?: number; data?: string; system?: number; unicodePath?: string }>,
): void {
  const script = `
import json, struct, sys, zipfile, zlib
path, entries = sys.argv[1], json.loads(sys.argv[2])
with zipfile.ZipFile(path, 'w') as z:
    for e in entries:
        info = zipfile.ZipInfo(e['name'])
        info.create_system = e.get('system', 3)
        info.external_attr = e.get('mode', 0o100644) << 16
        if 'unicodePath' in e:
            u = e['unicodePath'].encode()
            info.extra = struct.pack('<HHB', 0x7075, 5 + len(u), 1) + struct.pack('<I', zlib.crc32(e['name'].encode())) + u
        z.writestr(info, e.get('data', 'x'))
`;
  execFileSync('python3', ['-c', script, path, JSON.stringify(entries)]);
}

const refused = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof HttpError, String(error));
  assert.equal(error.status, 400);
  assert.match(error.message, pattern);
  return true;
};

test('a zip holding a symlink is refused with a clear error while the running version keeps serving', async (t) => {
  const site = `pkg-${randomBytes(3).toString('hex')}`;
  const work = await mkdtemp(join(tmpdir(), 'berth-pkg-'));
  const h = await harness([{ name: site, command: 'node server.mjs', root: 'api', instances: 1 }]);
  t.after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  const host = `${site}.localhost`;
  const load = loadTest(h.frontdoor.port, host, '/', 2);
  // A link to the user's home would let the app serve whatever lies there.
  craftZip(join(work, 'link.zip'), [
    { name: 'server.mjs', data: 'console.log(1)' },
    { name: 'home', mode: 0o120777, data: '/home' },
  ]);
  await assert.rejects(
    h.manager.deploy(site, { kind: 'archive', path: join(work, 'link.zip') }),
    refused(
      /^the package contains a symbolic link \(home\); only regular files and folders are allowed in a package$/,
    ),
  );
  const stats = await load.stop();
  assert.equal(stats.failed, 0);
  const reply = await call(h.frontdoor.port, host, '/');
  assert.equal(JSON.parse(reply.body).version, 'dev');
  assert.deepEqual(
    await readdir(join(h.dataDir, 'sites', site, 'deployments')),
    [],
    'nothing of the package is left',
  );
  assert.ok(
    h.manager
      .siteStatus(site)
      .slots[0]!.instances.every((i) => i.version === 'initial' && i.state === 'running'),
  );
});

test('zip and tar entries that are links, devices, pipes or escape the folder are refused before anything is unpacked; plain packages still deploy', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'berth-pkg-'));
  const deployments = join(work, 'deployments');
  t.after(() => rm(work, { recursive: true, force: true }));
  const expectRefused = async (file: string, pattern: RegExp) => {
    await assert.rejects(
      prepareVersion(deployments, { kind: 'archive', path: join(work, file) }),
      refused(pattern),
      file,
    );
    assert.deepEqual(await readdir(deployments).catch(() => []), [], `${file} left nothing behind`);
  };

  // A real symlink stored by `zip -y` (as a packed node_modules/.bin would be).
  const app = join(work, 'app');
  await mkdir(app);
  await writeFile(join(app, 'server.mjs'), 'console.log(1)');
  await symlink('/etc/passwd', join(app, 'passwd'));
  execFileSync('zip', ['-qry', join(work, 'zip-y.zip'), '.'], { cwd: app });
  await expectRefused('zip-y.zip', /a symbolic link \(passwd\)/);

  const cases: Array<[string, Parameters<typeof craftZip>[1], RegExp]> = [
    ['char-device.zip', [{ name: 'tty', mode: 0o020666 }], /a character device \(tty\)/],
    ['block-device.zip', [{ name: 'disk', mode: 0o060660 }], /a block device \(disk\)/],
    ['fifo.zip', [{ name: 'pipe', mode: 0o010644 }], /a named pipe \(pipe\)/],
    ['socket.zip', [{ name: 'sock', mode: 0o140755 }], /a socket \(sock\)/],
    // A link is a link whatever system the zip claims to come from.
    ['fat-link.zip', [{ name: 'link', mode: 0o120777, system: 0, data: '/' }], /a symbolic link \(link\)/],
    ['absolute.zip', [{ name: '/tmp/evil.txt' }], /outside its folder: \/tmp\/evil\.txt/],
    ['dotdot.zip', [{ name: 'a/../../evil.txt' }], /outside its folder: a\/\.\.\/\.\.\/evil\.txt/],
    ['backslash.zip', [{ name: '..\\evil.txt', system: 0, mode: 0 }], /outside its folder: \.\.\\evil\.txt/],
    ['drive.zip', [{ name: 'C:/evil.txt', system: 0, mode: 0 }], /outside its folder: C:\/evil\.txt/],
    // unzip extracts under the Unicode Path extra field's name when there is one: that name is checked too.
    [
      'unicode-path.zip',
      [{ name: 'safe.txt', unicodePath: '../../evil.txt' }],
      /outside its folder: \.\.\/\.\.\/evil\.txt/,
    ],
  ];
  for (const [file, entries, pattern] of cases) {
    craftZip(join(work, file), entries);
    await expectRefused(file, pattern);
  }
  await writeFile(join(work, 'truncated.zip'), (await readFile(join(work, 'fifo.zip'))).subarray(0, 40));
  await expectRefused('truncated.zip', /not a readable zip archive: no end of central directory record/);

  // Tar: links, hard links and pipes.
  const tarDir = join(work, 'tar');
  await mkdir(tarDir);
  await writeFile(join(tarDir, 'file.txt'), 'x');
  execFileSync('mkfifo', [join(tarDir, 'pipe')]);
  execFileSync('tar', ['-cf', join(work, 'fifo.tar'), 'file.txt', 'pipe'], { cwd: tarDir });
  await expectRefused('fifo.tar', /a named pipe \(pipe\)/);
  execFileSync('tar', ['-czf', join(work, 'link.tar.gz'), '.'], { cwd: app });
  await expectRefused('link.tar.gz', /a symbolic link \(\.\/passwd -> \/etc\/passwd\)/);
  await rm(join(tarDir, 'pipe'));
  execFileSync('ln', [join(tarDir, 'file.txt'), join(tarDir, 'hard.txt')]);
  execFileSync('tar', ['-cf', join(work, 'hard.tar'), 'file.txt', 'hard.txt'], { cwd: tarDir });
  await expectRefused('hard.tar', /a hard link \(hard\.txt link to file\.txt\)/);

  // What a package should be still deploys: folders, files, an executable bit, a zip from a FAT system.
  craftZip(join(work, 'good.zip'), [
    { name: 'app/', mode: 0o040755, data: '' },
    { name: 'app/server.mjs', data: 'console.log(1)' },
    { name: 'app/bin/start', mode: 0o100755, data: '#!/bin/sh\n' },
    { name: 'app/README.txt', system: 0, mode: 0 },
  ]);
  const version = await prepareVersion(deployments, { kind: 'archive', path: join(work, 'good.zip') });
  assert.equal(
    version.dir,
    join(deployments, version.id, 'app'),
    'one top-level folder: the app runs from inside it',
  );
  assert.equal(await readFile(join(version.dir, 'server.mjs'), 'utf8'), 'console.log(1)');
  assert.equal((await stat(join(version.dir, 'bin', 'start'))).mode & 0o111, 0o111);
});

test('a zip64 archive (more than 65,535 entries) is listed from its zip64 end record, as unzip lists it', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'berth-zip64-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const path = join(work, 'many.zip');
  execFileSync('python3', [
    '-c',
    `import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for i in range(70000): z.writestr(f'f/{i}.txt', '')`,
    path,
  ]);
  const bytes = await readFile(path);
  assert.ok(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])), 'the archive has a zip64 end record');
  const entries = await readZipEntries(path);
  const unzipNames = execFileSync('unzip', ['-Z1', path], { maxBuffer: 64 * 1024 * 1024 })
    .toString()
    .split('\n')
    .filter(Boolean);
  assert.equal(entries.length, 70_000);
  assert.deepEqual(
    entries.map((e) => e.name),
    unzipNames,
  );
});
