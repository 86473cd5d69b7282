// Stateless registry processes: two `berth registry serve` on one PostgreSQL schema and one Azure
// Blob account (Azurite), behind a round-robin balancer that sends each request to the other process,
// serve one registry. A chunked upload whose PATCHes alternate completes with the right digest, the
// OCI-Chunk-Min-Length rule and the one-writer-per-upload rule hold across the processes, `berth
// registry gc` (a third process) never removes an upload one of them is writing, and skopeo pushes and
// pulls a multi-layer image through the balancer.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { startAzurite, type Azurite } from '../registry/support/azurite.js';
import { blob, patchChunk, sha256, startUpload } from '../registry/support/oci.js';
import {
  dropSchema,
  postgresUnavailable,
  POSTGRES_URL,
  throwawaySchema,
} from '../registry/support/postgres.js';
import { layoutBlobDigests, layoutManifestDigest, run, umociImage } from './helpers/registry-images.js';
import {
  BERTH_BIN,
  missingTools,
  REPO_ROOT,
  startBerth,
  type RunningRegistry,
} from './helpers/registry-servers.js';
import { startRoundRobin, type Balancer } from './helpers/round-robin.js';

const MIN = 64 * 1024;
const skip = (await postgresUnavailable()) ?? undefined;

describe('two registry processes on one PostgreSQL and one Azure Blob account', { skip }, () => {
  let work: string;
  let azurite: Azurite;
  let schema: string;
  let configYaml: string;
  let processes: RunningRegistry[] = [];
  let balancer: Balancer;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'berth-e2e-stateless-'));
    azurite = await startAzurite();
    schema = throwawaySchema();
    configYaml = `registry:
  storage:
    driver: azure
    azure: { connectionString: "${azurite.connectionString}", container: stateless }
  metadata: { driver: postgres, url: "${POSTGRES_URL}", schema: ${schema} }
  uploads: { chunkMinLength: ${MIN} }
`;
    // Started at once: the first start creates the schema and tables while the other waits for it.
    processes = await Promise.all(['a', 'b'].map((name) => startBerth(join(work, name), { configYaml })));
    balancer = await startRoundRobin(processes.map((p) => p.url));
  });
  after(async () => {
    await balancer?.close();
    for (const p of processes) await p.stop();
    await azurite?.stop();
    if (schema) await dropSchema(schema);
    rmSync(work, { recursive: true, force: true });
  });

  /** Which process the balancer sent the requests for `path` to, in order. */
  const backendsFor = (path: string, method: string) =>
    balancer.served.filter((s) => s.method === method && s.path.startsWith(path)).map((s) => s.backend);

  test('a chunked upload whose PATCHes alternate between the processes completes with the right digest', async () => {
    const b = blob(
      Buffer.concat([Buffer.alloc(5 * MIN, 'alternating'), Buffer.from('the short last chunk')]),
    );
    const location = await startUpload(balancer.url, 'stateless/chunked');
    for (let start = 0; start < b.bytes.length; start += MIN) {
      const res = await patchChunk(balancer.url, location, b.bytes.subarray(start, start + MIN), start);
      assert.equal(res.status, 202, await res.text());
    }
    const done = await fetch(`${balancer.url}${location}?digest=${b.digest}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    const patches = backendsFor(location, 'PATCH');
    assert.equal(patches.length, 6);
    assert.ok(
      patches.every((backend, i) => i === 0 || backend !== patches[i - 1]),
      `each PATCH went to the other process: ${patches.join(',')}`,
    );
    for (const p of processes) {
      const got = Buffer.from(
        await (await fetch(`${p.url}/v2/stateless/chunked/blobs/${b.digest}`)).arrayBuffer(),
      );
      assert.equal(sha256(got), b.digest, `process ${p.pid} serves the blob`);
    }
  });

  test('OCI-Chunk-Min-Length holds across processes: a chunk after a short one is refused by the other process', async () => {
    const location = await startUpload(balancer.url, 'stateless/min');
    assert.equal((await patchChunk(balancer.url, location, Buffer.alloc(MIN, 'a'), 0)).status, 202);
    assert.equal((await patchChunk(balancer.url, location, Buffer.alloc(100, 'b'), MIN)).status, 202);
    const refused = await patchChunk(balancer.url, location, Buffer.alloc(MIN, 'c'), MIN + 100);
    assert.equal(refused.status, 416);
    assert.equal(refused.headers.get('range'), `0-${MIN + 99}`);
    assert.match(await refused.text(), /below OCI-Chunk-Min-Length 65536/);
    const [, shortOn, refusedOn] = backendsFor(location, 'PATCH');
    assert.notEqual(shortOn, refusedOn, 'the short chunk and the refused one reached different processes');
    const all = blob(Buffer.concat([Buffer.alloc(MIN, 'a'), Buffer.alloc(100, 'b')]));
    assert.equal(
      (await fetch(`${balancer.url}${location}?digest=${all.digest}`, { method: 'PUT' })).status,
      201,
    );
  });

  test('one writer per upload across processes, and gc (a third process) never removes an upload being written', async () => {
    const [a, b] = processes as [RunningRegistry, RunningRegistry];
    const whole = blob(Buffer.alloc(3 * MIN, 'written slowly through process a'));
    const location = await startUpload(a.url, 'stateless/slow');
    const id = location.split('/').pop()!;
    // Process a receives the first part of a PATCH and waits for the rest.
    const slow = startBody(`${a.url}${location}`, whole.bytes.length);
    slow.req.write(whole.bytes.subarray(0, MIN));
    await leaseTaken(schema, id);

    const meanwhile = await patchChunk(b.url, location, Buffer.alloc(10, 'x'), 0);
    assert.equal(meanwhile.status, 416, 'process b may not write it at the same time');
    assert.match(await meanwhile.text(), /being written by another request/);
    assert.ok(meanwhile.headers.get('retry-after'));

    // gc with upload expiry 0: every idle session is abandoned, but not this one.
    const report = await gc({ BERTH_REGISTRY__UPLOADS__EXPIRE_AFTER: '0ms' });
    assert.ok(!report.uploads.some((u) => u.id === id), 'the upload being written was kept');

    slow.req.end(whole.bytes.subarray(MIN));
    const answer = await slow.response;
    assert.equal(answer.statusCode, 202);
    const done = await fetch(`${b.url}${location}?digest=${whole.digest}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    const got = Buffer.from(
      await (await fetch(`${balancer.url}/v2/stateless/slow/blobs/${whole.digest}`)).arrayBuffer(),
    );
    assert.equal(sha256(got), whole.digest);
  });

  test(
    'skopeo pushes a multi-layer image through the balancer and pulls it back identical',
    { skip: missingTools('skopeo', 'umoci') },
    async () => {
      const layout = await umociImage(join(work, 'image'), 'v1', 512 * 1024);
      const before = balancer.served.length;
      await run('skopeo', [
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        `docker://${balancer.host}/stateless/app:v1`,
      ]);
      const pulled = join(work, 'pulled');
      await run('skopeo', [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${balancer.host}/stateless/app:v1`,
        `oci:${pulled}:v1`,
      ]);
      assert.deepEqual(
        layoutBlobDigests(pulled),
        layoutBlobDigests(layout),
        'every blob came back byte-identical',
      );
      assert.equal(layoutManifestDigest(pulled, 'v1'), layoutManifestDigest(layout, 'v1'));
      const used = new Set(balancer.served.slice(before).map((s) => s.backend));
      assert.deepEqual([...used].sort(), [0, 1], 'both processes served the push and pull');
      const layers = (
        JSON.parse(
          await run('skopeo', [
            'inspect',
            '--raw',
            '--tls-verify=false',
            `docker://${processes[1]!.host}/stateless/app:v1`,
          ]),
        ) as {
          layers: unknown[];
        }
      ).layers;
      assert.ok(layers.length >= 2, 'a multi-layer image');
    },
  );

  /** `berth registry gc` as its own process on the same config; returns its JSON report. */
  async function gc(env: NodeJS.ProcessEnv): Promise<{ uploads: { id: string }[]; blobs: unknown[] }> {
    const dir = join(work, 'gc');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        BERTH_BIN,
        'registry',
        'gc',
        '--config',
        join(work, 'a', 'berth.yaml'),
        '--data-dir',
        dir,
        '--output',
        'json',
      ],
      { cwd: REPO_ROOT, env: { ...process.env, BERTH_LOG_LEVEL: 'warn', ...env } },
    );
    return JSON.parse(stdout) as { uploads: { id: string }[]; blobs: unknown[] };
  }
});

/** A PATCH whose body the test writes piece by piece. */
function startBody(url: string, length: number): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const req = request(url, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': length },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('error', reject);
  });
  return { req, response };
}

/** Waits until the metadata shows the upload's write lease taken (the PATCH reached the registry). */
async function leaseTaken(schema: string, id: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    for (let i = 0; i < 1000; i++) {
      const { rows } = await client.query<{ leased_until: string | null }>(
        `select leased_until from "${schema}".uploads where id = $1`,
        [id],
      );
      if (rows[0]?.leased_until) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`upload ${id} was never leased`);
  } finally {
    await client.end();
  }
}
