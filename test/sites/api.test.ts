import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { sitesApi, type SiteStatus } from '../../src/sites/index.js';
import { EXAMPLES, call, harness } from './helpers.js';

const run = promisify(execFile);
const berth = new URL('../../bin/berth', import.meta.url).pathname;

/** The console's side: a Fastify app with the sites API mounted, as the console server does. */
async function consoleFor(manager: Parameters<typeof sitesApi>[1]['manager']) {
  const app = Fastify();
  await app.register(sitesApi, { manager });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

test('the sites API: list, create (odd names refused), scale, deploy upload, slots and swap, startup logs with safe names', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'berth-api-'));
  const h = await harness([{ name: 'crasher', command: 'node server.mjs', root: 'crash' }], { wait: false });
  const { app, url } = await consoleFor(h.manager);
  t.after(async () => {
    await app.close();
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  const json = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body:
        response.status === 204
          ? undefined
          : ((await response.json()) as Record<string, unknown> & unknown[]),
    };
  };

  for (const name of ['../etc', 'Upper', 'a_b', 'x'.repeat(61), '-lead', 'sp ace', '']) {
    const bad = await json('POST', '/api/sites', { name, command: 'node server.mjs' });
    assert.equal(bad.status, 400, `name ${JSON.stringify(name)}`);
    assert.match(String(bad.type), /^application\/problem\+json/);
    assert.match(String(bad.body!.detail), /invalid site name/);
  }
  const missing = await json('POST', '/api/sites', { name: 'ok-name' });
  assert.equal(missing.status, 400);
  assert.match(String(missing.body!.detail), /command/);

  const nowhere = await json('POST', '/api/sites', {
    name: 'nowhere',
    command: 'node server.mjs',
    root: '/nonexistent',
  });
  assert.equal(nowhere.status, 400, 'a root that is not there is refused, not left to crash-loop');
  assert.equal(nowhere.body!.detail, 'site nowhere: root /nonexistent does not exist on the server');
  assert.equal((await json('GET', '/api/sites/nowhere')).status, 404, 'and nothing was created');

  const created = await json('POST', '/api/sites', {
    name: 'web',
    command: 'node server.mjs',
    root: join(EXAMPLES, 'api'),
    instances: 1,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await json('POST', '/api/sites', { name: 'web', command: 'x' })).status, 409);
  await h.manager.waitUntilReady(20_000, ['web']);
  const list = (await json('GET', '/api/sites')).body as unknown as SiteStatus[];
  assert.deepEqual(list.map((s) => s.name).sort(), ['crasher', 'web']);
  assert.equal(list.find((s) => s.name === 'web')!.url, `http://web.localhost:${h.frontdoor.port}/`);

  const scaled = await json('POST', '/api/sites/web/scale', { instances: 2 });
  assert.equal((scaled.body as unknown as SiteStatus).slots[0]!.instances.length, 2);
  assert.equal((await json('POST', '/api/sites/web/scale', { instances: 'many' })).status, 400);
  assert.equal((await json('POST', '/api/sites/nope/restart')).status, 404);

  // Upload a tarball as the body.
  const v2 = join(work, 'v2');
  await cp(join(EXAMPLES, 'api'), v2, { recursive: true });
  await writeFile(join(v2, 'VERSION'), 'v2');
  await run('tar', ['-czf', join(work, 'v2.tgz'), '-C', v2, '.']);
  const { openAsBlob } = await import('node:fs');
  const upload = await fetch(`${url}/api/sites/web/deploy`, {
    method: 'POST',
    headers: { 'content-type': 'application/gzip' },
    body: await openAsBlob(join(work, 'v2.tgz')),
  });
  assert.equal(upload.status, 200, await upload.clone().text());
  assert.equal(JSON.parse((await call(h.frontdoor.port, 'web.localhost', '/')).body).version, 'v2');
  const garbage = await fetch(`${url}/api/sites/web/deploy`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip' },
    body: 'not a zip',
  });
  assert.equal(garbage.status, 400);
  assert.equal(
    JSON.parse((await call(h.frontdoor.port, 'web.localhost', '/')).body).version,
    'v2',
    'still serving v2',
  );

  assert.equal(
    (await json('POST', '/api/sites/web/slots', { name: 'staging', configurationSource: 'production' }))
      .status,
    201,
  );
  assert.equal((await json('POST', '/api/sites/web/slots', { name: 'Bad Slot' })).status, 400);
  await h.manager.waitUntilReady(20_000, ['web']);
  const swapped = await json('POST', '/api/sites/web/slots/swap', { source: 'staging' });
  assert.equal(swapped.status, 200, JSON.stringify(swapped.body));
  assert.ok((swapped.body!.steps as string[]).some((s) => s.startsWith('Switching routing')));
  assert.equal(
    JSON.parse((await call(h.frontdoor.port, 'web.localhost', '/')).body).version,
    'v2',
    'staging ran the production content (v2)',
  );

  // Startup logs: list with filters, latest prefers failure, read by name, bad names 400.
  const failures = (await json('GET', '/api/startuplogs?site=crasher&outcome=failure')).body!.files as Array<{
    name: string;
    href: string;
  }>;
  assert.ok(failures.length >= 1);
  assert.match(failures[0]!.name, /^\d{4}_\d\d_\d\d_[0-9a-f]{8}_failure\.log$/);
  const successes = (await json('GET', '/api/startuplogs?site=web&outcome=success')).body!.files as unknown[];
  assert.ok(successes.length >= 2);
  const latest = await fetch(`${url}/api/startuplogs?latest=true`);
  assert.equal(
    latest.headers.get('x-startuplog-outcome'),
    'failure',
    'latest prefers the failure of the most recent date',
  );
  assert.equal(latest.headers.get('x-startuplog-filename'), failures[0]!.name);
  const one = await fetch(`${url}${failures[0]!.href}`);
  assert.equal(one.status, 200);
  assert.match(await one.text(), /HINT: Process exited/);
  for (const bad of [
    '..%2F..%2Fstate.json',
    '%2Fetc%2Fpasswd',
    'state.json',
    '2026_01_01_..%2Fx_failure.log',
    '2026_01_01_abc_maybe.log',
  ]) {
    const response = await fetch(`${url}/api/startuplogs/${bad}`);
    assert.equal(response.status, 400, bad);
    assert.equal(((await response.json()) as { detail: string }).detail, 'Invalid startup log filename.');
  }
  assert.equal((await fetch(`${url}/api/startuplogs/2020_01_01_deadbeef_failure.log`)).status, 404);
  const summary = (await json('GET', '/api/startuplogs/summary')).body as unknown as Array<{
    site: string;
    failures: number;
    successes: number;
  }>;
  assert.ok(summary.find((s) => s.site === 'crasher')!.failures >= 1);
  assert.ok(summary.find((s) => s.site === 'web')!.successes >= 2);

  assert.equal(
    (await json('DELETE', '/api/sites/crasher')).status,
    409,
    'config sites are deleted in berth.yaml',
  );
  assert.equal((await json('DELETE', '/api/sites/web')).status, 204);
  assert.equal((await call(h.frontdoor.port, 'web.localhost', '/')).status, 404);
});

