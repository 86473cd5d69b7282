import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Fastify from 'fastify';
import { sitesApi } from '../../src/sites/index.js';
import { harness } from '../sites/helpers.js';

/** Issue 10 item 9: the startup-log API's `site` and `slot` are names, never paths. */
test('startup-log site and slot parameters that are not names are refused; nothing outside the sites folder is listed or read', async (t) => {
  const outside = await mkdtemp(join(tmpdir(), 'berth-outside-'));
  const h = await harness([]);
  const app = Fastify();
  await app.register(sitesApi, { manager: h.manager });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await h.close();
    await rm(outside, { recursive: true, force: true });
  });
  // A file named like a startup log, outside Berth's data folder.
  const name = '2026_01_01_abcd1234_failure.log';
  await mkdir(join(outside, 'logs'), { recursive: true });
  await writeFile(join(outside, 'logs', name), 'private text outside the sites folder');
  const sitesDir = join(h.dataDir, 'sites');
  await mkdir(sitesDir, { recursive: true });
  // <sitesDir>/<site>/startuplogs/<slot> with site "." and slot "../<path>" is <sitesDir>/<path>.
  const escape = { site: '.', slot: `../${relative(sitesDir, join(outside, 'logs'))}` };

  const get = async (path: string, query: Record<string, string>) => {
    const response = await fetch(`${url}${path}?${new URLSearchParams(query)}`);
    return { status: response.status, text: await response.text() };
  };
  for (const [path, query] of [
    ['/api/startuplogs', escape],
    ['/api/startuplogs', { ...escape, latest: 'true' }],
    [`/api/startuplogs/${name}`, escape],
    ['/api/startuplogs/summary', escape],
    ['/api/startuplogs', { site: '../../..' }],
    ['/api/startuplogs', { site: 'ok', slot: '../../..' }],
    ['/api/startuplogs', { site: 'A/B' }],
  ] as const) {
    const reply = await get(path, query);
    assert.equal(reply.status, 400, `${path} ${JSON.stringify(query)}: ${reply.text}`);
    assert.match(reply.text, /invalid (site|slot) name/);
    assert.doesNotMatch(reply.text, /private text/);
  }
  // Names that are names still work (nothing there yet: an empty list).
  assert.deepEqual(JSON.parse((await get('/api/startuplogs', { site: 'ok', slot: 'production' })).text), {
    files: [],
  });
});
