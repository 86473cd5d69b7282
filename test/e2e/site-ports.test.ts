/**
 * Sites reachable without DNS tricks: `berth up` gives each site and slot its own loopback port and
 * prints its URL; plain clients (Node's fetch, Python's urllib, the official MCP client) use it as is.
 * No custom lookup anywhere here: `*.localhost` does not resolve through this machine's resolver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { tempDir } from '../support/temp.js';

const berth = resolve('bin/berth');
const run = promisify(execFile);

test('each site and slot has its own URL: printed by berth up and webapp show, used as is by fetch, Python and the MCP client', async (t) => {
  const dir = tempDir('berth-site-ports-');
  const config = join(dir, 'berth.yaml');
  writeFileSync(
    config,
    `dataDir: ${dir}/data
registry: { enabled: false }
frontdoor: { listen: 127.0.0.1:0 }
console: { listen: 127.0.0.1:0 }
sites:
  - name: api
    root: ${resolve('examples/sites/api')}
    command: node server.mjs
    slots: [{ name: staging }]
    mcp: { enabled: true, spec: /openapi.json }
`,
  );
  const child = spawn(berth, ['up', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
  });
  const exited = new Promise((done) => child.once('exit', done));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const urls = new Map<string, string>();
  const reader = createInterface({ input: child.stdout! });
  await new Promise<void>((ready, fail) => {
    reader.on('line', (line) => {
      const match = /^(\S+)\s+(http:\/\/\S+)$/.exec(line);
      if (match) urls.set(match[1]!, match[2]!);
      if (line === 'ready') ready();
    });
    void exited.then(() => fail(new Error('berth up exited before ready')));
  });
  const production = urls.get('site:api');
  const staging = urls.get('site:api-staging');
  assert.match(production ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/, [...urls].join('\n'));
  assert.match(staging ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.notEqual(production, staging);

  // Node's own fetch, nothing configured: the Host it sends is 127.0.0.1:<port>, the port says the site.
  const answer = (await (await fetch(production!)).json()) as { site: string };
  assert.equal(answer.site, 'api');
  // Python's resolver does not know *.localhost either; the port URL needs none.
  const python = await run('python3', [
    '-c',
    'import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1]); print(r.status)',
    production!,
  ]);
  assert.equal(python.stdout.trim(), '200');

  // The official MCP client through tools/list and a call, on each slot's URL.
  for (const [url, slot] of [
    [production!, 'production'],
    [staging!, 'staging'],
  ] as const) {
    const client = new Client({ name: `site-ports-${slot}`, version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
    const { tools } = await client.listTools();
    assert.ok(
      tools.some((tool) => tool.name === 'getItem'),
      tools.map((tool) => tool.name).join(', '),
    );
    const item = await client.callTool({ name: 'getItem', arguments: { id: 1 } });
    assert.deepEqual(item.structuredContent, { id: 1, name: 'first' });
    const who = await client.callTool({ name: 'whoAmI', arguments: {} });
    assert.equal((who.structuredContent as { slot?: string }).slot, slot, JSON.stringify(who));
    await client.close();
  }

  // `berth webapp show` prints the same URL for each slot.
  const show = await run(berth, ['webapp', 'show', '--name', 'api', '--console-url', urls.get('console')!]);
  assert.match(show.stdout, new RegExp(`slot production \\(.*\\)  ${production}$`, 'm'));
  assert.match(show.stdout, new RegExp(`slot staging \\(.*\\)  ${staging}$`, 'm'));
});