test('berth webapp commands drive a running console: create, scale, deploy, slot create/swap, errors', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  const h = await harness([]);
  const { app, url } = await consoleFor(h.manager);
  t.after(async () => {
    await app.close();
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  // Each `berth` start compiles the CLI through tsx, so independent commands run side by side.
  const berthJson = async (...args: string[]) =>
    JSON.parse((await run(berth, [...args, '--console-url', url, '--output', 'json'])).stdout);
  const v2 = join(work, 'v2');
  await cp(join(EXAMPLES, 'api'), v2, { recursive: true });
  await writeFile(join(v2, 'VERSION'), 'v2');
  const broken = join(work, 'broken');
  await cp(join(EXAMPLES, 'crash'), broken, { recursive: true });

  const created = await berthJson(
    'webapp',
    'create',
    '--name',
    'cli',
    '--command',
    'node server.mjs',
    '--root',
    join(EXAMPLES, 'api'),
    '--setting',
    'GREETING=from-cli',
    '--instances',
    '2',
  );
  assert.equal(created.name, 'cli');
  await Promise.all([
    berthJson(
      'webapp',
      'deployment',
      'slot',
      'create',
      '--name',
      'cli',
      '--slot',
      'staging',
      '--configuration-source',
      'production',
    ),
    assert.rejects(
      run(berth, ['webapp', 'create', '--name', 'Bad_Name', '--command', 'x', '--console-url', url]),
      (error: { stderr: string }) => /invalid site name "Bad_Name"/.test(error.stderr),
    ),
    assert.rejects(
      run(berth, ['webapp', 'list', '--console-url', 'http://127.0.0.1:9']),
      (error: { stderr: string }) => /cannot reach the console at http:\/\/127\.0\.0\.1:9/.test(error.stderr),
    ),
  ]);
  await h.manager.waitUntilReady(20_000);
  assert.equal(JSON.parse((await call(h.frontdoor.port, 'cli.localhost', '/')).body).greeting, 'from-cli');
  const deployed = await berthJson('webapp', 'deploy', '--name', 'cli', '--src', v2, '--slot', 'staging');
  assert.equal(deployed.slot, 'staging');
  const swapped = await berthJson(
    'webapp',
    'deployment',
    'slot',
    'swap',
    '--name',
    'cli',
    '--slot',
    'staging',
  );
  assert.ok(swapped.steps.length >= 3);
  assert.equal(JSON.parse((await call(h.frontdoor.port, 'cli.localhost', '/')).body).version, 'v2');

  // Listed before the broken deploy below: a rolling deploy runs count + 1 instances while it lasts.
  const list = await run(berth, ['webapp', 'list', '--console-url', url]);
  assert.match(
    list.stdout,
    /^NAME +URL +SLOTS +RUNNING\ncli +http:\/\/cli\.localhost:\d+\/ +production,staging +2\/2,2\/2/,
  );
  // A broken package: exit 1, the reason and hints on stderr, v2 still serving.
  await assert.rejects(
    run(berth, ['webapp', 'deploy', '--name', 'cli', '--src', broken, '--console-url', url]),
    (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(
        error.stderr,
        /berth: deployment to cli\/production failed, the running version keeps serving/,
      );
      assert.match(error.stderr, /HINT: Process exited: the app exited with code 3/);
      return true;
    },
  );
  assert.equal(JSON.parse((await call(h.frontdoor.port, 'cli.localhost', '/')).body).version, 'v2');
});
