// loadSpec: files and URLs, JSON and YAML, ETags, and clear errors for what cannot be read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpec, SpecError } from '../../src/mcp/openapi/index.js';
import { tempDir } from '../support/temp.js';

const dir = tempDir('berth-spec-');
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return name;
};

test('files: JSON and YAML, relative to baseDir; the ETag reflects the content', async () => {
  write('a.json', '{"openapi":"3.0.0","paths":{}}');
  write('a.yaml', 'openapi: 3.1.0\npaths: {}\n');
  const json = await loadSpec('a.json', { baseDir: dir });
  assert.deepEqual(json.document, { openapi: '3.0.0', paths: {} });
  const yaml = await loadSpec(join(dir, 'a.yaml'));
  assert.deepEqual(yaml.document, { openapi: '3.1.0', paths: {} });
  const again = await loadSpec('a.json', { baseDir: dir, etag: json.etag });
  assert.equal(again.notModified, true);
  write('a.json', '{"openapi":"3.0.1","paths":{}}');
  const changed = await loadSpec('a.json', { baseDir: dir, etag: json.etag });
  assert.equal(changed.notModified, undefined);
  assert.notEqual(changed.etag, json.etag);
});

test('files last modified long ago: the ETag is size and time; a change of either reloads', async () => {
  const file = join(dir, write('old.json', '{"openapi":"3.0.0","paths":{}}'));
  const past = new Date(Date.now() - 60_000);
  utimesSync(file, past, past);
  const first = await loadSpec(file);
  assert.equal((await loadSpec(file, { etag: first.etag })).notModified, true);
  writeFileSync(file, '{"openapi":"3.0.1","paths":{}}');
  utimesSync(file, past, new Date(Date.now() - 30_000));
  const changed = await loadSpec(file, { etag: first.etag });
  assert.equal(changed.notModified, undefined);
  assert.deepEqual(changed.document, { openapi: '3.0.1', paths: {} });
});

test('unreadable input gives a SpecError that names the problem', async () => {
  const cases: [string, RegExp][] = [
    [write('bad.json', '{"openapi": "3.0.0",'), /is not valid JSON/],
    [write('bad.yaml', 'openapi: 3.0.0\npaths:\n  /a: [\n'), /is not valid YAML: .*line/],
    [write('dup.yaml', 'openapi: 3.0.0\nopenapi: 3.1.0\n'), /not valid YAML: .*[Mm]ap keys must be unique/],
    [write('empty.yaml', '   \n'), /is empty/],
    [write('scalar.yaml', 'just text\n'), /must be a JSON or YAML object.*got string/],
    [write('list.json', '[1,2]'), /must be a JSON or YAML object.*got an array/],
    ['missing.yaml', /spec file not found: .*missing\.yaml/],
    ['ftp://example.com/spec.json', /unsupported spec location/],
  ];
  for (const [source, message] of cases) {
    await assert.rejects(
      loadSpec(source, { baseDir: dir }),
      (e: Error) => e instanceof SpecError && message.test(e.message),
      source,
    );
  }
});

test('YAML alias bombs are refused', async () => {
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 8; i++)
    bomb.push(
      `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
        .fill(`*${String.fromCharCode(97 + i)}`)
        .join(',')}]`,
    );
  write('bomb.yaml', bomb.join('\n') + '\n');
  await assert.rejects(
    loadSpec('bomb.yaml', { baseDir: dir }),
    (e: Error) => e instanceof SpecError && /not valid YAML/.test(e.message),
  );
});

test('URLs: fetched with If-None-Match; 304 is notModified; HTTP errors are SpecErrors', async () => {
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers['if-none-match']);
    if (req.url === '/missing') return void res.writeHead(404).end();
    if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304).end();
    res
      .writeHead(200, { etag: '"v1"', 'content-type': 'application/yaml' })
      .end('openapi: 3.0.3\npaths: {}\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const first = await loadSpec(`${base}/openapi.yaml`);
    assert.deepEqual(first.document, { openapi: '3.0.3', paths: {} });
    assert.equal(first.etag, '"v1"');
    const second = await loadSpec(`${base}/openapi.yaml`, { etag: first.etag });
    assert.equal(second.notModified, true);
    assert.deepEqual(seen, [undefined, '"v1"']);
    await assert.rejects(
      loadSpec(`${base}/missing`),
      (e: Error) => e instanceof SpecError && /HTTP 404/.test(e.message),
    );
    await assert.rejects(
      loadSpec('http://127.0.0.1:9/x.json'),
      (e: Error) => e instanceof SpecError && /cannot fetch spec/.test(e.message),
    );
  } finally {
    server.close();
  }
});
