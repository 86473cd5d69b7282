import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, apiSite, call, harness, loadTest, until } from './helpers.js';

test('slot swap follows App Service: sticky settings stay, content and other settings move, zero failed requests under load', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'berth-slots-'));
  const h = await harness([
    apiSite({
      instances: 2,
      appSettings: { GREETING: 'from-prod', STAGE: 'prod-db' },
      stickySettings: ['STAGE'],
      slots: [
        { name: 'staging', instances: 1, appSettings: { GREETING: 'from-staging', STAGE: 'staging-db' } },
      ],
    }),
  ]);
  t.after(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });
  const port = h.frontdoor.port;
  const v2 = join(work, 'v2');
  await cp(join(EXAMPLES, 'api'), v2, { recursive: true });
  await writeFile(join(v2, 'VERSION'), 'v2');
  await h.manager.deploy('api', { kind: 'directory', path: v2 }, 'staging');

  const get = async (headers: Record<string, string> = {}, path = '/', host = 'api.localhost') => {
    const reply = await call(port, host, path, { headers });
    assert.equal(reply.status, 200, reply.body);
    const body = JSON.parse(reply.body) as { version: string; greeting: string; stage: string; slot: string };
    return { ...body, setCookie: reply.headers['set-cookie'] };
  };
  assert.deepEqual(
    (({ version, greeting, stage, slot }) => ({ version, greeting, stage, slot }))(await get()),
    { version: 'dev', greeting: 'from-prod', stage: 'prod-db', slot: 'production' },
  );
  // Slot host name, the routing query (which sets the pinning cookie) and the cookie itself.
  assert.equal((await get({}, '/', 'api-staging.localhost')).version, 'v2');
  const pinned = await get({}, '/?x-ms-routing-name=staging');
  assert.equal(pinned.version, 'v2');
  assert.ok(
    String(pinned.setCookie).includes('x-ms-routing-name=staging'),
    'the query pins the client with a cookie',
  );
  assert.equal((await get({ cookie: 'x-ms-routing-name=staging' })).version, 'v2');
  assert.equal((await get({ cookie: 'x-ms-routing-name=self' })).version, 'dev');
  assert.equal(
    (await get({ cookie: 'x-ms-routing-name=nosuchslot' })).version,
    'dev',
    'an unknown slot falls back to production',
  );

  const load = loadTest(port, 'api.localhost', '/', 8);
  // Counts, not time: requests are flowing before the swap and go on for 50 more after it.
  await until(() => load.stats.ok >= 25, undefined, 'requests flowing before the swap');
  const steps: string[] = [];
  await h.manager.swap('api', 'staging', 'production', (s) => steps.push(s));
  const afterSwap = load.stats.ok;
  await until(() => load.stats.ok >= afterSwap + 50, undefined, '50 requests after the swap');
  const stats = await load.stop();
  assert.equal(stats.failed, 0, `failed requests during the swap: ${stats.errors.join(' | ')}`);
  assert.ok(stats.ok > 50, `made ${stats.ok} requests`);
  assert.deepEqual(steps.slice(0, 2), [
    'Applying the settings of slot production to the instances of slot staging and warming them.',
    'Switching routing: production is now served by the instances that served staging.',
  ]);

  const prod = await get();
  assert.deepEqual(
    { version: prod.version, greeting: prod.greeting, stage: prod.stage, slot: prod.slot },
    { version: 'v2', greeting: 'from-staging', stage: 'prod-db', slot: 'production' },
  );
  const staging = await get({ cookie: 'x-ms-routing-name=staging' });
  assert.deepEqual(
    { version: staging.version, greeting: staging.greeting, stage: staging.stage, slot: staging.slot },
    { version: 'dev', greeting: 'from-prod', stage: 'staging-db', slot: 'staging' },
  );
  // Scale stays with the slot: production keeps 2 instances, staging 1.
  const slots = h.manager.siteStatus('api').slots;
  assert.equal(slots.find((s) => s.name === 'production')!.instances.length, 2);
  assert.equal(slots.find((s) => s.name === 'staging')!.instances.length, 1);
  // During a swap every request saw one consistent version: either the old or the new production.
  for (const body of stats.bodies.keys()) assert.ok(['dev', 'v2'].includes(JSON.parse(body).version));
});

test('slots created at run time; swap refuses unknown slots and bad names', async (t) => {
  const h = await harness([apiSite({ instances: 1, appSettings: { GREETING: 'hi' } })]);
  t.after(() => h.close());
  await h.manager.createSlot('api', 'blue', 'production');
  await h.manager.waitUntilReady();
  const status = h.manager.siteStatus('api');
  assert.deepEqual(status.slots.map((s) => s.name).sort(), ['blue', 'production']);
  const blue = await call(h.frontdoor.port, 'api-blue.localhost', '/');
  assert.equal(JSON.parse(blue.body).greeting, 'hi', 'settings cloned from production');
  await assert.rejects(h.manager.createSlot('api', 'blue'), /already has a slot "blue"/);
  await assert.rejects(h.manager.createSlot('api', 'Bad_Slot'), /invalid slot name/);
  await assert.rejects(h.manager.swap('api', 'green'), /has no slot "green"/);
  await assert.rejects(h.manager.swap('api', 'production', 'production'), /the same/);
  await h.manager.deleteSlot('api', 'blue');
  assert.equal(h.manager.siteStatus('api').slots.length, 1);
});

test('a swap whose source cannot start with the target settings aborts before routing switches; nothing changes', async (t) => {
  // Crashes only with BAD=1 (moves on swap) together with STAGE=prod (sticky to production).
  const app = `node -e "if (process.env.BAD === '1' && process.env.STAGE === 'prod') { console.error('cannot run BAD build on prod'); process.exit(4); } require('http').createServer((q, s) => s.end(process.env.STAGE + ':' + process.env.BAD)).listen(process.env.PORT)"`;
  const h = await harness([
    {
      name: 'swapfail',
      command: app,
      root: 'api',
      appSettings: { BAD: '0', STAGE: 'prod' },
      stickySettings: ['STAGE'],
      slots: [{ name: 'staging', appSettings: { BAD: '1', STAGE: 'staging' } }],
    },
  ]);
  t.after(() => h.close());
  const before = (await call(h.frontdoor.port, 'swapfail.localhost', '/')).body;
  assert.equal(before, 'prod:0');
  await assert.rejects(
    h.manager.swap('swapfail', 'staging'),
    (error: Error & { status?: number; extra?: { hints?: string[] } }) => {
      assert.equal(error.status, 422);
      assert.match(
        error.message,
        /swap of staging into production aborted before routing switched; nothing changed/,
      );
      assert.match(
        (error.extra?.hints ?? []).join('\n'),
        /exited with code 4[^]*cannot run BAD build on prod/,
      );
      return true;
    },
  );
  assert.equal((await call(h.frontdoor.port, 'swapfail.localhost', '/')).body, 'prod:0');
  assert.equal((await call(h.frontdoor.port, 'swapfail-staging.localhost', '/')).body, 'staging:1');
});
