import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { answerPath, type FrontdoorMiddleware } from '../../src/frontdoor/index.js';
import { apiSite, call, harness, until } from '../sites/helpers.js';

test('least-connections sends new requests away from an instance busy with slow ones', async (t) => {
  const h = await harness([apiSite({ instances: 2, loadBalancing: 'least-connections' })]);
  t.after(() => h.close());
  const port = h.frontdoor.port;
  const agent = new Agent({ keepAlive: false });
  // Requests that stay in flight until the test aborts them: the windows below are events (counts of
  // requests in flight), not a time a loaded machine could overrun.
  const held = new AbortController();
  const hold = () =>
    call(port, 'api.localhost', '/slow?ms=600000', { agent, resetOn: held.signal }).catch(() => undefined);
  t.after(() => held.abort());
  // Two held requests: least-connections puts one on each instance.
  const instances = h.manager.sites.get('api')!.slots.get('production')!.instances;
  const slow = [hold(), hold()];
  await until(
    () => instances.reduce((n, i) => n + h.frontdoor.inFlight(i), 0) === 2,
    undefined,
    'both slow requests in flight',
  );
  assert.deepEqual(
    instances.map((i) => h.frontdoor.inFlight(i)),
    [1, 1],
    'each slow request went to a different instance',
  );
  held.abort();
  await Promise.all(slow);
  await until(
    () => instances.every((i) => h.frontdoor.inFlight(i) === 0),
    undefined,
    'the aborted requests left',
  );
  // One held request on instance A: every quick request meanwhile goes to B.
  const busyHold = new AbortController();
  t.after(() => busyHold.abort());
  const busy = call(port, 'api.localhost', '/slow?ms=600000', { agent, resetOn: busyHold.signal }).catch(
    () => undefined,
  );
  await until(() => instances.some((i) => h.frontdoor.inFlight(i) === 1));
  const busyId = instances.find((i) => h.frontdoor.inFlight(i) === 1)!.id;
  for (let i = 0; i < 5; i++)
    assert.notEqual(JSON.parse((await call(port, 'api.localhost', '/')).body).instance, busyId);
  busyHold.abort();
  await busy;
});

test('ARR affinity pins a client to its instance with the ARRAffinity cookie; off unless enabled', async (t) => {
  const h = await harness([
    apiSite({ instances: 3, clientAffinityEnabled: true }),
    apiSite({ name: 'free', instances: 2 }),
  ]);
  t.after(() => h.close());
  const port = h.frontdoor.port;
  const first = await call(port, 'api.localhost', '/');
  const cookies = first.headers['set-cookie'] as string[];
  const affinity = /^ARRAffinity=([0-9a-f]{64}); Path=\/; HttpOnly$/.exec(
    cookies.find((c) => c.startsWith('ARRAffinity='))!,
  )?.[1];
  assert.ok(affinity, `cookie set: ${cookies.join(' | ')}`);
  assert.ok(
    cookies.some((c) => c.startsWith(`ARRAffinitySameSite=${affinity};`) && c.includes('SameSite=None')),
  );
  const pinnedTo = JSON.parse(first.body).instance;
  for (let i = 0; i < 6; i++) {
    const reply = await call(port, 'api.localhost', '/', { headers: { cookie: `ARRAffinity=${affinity}` } });
    assert.equal(JSON.parse(reply.body).instance, pinnedTo);
    assert.equal(reply.headers['set-cookie'], undefined, 'no new cookie while the instance is there');
  }
  // A stale cookie (instance gone) gets a fresh instance and cookie instead of an error.
  const stale = await call(port, 'api.localhost', '/', {
    headers: { cookie: `ARRAffinity=${'0'.repeat(64)}` },
  });
  assert.equal(stale.status, 200);
  assert.ok(String(stale.headers['set-cookie']).includes('ARRAffinity='));
  const free = await call(port, 'free.localhost', '/');
  assert.equal(free.headers['set-cookie'], undefined, 'clientAffinityEnabled false sets no cookie');
});

test('502 when an instance breaks the connection, 504 past the response timeout, 503 with none running', async (t) => {
  const h = await harness([apiSite({ instances: 1 })], { frontdoor: { responseTimeout: '500ms' } });
  t.after(() => h.close());
  const port = h.frontdoor.port;
  const timeout = await call(port, 'api.localhost', '/slow?ms=2000');
  assert.equal(timeout.status, 504);
  assert.equal(timeout.headers['content-type'], 'application/problem+json');
  assert.match(JSON.parse(timeout.body).detail, /did not answer within 0\.5 s/);
  // The instance exits while answering (/crash), then a POST (not retried) meets the dead socket.
  await call(port, 'api.localhost', '/crash');
  await until(
    () => h.manager.siteStatus('api').slots[0]!.instances[0]!.state !== 'running',
    5000,
    'the crash to be seen',
  );
  const down = await call(port, 'api.localhost', '/api/items', {
    method: 'POST',
    body: '{"name":"x"}',
    headers: { 'content-type': 'application/json' },
  });
  assert.ok([502, 503].includes(down.status), `got ${down.status}`);
  assert.match(JSON.parse(down.body).detail, /(failed to answer|can take requests now)/);
  // The supervisor restarts it; the site serves again.
  await until(async () => (await call(port, 'api.localhost', '/')).status === 200, 10_000, 'the restart');
  assert.ok(h.sink.messages({ type: 'platform' }).some((m) => /exited with code 7 while running/.test(m)));
});

