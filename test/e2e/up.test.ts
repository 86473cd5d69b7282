/**
 * `berth up` as a user runs it: one process with the registry, a site behind the front door with its
 * built-in MCP, and the console. Real clients only: HTTP, the official MCP SDK v2 client in both
 * eras, and the console's JSON API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { consoleHeaders } from '../console/helpers.js';
import { processesWithEnv, stillRunning } from '../sites/helpers.js';

const berth = resolve('bin/berth');

/**
 * `<site>.localhost` resolves to loopback in browsers (RFC 6761), but not through this machine's
 * resolver, so Node clients here are given a lookup that does what a browser does.
 */
const localhostAgent = new Agent({
  connect: {
    lookup(hostname, options, callback) {
      if (!hostname.endsWith('.localhost')) return dnsLookup(hostname, options, callback);
      const address: LookupAddress = { address: '127.0.0.1', family: 4 };
      if ((options as { all?: boolean }).all)
        return (callback as (e: null, a: LookupAddress[]) => void)(null, [address]);
      return callback(null, address.address, address.family);
    },
  },
});
const fetchLocal = ((url: string | URL, init?: RequestInit) =>
  undiciFetch(url, { ...(init as object), dispatcher: localhostAgent })) as unknown as typeof fetch;

interface Running {
  child: ChildProcess;
  urls: Map<string, string[]>;
  exited: Promise<number | null>;
}

async function startBerth(
  configText: string,
  dir = mkdtempSync(join(tmpdir(), 'berth-up-')),
): Promise<Running & { dir: string }> {
  const config = join(dir, 'berth.yaml');
  writeFileSync(config, configText.replaceAll('$DIR', dir));
  const child = spawn(berth, ['up', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const urls = new Map<string, string[]>();
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`berth up not ready after 60 s:\n${stderr}`)), 60_000);
    lines.on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer);
        ready();
      }
      const match = /^(\S+)\s+(https?:\/\/\S+)$/.exec(line);
      if (match) urls.set(match[1]!, [...(urls.get(match[1]!) ?? []), match[2]!]);
    });
    void exited.then((code) => fail(new Error(`berth up exited with ${code}:\n${stderr}`)));
  });
  return { child, urls, exited, dir };
}

const CONFIG = `
dataDir: $DIR/data
registry: { listen: 127.0.0.1:0 }
frontdoor: { listen: 127.0.0.1:0 }
console: { listen: 127.0.0.1:0 }
sites:
  - name: api
    root: ${resolve('examples/sites/api')}
    command: node server.mjs
    instances: 2
    appSettings: { GREETING: hello, API_SECRET: do-not-log-me }
    mcp: { enabled: true, spec: /openapi.json, description: Items as tools }
`;

