/**
 * Item 1 of issue 12: argument names every model host accepts. Parameters such as `$top`,
 * `page[limit]`, `ids[]` and `jcr:content` become names matching ^[a-zA-Z0-9_.-]{1,64}$, the original
 * name is in the description, and calls made through all three official clients send the original
 * names to the API. `berth mcp check` reports what a strict host would refuse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMcpServer } from '../../src/mcp/index.js';
import { buildCatalog } from '../../src/mcp/openapi/index.js';
import { argumentNames } from '../../src/mcp/openapi/arguments.js';
import { CLIENT_KINDS, connectClient, startRecorder } from './three-clients.js';
import { directoryFile } from './directory.js';

const STRICT = /^[a-zA-Z0-9_.-]{1,64}$/;
const LONG = `x${'y'.repeat(80)}`;

const DOCUMENT = {
  openapi: '3.0.3',
  info: { title: 'names', version: '1' },
  paths: {
    '/users/{user-id}': {
      get: {
        operationId: 'listUsers',
        parameters: [
          { name: 'user-id', in: 'path', required: true, schema: { type: 'string' } },
          { name: '$top', in: 'query', schema: { type: 'integer' }, description: 'How many' },
          { name: '_top', in: 'query', schema: { type: 'integer' } },
          { name: '$filter', in: 'query', schema: { type: 'string' } },
          { name: 'page[limit]', in: 'query', schema: { type: 'integer' } },
          { name: 'ids[]', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
          { name: 'jcr:content', in: 'query', schema: { type: 'string' } },
          { name: 'X-Trace.Id', in: 'header', schema: { type: 'string' } },
          { name: LONG, in: 'query', schema: { type: 'string' } },
          { name: 'constructor', in: 'query', schema: { type: 'string' } },
          { name: 'toString', in: 'query', schema: { type: 'string' } },
          { name: '__proto__', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
  },
};

test('argument names match the strict pattern, are unique and stable, and keep the original in the description', () => {
  const catalog = buildCatalog(DOCUMENT, { upstream: 'http://127.0.0.1:9' });
  const tool = catalog.tools[0]!;
  const properties = tool.inputSchema.properties as Record<string, { description?: string }>;
  const keys = Object.keys(properties);
  for (const key of keys) assert.match(key, STRICT);
  assert.equal(new Set(keys).size, keys.length);
  // `_top` really exists, so the sanitized `$top` must not take its name.
  assert.ok(keys.includes('_top'));
  const top = keys.find((k) => properties[k]!.description?.startsWith('The "$top" query parameter.'));
  assert.ok(top && top !== '_top' && top.startsWith('_top_'), `sanitized $top: ${top}`);
  assert.match(properties[top]!.description!, /How many/);
  assert.ok(keys.includes('page_limit_') && keys.includes('ids__') && keys.includes('jcr_content'));
  assert.ok(keys.includes('user-id'), 'a name that is already valid is kept');
  assert.ok(keys.includes('constructor') && keys.includes('toString'), 'Object.prototype names kept');
  assert.ok(keys.includes('__proto__'), '__proto__ stays a data key');
  const long = keys.find((k) => k.length === 64);
  assert.ok(long && /_[0-9a-f]{6}$/.test(long));

  // Stable: the same document gives the same names; reordering parameters keeps them too.
  const reordered = structuredClone(DOCUMENT);
  reordered.paths['/users/{user-id}'].get.parameters.reverse();
  const again = buildCatalog(reordered, { upstream: 'http://127.0.0.1:9' }).tools[0]!;
  assert.deepEqual(Object.keys(again.inputSchema.properties as object).sort(), [...keys].sort());
});

test('argumentNames: the clash rule first, then sanitizing, then a hash suffix for what still collides', () => {
  assert.deepEqual(
    argumentNames([
      { name: 'id', in: 'path' },
      { name: 'id', in: 'query' },
      { name: 'a b', in: 'query' },
      { name: 'a_b', in: 'header' },
      { name: 'body', in: 'query' },
      { name: 'body', in: 'body' },
    ]).map((n) => n.replace(/_[0-9a-f]{6}$/, '_HASH')),
    ['id', 'id__query', 'a_b_HASH', 'a_b', 'body', 'body__body'],
  );
});

test('calls through all three official clients send the original parameter names', async (t) => {
  const upstream = await startRecorder();
  const server = await startMcpServer({ spec: writeSpec(t), upstream: upstream.url, watch: false });
  t.after(async () => {
    await server.close();
    await upstream.close();
  });
  for (const kind of CLIENT_KINDS) {
    const client = await connectClient(t, kind, server.urls[0]!);
    const { tools } = await client.listTools();
    const properties = tools[0]!.inputSchema as { properties: Record<string, { description?: string }> };
    const top = Object.keys(properties.properties).find((k) =>
      properties.properties[k]!.description?.startsWith('The "$top"'),
    )!;
    const result = await client.callTool('listUsers', {
      'user-id': 'u1',
      [top]: 5,
      _top: 6,
      page_limit_: 10,
      ids__: ['a', 'b'],
      jcr_content: 'c',
      'X-Trace.Id': 't',
      constructor: 'k',
      ['__proto__']: 'p',
    });
    assert.notEqual(result.isError, true, `${kind}: ${JSON.stringify(result)}`);
    const sent = upstream.requests.at(-1)!;
    assert.equal(
      sent.url,
      '/users/u1?%24top=5&_top=6&page%5Blimit%5D=10&ids%5B%5D=a&ids%5B%5D=b&jcr%3Acontent=c&constructor=k&__proto__=p',
      kind,
    );
    assert.equal(sent.headers['x-trace.id'], 't');
  }
});

test('berth mcp check reports what a strict host would refuse, per tool', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'openapi.json');
  const nested = structuredClone(DOCUMENT) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  nested.paths['/things'] = {
    post: {
      operationId: 'createThing',
      requestBody: {
        content: {
          'application/json': {
            schema: { type: 'object', properties: { '@odata.type': { type: 'string' } } },
          },
        },
      },
      responses: { '204': { description: 'done' } },
    },
  };
  writeFileSync(spec, JSON.stringify(nested));
  const run = spawnSync('./bin/berth', ['mcp', 'check', '--spec', spec, '--output', 'json'], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as {
    tools: number;
    problems: Array<{ tool: string; severity: string; message: string }>;
  };
  assert.equal(report.tools, 2);
  assert.deepEqual(
    report.problems.map((p) => [p.tool, p.severity]),
    [['createThing', 'warning']],
  );
  assert.match(report.problems[0]!.message, /@odata\.type/);

  const box = directoryFile('box');
  if (!box) return;
  const text = spawnSync('./bin/berth', ['mcp', 'check', '--spec', box], { encoding: 'utf8' });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^260 tools from 260 operations; 0 operations skipped; 0 errors/);
});

function writeSpec(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(DOCUMENT));
  return file;
}