test('a failing health check takes the instance out of rotation and restarts it', async (t) => {
  const h = await harness([
    apiSite({
      instances: 2,
      healthCheckPath: '/health',
      healthCheckInterval: '200ms',
      healthCheckMaxFailures: 2,
    }),
  ]);
  t.after(() => h.close());
  const port = h.frontdoor.port;
  const sick = JSON.parse((await call(port, 'api.localhost', '/make-unhealthy')).body) as unknown;
  assert.ok(sick);
  const before = h.manager.siteStatus('api').slots[0]!.instances;
  await until(
    () =>
      h.sink
        .messages({ type: 'platform' })
        .some((m) => /left the rotation after 2 failed health checks/.test(m)),
    5000,
    'the instance to leave',
  );
  // While it restarts, every request goes to the healthy one.
  for (let i = 0; i < 5; i++) assert.equal((await call(port, 'api.localhost', '/')).status, 200);
  await until(
    () => h.manager.siteStatus('api').slots[0]!.instances.every((i) => i.state === 'running'),
    10_000,
    'both running again',
  );
  const after = h.manager.siteStatus('api').slots[0]!.instances;
  assert.equal(after.reduce((n, i) => n + i.restarts, 0) - before.reduce((n, i) => n + i.restarts, 0), 1);
});

test('middlewares answer paths themselves (as MCP does at /mcp) or pass on; path and host routers', async (t) => {
  const seen: string[] = [];
  const tagger: FrontdoorMiddleware = {
    name: 'tag',
    handle(req, _res, next, context) {
      seen.push(`${context.site}:${context.slot}:${req.url}`);
      req.headers['x-tagged'] = 'yes';
      // What authentication will do: a middleware may set the identity headers a client may not.
      assert.equal(req.headers['x-ms-client-principal-id'], undefined, 'the client copy is gone');
      if (req.url === '/headers') req.headers['x-ms-client-principal-id'] = 'vouched';
      next();
    },
  };
  const mcp = answerPath('mcp', '/mcp', async (_req, res, context) => {
    // A middleware can call the site through its service (what the built-in MCP does).
    const items = await fetch(`${context.serviceUrl()}/api/items`).then((r) => r.json());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ answeredBy: 'mcp', items }));
  });
  const broken: FrontdoorMiddleware = {
    name: 'broken',
    handle: (req, _res, next) => {
      if (req.url === '/boom') return Promise.reject(new Error('boom'));
      // A header that would split the request head is refused, not sent.
      if (req.url === '/inject') req.headers['x-evil'] = 'a\r\nx-injected: 1';
      next();
    },
  };
  const h = await harness(
    [apiSite({ instances: 1, hostNames: ['api.example.test'] }), apiSite({ name: 'other', instances: 1 })],
    {
      frontdoor: { routers: [{ pathPrefix: '/other-api', site: 'other', stripPrefix: true }] },
      middlewares: { '*': [tagger], api: [broken, mcp] },
    },
  );
  t.after(() => h.close());
  const port = h.frontdoor.port;
  const answered = await call(port, 'api.localhost', '/mcp');
  assert.deepEqual(JSON.parse(answered.body), { answeredBy: 'mcp', items: [{ id: 1, name: 'first' }] });
  const passed = JSON.parse(
    (await call(port, 'api.example.test', '/headers', { headers: { 'x-ms-client-principal-id': 'forged' } }))
      .body,
  );
  assert.equal(passed.headers['x-ms-client-principal-id'], 'vouched');
  assert.equal(
    passed.headers['x-tagged'],
    'yes',
    'configured host name routes to the site, tag middleware ran',
  );
  const boom = await call(port, 'api.localhost', '/boom');
  assert.equal(boom.status, 500);
  assert.match(JSON.parse(boom.body).detail, /middleware broken failed/);
  const injected = await call(port, 'api.localhost', '/inject');
  assert.equal(injected.status, 500);
  assert.match(
    JSON.parse(injected.body).detail,
    /middleware broken failed while handling the request: header x-evil holds a control character/,
  );
  assert.equal(
    h.frontdoor.inFlight(h.manager.sites.get('api')!.slots.get('production')!.instances[0]!),
    0,
    'no lease taken',
  );
  const stripped = JSON.parse((await call(port, '127.0.0.1', '/other-api/headers')).body);
  assert.equal(stripped.url, '/headers', 'the path router stripped its prefix');
  assert.deepEqual(seen.slice(0, 2), ['api:production:/mcp', 'api:production:/headers']);
  assert.ok(seen.includes('other:production:/other-api/headers'));
  h.frontdoor.use(
    'other',
    answerPath('late', '/late', (_req, res) => void res.end('late')),
  );
  assert.equal((await call(port, 'other.localhost', '/late')).body, 'late');
});
