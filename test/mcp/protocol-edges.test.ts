/**
 * Item 7 of issue 12: protocol edges. 2025-03-26 (whose rules include batches) is not offered; an
 * unknown MCP-Protocol-Version is "unsupported version"; a spec replaced by a symlink swap (the way a
 * Kubernetes ConfigMap volume updates) is reloaded; `berth mcp serve` keeps 2025 sessions valid across
 * a restart, its key in the data folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startMcpServer } from '../../src/mcp/index.js';
import { post, startUpstream, startWithCatalog, upstreamCatalog } from './helpers.js';

const initialize = (version: string) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

test('2025-03-26 is not offered (its batches are not accepted): initialize answers 2025-11-25', async (t) => {
  const upstream = await startUpstream();
  const server = await startWithCatalog(upstreamCatalog(upstream.url));
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  const url = server.urls[0]!;
  const answer = await post(url, initialize('2025-03-26'));
  assert.equal(answer.json?.result?.protocolVersion, '2025-11-25');
  const session = answer.headers.get('mcp-session-id')!;
  const batch = await post(url, [{ jsonrpc: '2.0', id: 2, method: 'ping' }], {
    'mcp-session-id': session,
    'mcp-protocol-version': '2025-11-25',
  });
  assert.equal(batch.status, 400);
  assert.equal(batch.json?.error?.code, -32600);
});

test('an MCP-Protocol-Version that names no known version is "unsupported version" in both eras', async (t) => {
  const upstream = await startUpstream();
  const server = await startWithCatalog(upstreamCatalog(upstream.url));
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  const url = server.urls[0]!;
  const session = (await post(url, initialize('2025-11-25'))).headers.get('mcp-session-id')!;
  for (const version of ['2099-01-01', 'banana', '2025-03-26']) {
    const legacy = await post(
      url,
      { jsonrpc: '2.0', id: 3, method: 'tools/list' },
      { 'mcp-session-id': session, 'mcp-protocol-version': version },
    );
    assert.equal(legacy.status, 400, version);
    assert.equal(legacy.json?.error?.code, -32022, version);
    assert.match(legacy.json!.error!.message, /Unsupported protocol version/);
    assert.deepEqual((legacy.json!.error!.data as { requested: string }).requested, version);
    // Without `_meta` (so not a modern request that forgot it): unsupported version, not a _meta error.
    const bare = await post(
      url,
      { jsonrpc: '2.0', id: 4, method: 'tools/list' },
      { 'mcp-protocol-version': version },
    );
    assert.equal(bare.status, 400, version);
    assert.equal(bare.json?.error?.code, -32022, version);
    const modern = bare;
    assert.ok((modern.json!.error!.data as { supported: string[] }).supported.includes('2026-07-28'));
  }
});

const spec = (operationId: string) =>
  JSON.stringify({
    openapi: '3.0.3',
    info: { title: 's', version: '1' },
    paths: { '/x': { get: { operationId, responses: { '200': { description: 'ok' } } } } },
  });

test('a spec updated by a symlink swap (a Kubernetes ConfigMap volume) is reloaded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-configmap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The kubelet's layout: openapi.json → ..data/openapi.json, ..data → ..<timestamp>/.
  mkdirSync(join(dir, '..2026_01'));
  writeFileSync(join(dir, '..2026_01', 'openapi.json'), spec('first'));
  symlinkSync('..2026_01', join(dir, '..data'));
  symlinkSync(join('..data', 'openapi.json'), join(dir, 'openapi.json'));
  const upstream = await startUpstream();
  const server = await startMcpServer({ spec: join(dir, 'openapi.json'), upstream: upstream.url });
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  const client = new ClientV1({ name: 'v1', version: '1' });
  const changed = new Promise<void>((resolve) =>
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
  );
  await client.connect(new TransportV1(new URL(server.urls[0]!)));
  t.after(() => client.close());
  assert.deepEqual(
    (await client.listTools()).tools.map((tool) => tool.name),
    ['first'],
  );
  const opened = new Promise<void>((resolve) => {
    const check = () => (server.handler.openStreams > 0 ? resolve() : setImmediate(check));
    check();
  });
  await opened; // the v1 client's GET stream is open, so it will hear the change
  // The swap: a new folder, a temporary link to it, renamed over ..data in one step.
  mkdirSync(join(dir, '..2026_02'));
  writeFileSync(join(dir, '..2026_02', 'openapi.json'), spec('second'));
  symlinkSync('..2026_02', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, '..2026_01'), { recursive: true });
  await changed;
  assert.deepEqual(
    (await client.listTools()).tools.map((tool) => tool.name),
    ['second'],
  );
});

async function serveOnce(dataDir: string, specFile: string, upstream: string) {
  const child = spawn(
    './bin/berth',
    ['mcp', 'serve', '--spec', specFile, '--upstream', upstream, '--data-dir', dataDir, '--output', 'json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_MCP_SECRET: '' },
    },
  );
  let stdout = '';
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('ready\n'))
        resolve((JSON.parse(stdout.slice(0, stdout.indexOf('}') + 1)) as { urls: string[] }).urls[0]!);
    });
    child.once('exit', (code) => reject(new Error(`berth mcp serve exited ${code}: ${stdout}`)));
  });
  const url = await ready;
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

test('berth mcp serve keeps 2025 sessions valid across a restart (the key is in the data folder)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-mcp-data-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const specFile = join(dir, 'openapi.json');
  writeFileSync(specFile, spec('only'));
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const list = (url: string, session: string) =>
    post(
      url,
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      {
        'mcp-session-id': session,
        'mcp-protocol-version': '2025-11-25',
      },
    );

  const first = await serveOnce(join(dir, 'data'), specFile, upstream.url);
  const session = (await post(first.url, initialize('2025-11-25'))).headers.get('mcp-session-id')!;
  assert.equal((await list(first.url, session)).status, 200);
  await first.stop();

  const second = await serveOnce(join(dir, 'data'), specFile, upstream.url);
  t.after(() => second.stop());
  const again = await list(second.url, session);
  assert.equal(again.status, 200, again.text);
  assert.equal((again.json!.result!.tools as unknown[]).length, 1);

  const other = await serveOnce(join(dir, 'other-data'), specFile, upstream.url);
  t.after(() => other.stop());
  assert.equal((await list(other.url, session)).status, 404, 'another data folder has another key');
});