test('berth up runs the registry, a site with built-in MCP, and the console; stops cleanly on SIGTERM', async (t) => {
  const berthUp = await startBerth(CONFIG);
  t.after(() => {
    berthUp.child.kill('SIGKILL');
    rmSync(berthUp.dir, { recursive: true, force: true });
  });
  const registry = berthUp.urls.get('registry')?.[0];
  const site = berthUp.urls.get('frontdoor')?.find((u) => u.includes('api.localhost'));
  const consoleUrl = berthUp.urls.get('console')?.[0];
  assert.ok(registry && site && consoleUrl, `printed URLs: ${JSON.stringify([...berthUp.urls])}`);

  // The registry answers the OCI base endpoint.
  const base = await request(`${registry}/v2/`);
  assert.equal(base.statusCode, 200);
  assert.equal(base.headers['docker-distribution-api-version'], 'registry/2.0');
  await base.body.dump();

  // The site answers through the front door, and round robin spreads requests over both instances.
  const instances = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const response: Response = await fetchLocal(site);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { site: string; instance: string; greeting: string };
    assert.equal(body.site, 'api');
    assert.equal(body.greeting, 'hello');
    instances.add(body.instance);
  }
  assert.equal(instances.size, 2, `requests reached ${[...instances].join(', ')}`);

  // Built-in MCP: both protocol eras, tools from the site's own OpenAPI document, calls that reach it.
  for (const era of ['2026-07-28', '2025-11-25'] as const) {
    const mode = era === '2026-07-28' ? { pin: era } : ('legacy' as const);
    const client = new Client({ name: `e2e-${era}`, version: '1' }, { versionNegotiation: { mode } });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', site), { fetch: fetchLocal }));
    assert.equal(client.getNegotiatedProtocolVersion(), era);
    const { tools } = await client.listTools();
    assert.ok(
      tools.some((tool) => tool.name === 'createItem'),
      tools.map((tool) => tool.name).join(', '),
    );
    const created = await client.callTool({
      name: 'createItem',
      arguments: { body: { name: `from ${era}` } },
    });
    assert.notEqual(created.isError, true, JSON.stringify(created));
    assert.equal((created.structuredContent as { name?: string }).name, `from ${era}`);
    // Each instance keeps its items in memory, so read the one every instance starts with.
    const fetched = await client.callTool({ name: 'getItem', arguments: { id: 1 } });
    assert.deepEqual(fetched.structuredContent, { id: 1, name: 'first' });
    await client.close();
  }

  // A slot gets its own built-in MCP, whose tools call that slot (through <site>-<slot>.localhost).
  const slotResponse = await fetch(`${consoleUrl}api/sites/api/slots`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...consoleHeaders },
    body: JSON.stringify({ name: 'staging' }),
  });
  assert.equal(slotResponse.status, 201, await slotResponse.text());
  for (let i = 0; ; i++) {
    const status = (await (
      await fetch(`${consoleUrl}api/sites/api`, { headers: consoleHeaders })
    ).json()) as {
      slots: Array<{ name: string; instances: Array<{ state: string }> }>;
    };
    const staging = status.slots.find((s) => s.name === 'staging');
    if (staging?.instances.length && staging.instances.every((x) => x.state === 'running')) break;
    assert.ok(i < 300, `staging never warmed: ${JSON.stringify(staging)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const stagingMcp = new URL('/mcp', site.replace('api.localhost', 'api-staging.localhost'));
  for (const [url, slot] of [
    [stagingMcp, 'staging'],
    [new URL('/mcp', site), 'production'],
  ] as const) {
    const client = new Client(
      { name: `e2e-${slot}`, version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new StreamableHTTPClientTransport(url, { fetch: fetchLocal }));
    const who = await client.callTool({ name: 'whoAmI', arguments: {} });
    assert.equal((who.structuredContent as { slot?: string }).slot, slot, JSON.stringify(who));
    await client.close();
  }

  // The console knows the site and its instances, and has stored the site's platform events.
  const sites = (await (await fetch(`${consoleUrl}api/sites`, { headers: consoleHeaders })).json()) as Array<{
    name: string;
    slots: Array<{ instances: Array<{ state: string }> }>;
  }>;
  const api = sites.find((s) => s.name === 'api');
  assert.deepEqual(
    api?.slots[0]?.instances.map((i) => i.state),
    ['running', 'running'],
  );
  const logs = await (
    await fetch(`${consoleUrl}api/logs?site=api&type=platform`, { headers: consoleHeaders })
  ).text();
  assert.ok(logs.length > 0);
  assert.doesNotMatch(logs, /do-not-log-me/, 'an app setting value reached the log store');

  berthUp.child.kill('SIGTERM');
  const code = await Promise.race([
    berthUp.exited,
    new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
  ]);
  assert.equal(code, 0, 'berth up did not exit 0 within 15 s of SIGTERM');
});

test('a second berth up on a data folder in use fails at once, naming the first process; the lock goes with it', async (t) => {
  const first = await startBerth(`dataDir: $DIR/data
registry: { listen: 127.0.0.1:0 }
frontdoor: { listen: 127.0.0.1:0 }
console: { listen: 127.0.0.1:0 }
`);
  t.after(() => rmSync(first.dir, { recursive: true, force: true }));
  const config = join(first.dir, 'berth.yaml');
  const second = spawn(berth, ['up', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  second.stdout!.on('data', (d: Buffer) => (out += d));
  second.stderr!.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((done) => second.once('exit', done));
  assert.equal(code, 1);
  assert.equal(out, '', 'nothing started: no URL, no ready');
  assert.match(
    err,
    new RegExp(
      `^berth: the data folder ${join(first.dir, 'data')} is in use by another Berth process \\(pid ${first.child.pid}, "berth up --config ${config}", since \\S+\\); stop it first`,
    ),
  );
  // A lock left by a process that is gone (a crash, kill -9) does not hold the folder.
  first.child.kill('SIGKILL');
  await first.exited;
  const lock = JSON.parse(readFileSync(join(first.dir, 'data', 'berth.lock'), 'utf8')) as { pid: number };
  assert.equal(lock.pid, first.child.pid, 'the dead process left its lock');
  const again = await startBerth(readFileSync(config, 'utf8'), first.dir);
  const taken = JSON.parse(readFileSync(join(first.dir, 'data', 'berth.lock'), 'utf8')) as { pid: number };
  assert.equal(taken.pid, again.child.pid, 'the new process took the stale lock over');
  // SIGTERM the moment "ready" is read: berth up listens for it before printing, so it stops
  // cleanly (exit 0) and removes its lock, instead of dying by the signal's default action.
  again.child.kill('SIGTERM');
  assert.equal(await again.exited, 0);
  assert.equal(existsSync(join(first.dir, 'data', 'berth.lock')), false, 'a clean stop removes the lock');
});

test('berth up refuses a bad config before starting anything, naming the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-up-bad-'));
  const config = join(dir, 'berth.yaml');
  writeFileSync(config, 'frontdoor: { listen: everywhere }\n');
  const child = spawn(berth, ['up', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 1);
  assert.match(stderr, /frontdoor\.listen: expected host:port/);
});

test('when berth up is killed with SIGKILL, every instance process dies with it, grandchildren and setsid children included, and nothing else', async (t) => {
  // A name no other test uses: the processes are found by the WEBSITE_SITE_NAME each instance gets.
  const name = `killed-${process.pid}`;
  const berthUp = await startBerth(`
dataDir: $DIR/data
registry: { enabled: false }
frontdoor: { listen: 127.0.0.1:0 }
console: { listen: 127.0.0.1:0 }
sites:
  - name: ${name}
    root: ${resolve('examples/sites/api')}
    command: sleep 3600 & setsid sleep 3601 & node server.mjs
    instances: 2
`);
  t.after(() => rmSync(berthUp.dir, { recursive: true, force: true }));
  const before = processesWithEnv('WEBSITE_SITE_NAME', name);
  // Per instance: the shell running the command, its two `sleep`s and `node` (and Berth's watcher).
  assert.ok(before.length >= 8, `expected at least 8 instance processes, saw ${before.length}`);
  // The `setsid sleep`s lead sessions of their own: a signal to the instance's group does not reach them.
  const sessionLeaders = before.filter((p) => {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]) === p.pid;
  });
  assert.equal(sessionLeaders.length, 4, 'per instance: its group leader and its setsid sleep');
  // A process that looks like one of them (same site, same instance, the marker one digit apart) must survive.
  const marker = before[0]!.env.get('BERTH_INSTANCE_MARKER')!;
  assert.match(marker, /^[0-9a-f]{32}$/);
  const lookalike = spawn('sleep', ['1000'], {
    detached: true,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH,
      WEBSITE_SITE_NAME: name,
      WEBSITE_INSTANCE_ID: before[0]!.env.get('WEBSITE_INSTANCE_ID'),
      BERTH_INSTANCE_MARKER: marker.slice(0, -1) + (marker.endsWith('0') ? '1' : '0'),
    },
  });
  t.after(() => lookalike.kill('SIGKILL'));
  await new Promise((r) => lookalike.once('spawn', r));
  berthUp.child.kill('SIGKILL');
  await berthUp.exited;
  for (let waited = 0; before.some(stillRunning); waited += 100) {
    const left = before.filter(stillRunning).map((p) => p.pid);
    assert.ok(waited < 5000, `still running 5 s after SIGKILL: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(lookalike.exitCode, null, 'the look-alike still runs');
  assert.equal(lookalike.signalCode, null);
});
