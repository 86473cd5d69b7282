// `berth registry serve` and `berth registry gc` as users run them: a real process, real signals.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { blob, pushBlob } from './support/oci.js';
import { UPLOAD_LEASE_MS } from '../../src/registry/uploads.js';

const berth = new URL('../../bin/berth', import.meta.url).pathname;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-cli-'));
  dirs.push(dir);
  return dir;
}

/** Starts `berth registry serve` on port 0 and waits for the `registry <url>` and `ready` lines. */
async function serve(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(berth, ['registry', 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line; output: ${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /^registry\s+(http:\/\/127\.0\.0\.1:(\d+))$/m.exec(out);
      if (match && /^ready$/m.test(out)) {
        clearTimeout(timer);
        assert.notEqual(match[2], '0', 'the real port is printed');
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  return { child, url };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function blobFiles(dataDir: string): string[] {
  const root = join(dataDir, 'blobs', 'blobs');
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

test('serve prints its URL, a killed upload leaves no blob, SIGTERM stops cleanly', async () => {
  const dataDir = tempDir();
  const first = await serve(dataDir);
  assert.equal((await fetch(`${first.url}/v2/`)).status, 200);
  const b = blob(Buffer.alloc(8 * 1024 * 1024, 'killed mid-upload'));
  const location = (await fetch(`${first.url}/v2/kill/test/blobs/uploads/`, { method: 'POST' })).headers.get(
    'location',
  )!;
  // Stream half the blob, then kill the server with SIGKILL: no chance to clean up.
  await new Promise<void>((resolve) => {
    const req = request(`${first.url}${location}`, {
      method: 'PATCH',
      headers: { 'Content-Length': b.bytes.length },
    });
    req.on('error', () => resolve());
    req.write(b.bytes.subarray(0, 4 * 1024 * 1024), () =>
      setTimeout(() => {
        first.child.kill('SIGKILL');
        resolve();
      }, 300),
    );
  });
  await exited(first.child);
  assert.deepEqual(blobFiles(dataDir), [], 'no blob file appeared');

  const second = await serve(dataDir);
  try {
    assert.equal(
      (await fetch(`${second.url}/v2/kill/test/blobs/${b.digest}`, { method: 'HEAD' })).status,
      404,
    );
    // Completing the session now cannot publish the truncated bytes under the real digest. The
    // killed process held the session's write lease: until it runs out (UPLOAD_LEASE_MS) the session
    // answers 416 with Retry-After, as it does while another request writes it.
    let put = await fetch(`${second.url}${location}?digest=${b.digest}`, { method: 'PUT' });
    const deadline = Date.now() + 3 * UPLOAD_LEASE_MS;
    while (put.status === 416 && Date.now() < deadline) {
      assert.match(await put.text(), /being written by another request/);
      assert.equal(put.headers.get('retry-after'), String(UPLOAD_LEASE_MS / 1000));
      await new Promise((resolve) => setTimeout(resolve, 200));
      put = await fetch(`${second.url}${location}?digest=${b.digest}`, { method: 'PUT' });
    }
    assert.equal(put.status, 400);
    assert.equal(((await put.json()) as { errors: { code: string }[] }).errors[0]!.code, 'DIGEST_INVALID');
    assert.deepEqual(blobFiles(dataDir), []);
    assert.equal(
      (await pushBlob(second.url, 'kill/test', b)).status,
      201,
      'a fresh push of the same blob works',
    );
    assert.equal(blobFiles(dataDir).length, 1);
  } finally {
    second.child.kill('SIGTERM');
  }
  const { code } = await exited(second.child);
  assert.equal(code, 0, 'SIGTERM is a clean stop');
});

test('berth registry gc finds the data of the berth.yaml in its folder, refuses a folder with no registry data, and says what the grace period kept in human sizes', async () => {
  const project = tempDir();
  const dataDir = join(project, 'state', 'registry');
  const server = await serve(dataDir);
  const run = promisify(execFile);
  try {
    const recent = blob('x'.repeat(1536));
    assert.equal((await pushBlob(server.url, 'gc/kept', recent)).status, 201);
    // No berth.yaml in the folder: the defaults name ./.berth/registry, which does not exist.
    const empty = tempDir();
    const refused = await run(berth, ['registry', 'gc', '--dry-run'], { cwd: empty }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((refused as { code: number }).code, 1);
    assert.match(
      (refused as { stderr: string }).stderr,
      new RegExp(`no registry data at ${join(empty, '.berth', 'registry')} .*give .*--config .*--data-dir`),
    );
    // A berth.yaml in the folder, as `berth up` there would read it: gc uses its data folder.
    writeFileSync(join(project, 'berth.yaml'), 'dataDir: state\n');
    const dry = await run(berth, ['registry', 'gc', '--dry-run'], { cwd: project });
    assert.match(dry.stdout, new RegExp(`^registry data: ${dataDir}$`, 'm'));
    assert.match(dry.stdout, /dry run: 0 manifests, 0 blobs, 0 uploads; 0 B would be freed/);
    assert.match(
      dry.stdout,
      /^kept because of the grace period \(1h\): 0 manifests, 1 blobs, 1\.5 KiB$/m,
      'the blob pushed a moment ago stays, and the report says so',
    );
  } finally {
    server.child.kill('SIGTERM');
    await exited(server.child);
  }
});

test('berth registry gc: --dry-run --output json, then a real run in text, next to a running server', async () => {
  const dataDir = tempDir();
  const server = await serve(dataDir);
  try {
    const orphan = blob('nothing references me');
    assert.equal((await pushBlob(server.url, 'gc/cli', orphan)).status, 201);
    const run = promisify(execFile);
    const dry = await run(berth, [
      'registry',
      'gc',
      '--dry-run',
      '--grace-period',
      '0s',
      '--data-dir',
      dataDir,
      '--output',
      'json',
    ]);
    const report = JSON.parse(dry.stdout) as {
      dryRun: boolean;
      blobs: { digest: string; size: number }[];
      bytesFreed: number;
    };
    assert.equal(report.dryRun, true);
    assert.deepEqual(report.blobs, [{ digest: orphan.digest, size: orphan.bytes.length }]);
    assert.equal(report.bytesFreed, orphan.bytes.length);
    assert.equal((await fetch(`${server.url}/v2/gc/cli/blobs/${orphan.digest}`)).status, 200);

    const real = await run(berth, ['registry', 'gc', '--grace-period', '0s', '--data-dir', dataDir]);
    assert.match(real.stdout, new RegExp(`removed blob ${orphan.digest} \\(${orphan.bytes.length} B\\)`));
    assert.match(real.stdout, new RegExp(`; ${orphan.bytes.length} B freed`));
    assert.equal((await fetch(`${server.url}/v2/gc/cli/blobs/${orphan.digest}`)).status, 404);

    const bad = await run(berth, ['registry', 'gc', '--grace-period', 'soon', '--data-dir', dataDir]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((bad as { code: number }).code, 1);
    assert.match((bad as { stderr: string }).stderr, /--grace-period: expected a duration/);
  } finally {
    server.child.kill('SIGTERM');
    await exited(server.child);
  }
});
