import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { line } from '../logs/helpers.js';
import { consoleHeaders, openSse, startTestConsole } from './helpers.js';

test('GET /api/logs answers history queries and refuses bad input with problem+json', async (t) => {
  const c = await startTestConsole();
  t.after(c.close);
  c.store.write(line('GET /api/orders/1 200'));
  c.store.write(line('ERROR payment declined', { instance: 'i2' }));
  const ok = await fetch(`${c.url}/api/logs?level=error&q=payment`, { headers: consoleHeaders });
  assert.equal(ok.status, 200);
  const page = (await ok.json()) as { entries: Array<{ message: string; instance: string }> };
  assert.deepEqual(
    page.entries.map((e) => [e.message, e.instance]),
    [['ERROR payment declined', 'i2']],
  );

  const bad = await fetch(`${c.url}/api/logs?regex=${encodeURIComponent('(unclosed')}`, {
    headers: consoleHeaders,
  });
  assert.equal(bad.status, 400);
  assert.match(bad.headers.get('content-type')!, /^application\/problem\+json/);
  const problem = (await bad.json()) as { status: number; detail: string };
  assert.equal(problem.status, 400);
  assert.match(problem.detail, /^regex: Invalid regular expression: \/\(unclosed\/: Unterminated group$/);

  for (const [query, reason] of [
    ['level=loud', /level: expected one of trace, debug/],
    ['type=app', /type: expected application or platform/],
    ['from=yesterday', /from: expected an ISO 8601 time/],
    ['from=2026-11-26T12:00:00Z&to=2026-11-26T11:00:00Z', /from: must be before to/],
    ['limit=5000', /limit: expected a whole number from 1 to 1000/],
    ['cursor=x1', /cursor: not a cursor/],
    ['since=forever', /since: expected a duration/],
  ] as const) {
    const response = await fetch(`${c.url}/api/logs?${query}`, { headers: consoleHeaders });
    assert.equal(response.status, 400, query);
    assert.match(((await response.json()) as { detail: string }).detail, reason, query);
  }
  const sources = (await (
    await fetch(`${c.url}/api/logs/sources`, { headers: consoleHeaders })
  ).json()) as Array<{ instance: string }>;
  assert.deepEqual(sources.map((s) => s.instance).sort(), ['i1', 'i2']);
  assert.equal((await fetch(`${c.url}/api/nope`, { headers: consoleHeaders })).status, 404);
});

test('SSE /api/logs/stream delivers matching lines live, and resumes after Last-Event-ID without gaps', async (t) => {
  const c = await startTestConsole();
  t.after(c.close);
  const stream = await openSse(`${c.url}/api/logs/stream?site=api&level=warn`);
  assert.equal(stream.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(stream.response.headers.get('x-accel-buffering'), 'no');
  c.store.write(line('WARN first'));
  c.store.write(line('INFO filtered out'));
  c.store.write(line('ERROR other site', { site: 'web' }));
  c.store.write(line('ERROR second'));
  const events = await stream.waitFor(2);
  assert.deepEqual(
    events.map((e) => JSON.parse(e.data).message),
    ['WARN first', 'ERROR second'],
  );
  assert.equal(events[0]!.event, 'log');
  assert.equal(events[0]!.id, String(JSON.parse(events[0]!.data).id));
  stream.stop();

  // Lines written while disconnected arrive on reconnect, in order, then live ones follow.
  c.store.write(line('ERROR while away 1'));
  c.store.write(line('INFO while away, filtered'));
  c.store.write(line('FATAL while away 2'));
  const resumed = await openSse(`${c.url}/api/logs/stream?site=api&level=warn`, {
    'last-event-id': events[0]!.id!,
  });
  c.store.write(line('WARN live again'));
  const after = await resumed.waitFor(4);
  assert.deepEqual(
    after.map((e) => JSON.parse(e.data).message),
    ['ERROR second', 'ERROR while away 1', 'FATAL while away 2', 'WARN live again'],
  );
  resumed.stop();

  const tail = await openSse(`${c.url}/api/logs/stream?tail=2&q=away`);
  const tailed = await tail.waitFor(2);
  assert.deepEqual(
    tailed.map((e) => JSON.parse(e.data).message),
    ['INFO while away, filtered', 'FATAL while away 2'],
  );
  tail.stop();

  const bad = await fetch(`${c.url}/api/logs/stream?regex=*`, { headers: consoleHeaders });
  assert.equal(bad.status, 400);
  assert.match(
    ((await bad.json()) as { detail: string }).detail,
    /regex: Invalid regular expression: \/\*\/: Nothing to repeat/,
  );
});

test('Kudu /api/logstream: welcome line, plain text lines, ?filter=, type paths, heartbeat, GET only', async (t) => {
  const c = await startTestConsole({ console: { heartbeat: '300ms' } });
  t.after(c.close);
  const controller = new AbortController();
  t.after(() => controller.abort());
  const response = await fetch(`${c.url}/api/logstream/application?filter=orders`, {
    headers: consoleHeaders,
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  let text = '';
  const readUntil = async (pattern: RegExp) => {
    const end = Date.now() + 5000;
    while (!pattern.test(text)) {
      if (Date.now() > end) throw new Error(`no ${pattern} in ${JSON.stringify(text)}`);
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  };
  await readUntil(/Welcome, you are now connected to log-streaming service\.\n/);
  c.store.write(line('GET /api/orders/7 200'));
  c.store.write(line('GET /health 200'));
  c.store.write(line('orders platform event', { type: 'platform', instance: '' }));
  c.store.write(line('ERROR orders failed', { instance: 'i9' }));
  await readUntil(/orders failed\n/);
  const lines = text.trim().split('\n').slice(1);
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    /^\d{4}-\d\d-\d\dT[\d:.]+Z api\/production\/i1 application INFO GET \/api\/orders\/7 200$/,
  );
  assert.match(lines[1]!, /api\/production\/i9 application ERROR ERROR orders failed$/);
  await readUntil(/No new trace in the past 1 min\(s\)\.\n/);

  const post = await fetch(`${c.url}/api/logstream`, { method: 'POST', headers: consoleHeaders });
  assert.equal(post.status, 400);
});

test('the console mounts plugins (the sites API), serves the page with a strict CSP, and stops with streams open', async () => {
  const c = await startTestConsole();
  const sites = (await (await fetch(`${c.url}/api/sites`, { headers: consoleHeaders })).json()) as Array<{
    name: string;
  }>;
  assert.deepEqual(
    sites.map((s) => s.name),
    ['api'],
  );
  const page = await fetch(`${c.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  assert.match(await page.text(), /<title>Berth console/);
  assert.equal(
    (await fetch(`${c.url}/assets/app.js`)).headers.get('content-type'),
    'text/javascript; charset=utf-8',
  );

  const stream = await openSse(`${c.url}/api/logs/stream`);
  const kudu = await new Promise<void>((resolve) =>
    request(`${c.url}/api/logstream`, (res) => {
      res.once('data', () => resolve());
      res.resume();
    }).end(),
  );
  void kudu;
  const started = Date.now();
  await c.close();
  assert.ok(Date.now() - started < 3000, 'close() does not wait for idle streams');
  await stream.done;
});
