/**
 * Hot reload (issue item 5) with the real OpenAPI conversion and the example Petstore: a watched
 * file and an ETag-polled URL; clients of both eras hear about a changed list once, never about an
 * unchanged one, and a broken spec keeps the old tools and logs a clear error.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startMcpServer } from '../../src/mcp/index.js';
import { startPetstore } from '../../examples/petstore/server.js';

const SPEC = readFileSync('examples/petstore/openapi.yaml', 'utf8');

function withPing(text: string): string {
  const doc = parse(text) as { paths: Record<string, unknown> };
  doc.paths['/ping'] = {
    get: {
      operationId: 'pingService',
      summary: 'Is the service up',
      responses: { '200': { description: 'ok' } },
    },
  };
  return stringify(doc);
}

function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

async function until(condition: () => boolean, what: string, ms = 5000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function listeners(t: TestContext, url: URL) {
  const counts = { modern: 0, legacy: 0 };
  const modern = new Client(
    { name: 'modern', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await modern.connect(new StreamableHTTPClientTransport(url));
  modern.setNotificationHandler('notifications/tools/list_changed', () => void (counts.modern += 1));
  await modern.listen({ toolsListChanged: true });
  const legacy = new ClientV1({ name: 'legacy', version: '1' });
  legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => void (counts.legacy += 1));
  await legacy.connect(new TransportV1(url));
  t.after(async () => {
    await modern.close();
    await legacy.close();
  });
  return { counts, legacy };
}

test('a watched spec file: change → both eras notified once; same content → nothing; broken → old tools kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-reload-'));
  const file = join(dir, 'openapi.yaml');
  writeFileSync(file, SPEC);
  const petstore = await startPetstore();
  const { lines, logger } = captureLogs();
  const server = await startMcpServer({ spec: file, upstream: petstore.url, logger });
  t.after(async () => {
    await server.close();
    await petstore.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { counts, legacy } = await listeners(t, new URL(server.urls[0]!));
  await until(() => server.handler.openStreams === 2, 'both notification streams');
  const before = (await legacy.listTools()).tools.map((tool) => tool.name);
  assert.ok(before.includes('getPetById') && !before.includes('pingService'));

  // A call round-trips to the Petstore through the converted tool.
  const pet = await legacy.callTool({ name: 'getPetById', arguments: { petId: 1 } });
  assert.equal(pet.isError, undefined, JSON.stringify(pet));

  // Replace the file the way editors and deploy tools do: write a new one, rename it over the old.
  writeFileSync(`${file}.tmp`, withPing(SPEC));
  renameSync(`${file}.tmp`, file);
  await until(() => counts.modern === 1 && counts.legacy === 1, 'list_changed in both eras');
  assert.ok((await legacy.listTools()).tools.some((tool) => tool.name === 'pingService'));

  // Rewriting identical bytes rebuilds nothing and notifies no one: waited for by the reload's own
  // "spec checked" line, not by time. (A notification is written before that line; the last check
  // below, after another reload, would count one that was still on its way.)
  const checks = () => lines.filter((l) => l.msg === 'spec checked').length;
  const checked = checks();
  writeFileSync(file, withPing(SPEC));
  await until(() => checks() > checked, 'the identical file checked');
  assert.deepEqual(counts, { modern: 1, legacy: 1 });

  // A broken spec: the error is logged, the old tools stay, and no one is told anything changed.
  const toolsBefore = server.handler.catalog.tools.length;
  writeFileSync(file, 'openapi: 3.0.3\npaths: [unclosed');
  await until(
    () => lines.some((l) => String(l.msg).includes('spec reload failed')),
    'the reload error in the log',
  );
  const failure = lines.find((l) => String(l.msg).includes('spec reload failed'))!;
  assert.match(String(failure.msg), new RegExp(`still serving the previous ${toolsBefore} tools`));
  assert.match(JSON.stringify(failure.err), /not valid YAML/);
  assert.equal(server.handler.catalog.tools.length, toolsBefore);
  assert.equal(
    (await legacy.callTool({ name: 'pingService', arguments: {} })).isError,
    true,
    'the old tool still answers (the Petstore has no /ping)',
  );
  assert.deepEqual(counts, { modern: 1, legacy: 1 });

  // Fixing it brings the original list back, and that is a change.
  writeFileSync(file, SPEC);
  await until(() => counts.modern === 2 && counts.legacy === 2, 'list_changed after the fix');
});

test('a spec URL is polled with ETag: 304s cost nothing, a new document is picked up', async (t) => {
  let body = SPEC;
  let gets = 0;
  let notModified = 0;
  const specServer = createServer((req, res) => {
    gets += 1;
    const etag = `"${Buffer.from(body).length}-${body.length % 97}"`;
    if (req.headers['if-none-match'] === etag) {
      notModified += 1;
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/yaml', etag }).end(body);
  });
  await new Promise<void>((resolve) => specServer.listen(0, '127.0.0.1', resolve));
  const specUrl = `http://127.0.0.1:${(specServer.address() as AddressInfo).port}/openapi.yaml`;
  const petstore = await startPetstore();
  const server = await startMcpServer({ spec: specUrl, upstream: petstore.url, pollIntervalMs: 50 });
  t.after(async () => {
    await server.close();
    await petstore.close();
    specServer.closeAllConnections();
    specServer.close();
  });
  const { counts } = await listeners(t, new URL(server.urls[0]!));
  await until(() => notModified >= 3, 'a few conditional polls');
  assert.deepEqual(counts, { modern: 0, legacy: 0 });
  body = withPing(SPEC);
  await until(() => counts.modern === 1 && counts.legacy === 1, 'list_changed after the URL changed');
  assert.ok(server.handler.catalog.tools.some((tool) => tool.name === 'pingService'));
  assert.ok(gets > notModified);
});
