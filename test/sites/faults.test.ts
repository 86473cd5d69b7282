import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { call, harness, until } from './helpers.js';
import { liveHeapBytes } from '../support/heap.js';
import { DeployFailed } from '../../src/sites/index.js';

async function failureLog(h: Awaited<ReturnType<typeof harness>>, site: string): Promise<string> {
  await until(
    async () => (await h.manager.startupLogs.list({ site, outcome: 'failure' })).length > 0,
    15_000,
    `a failure log for ${site}`,
  );
  const latest = await h.manager.startupLogs.latest({ site });
  assert.ok(latest, 'a latest log');
  assert.equal(latest.outcome, 'failure', 'show without a name prefers the failure');
  return (await h.manager.startupLogs.read(latest.name)).content;
}

test('an app that crashes at start: failure log with the exit code and its last stderr lines, restarted with backoff', async (t) => {
  const h = await harness(
    [
      {
        name: 'crasher',
        command: 'node server.mjs',
        root: 'crash',
        appSettings: { SECRET_TOKEN: 's3cr3t-value' },
      },
    ],
    { wait: false },
  );
  t.after(() => h.close());
  const log = await failureLog(h, 'crasher');
  assert.match(log, /^\d{4}-\d\d-\d\dT.* INFO {2}- Command: node server\.mjs$/m);
  assert.match(log, /App settings given \(names only; values are never logged\): SECRET_TOKEN/);
  assert.doesNotMatch(log, /s3cr3t-value/, 'setting values never appear');
  assert.match(log, /Port: PORT=\d+ and WEBSITES_PORT=\d+/);
  assert.match(log, /exit code: 3/);
  assert.match(log, /HINT: Process exited: the app exited with code 3[^]*DATABASE_URL is not set/);
  assert.match(log, /starting the crash demo/, "the app's first output is in the log");
  assert.ok(
    !h.sink.lines.some((l) => l.message.includes('s3cr3t-value')),
    'no secret reaches the log sink either',
  );
  // Backoff restarts: more attempts follow, each appended to the day's failure log.
  await until(
    () => h.manager.siteStatus('crasher').slots[0]!.instances[0]!.restarts >= 2,
    10_000,
    'two restarts',
  );
  const [file] = await h.manager.startupLogs.list({ site: 'crasher' });
  const content = await readFile(
    join(h.dataDir, 'sites', 'crasher', 'startuplogs', 'production', file!.name),
    'utf8',
  );
  assert.ok((content.match(/===== Start attempt/g) ?? []).length >= 2);
  assert.ok(
    h.sink
      .messages({ type: 'platform' })
      .some((m) => /Restarting instance \w+ in 0\.\d s \(failure 1 in a row\)/.test(m)),
  );
  const reply = await call(h.frontdoor.port, 'crasher.localhost', '/');
  assert.equal(reply.status, 503);
  assert.match(
    JSON.parse(reply.body).detail,
    /no instance of site crasher .* can take requests now.*see the startup logs \(berth webapp log startup show --name crasher\)$/,
  );
  // A browser gets the same answer as a page; an API client that says JSON keeps problem+json.
  const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
  const page = await call(h.frontdoor.port, 'crasher.localhost', '/', { headers: { accept: browser } });
  assert.equal(page.status, 503);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['retry-after'], '5');
  assert.match(page.body, /<h1>503 Service Unavailable<\/h1>/);
  assert.match(page.body, /<p>no instance of site crasher .* can take requests now/);
  assert.match(page.body, new RegExp(`Request id <code>${page.headers['x-request-id']}</code>`));
  const api = await call(h.frontdoor.port, 'crasher.localhost', '/', {
    headers: { accept: 'application/json, text/html;q=0.5' },
  });
  assert.equal(api.headers['content-type'], 'application/problem+json');
});

test('an app on the wrong port: the time limit passes and the hint names the port from its output and its sockets', async (t) => {
  const wrongPort = 20000 + Math.floor(Math.random() * 20000);
  const h = await harness(
    [
      {
        name: 'wrongport',
        command: 'node server.mjs',
        root: 'wrong-port',
        startTimeLimit: '2s',
        appSettings: { WRONG_PORT: String(wrongPort) },
      },
    ],
    { wait: false },
  );
  t.after(() => h.close());
  const log = await failureLog(h, 'wrongport');
  assert.match(log, new RegExp(`listening on ${wrongPort}`));
  assert.match(log, /did not start within the expected time limit/);
  assert.match(log, new RegExp(`Listening sockets of the process: ${wrongPort}`));
  assert.match(
    log,
    new RegExp(
      `HINT: Wrong port: the platform expects the app on port \\d+, but its output says it listens on ${wrongPort} and its process has a listening socket on ${wrongPort}`,
    ),
  );
  assert.match(log, /HINT: Start time limit passed/);
  assert.match(log, /Warmup probes? 1(-\d+)?: connection refused/);
});

test('an app that never listens: time limit hint; a missing module and a missing command get their own hints', async (t) => {
  const h = await harness(
    [
      { name: 'silent', command: 'node server.mjs', root: 'never-listens', startTimeLimit: '1s' },
      { name: 'nomodule', command: 'node server.mjs', root: 'missing-module' },
      { name: 'nocommand', command: 'definitely-not-a-command --serve', root: 'api' },
    ],
    { wait: false },
  );
  t.after(() => h.close());
  const silent = await failureLog(h, 'silent');
  assert.match(
    silent,
    /HINT: Start time limit passed: the app did not answer the warmup probe on port \d+ within 1\.0 s/,
  );
  assert.match(silent, /waiting for the message queue/);
  assert.doesNotMatch(silent, /Wrong port/);
  // What `berth up` prints for a site that is not warm: the site by name, and a command to paste.
  await assert.rejects(h.manager.waitUntilReady(0, ['silent']), {
    message:
      'not ready after 0 s: site silent (slot production; see `berth webapp log startup show --name silent`)',
  });
  const nomodule = await failureLog(h, 'nomodule');
  assert.match(nomodule, /HINT: Module not found: the app needs "express-that-is-not-installed"/);
  const nocommand = await failureLog(h, 'nocommand');
  assert.match(nocommand, /HINT: Command not found: "definitely-not-a-command"/);
  assert.match(nocommand, /exit code 127/);
});

test('an app importing a module it does not ship, which Berth has (fastify): not found, import and require alike', async (t) => {
  // examples/sites/borrowed-module sits inside Berth's checkout, so Node's walk up reaches Berth's own
  // node_modules/fastify: without the fence both start and answer.
  const h = await harness(
    [
      { name: 'borrowed-esm', command: 'node server.mjs', root: 'borrowed-module' },
      { name: 'borrowed-cjs', command: 'node server.cjs', root: 'borrowed-module' },
    ],
    { wait: false },
  );
  t.after(() => h.close());
  for (const [site, message] of [
    ['borrowed-esm', /Cannot find package 'fastify' imported from /],
    ['borrowed-cjs', /Cannot find module 'fastify'/],
  ] as const) {
    const log = await failureLog(h, site);
    assert.match(log, message);
    assert.match(
      log,
      /HINT: Module not found: the app needs "fastify", which is not in the deployed package/,
    );
    assert.match(log, /node_modules folders above it are fenced off/);
  }
});

test("a package deployed into a data folder inside Berth's checkout does not borrow Berth's node_modules", async (t) => {
  // The demo's case: the data folder (examples/.berth) sits in the checkout, so Node's walk up from a
  // deployed version reaches Berth's node_modules. tmp/ of the checkout is ignored by git.
  await mkdir(resolve('tmp'), { recursive: true });
  const dataDir = await mkdtemp(join(resolve('tmp'), 'berth-fence-'));
  t.after(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rmdir(resolve('tmp')).catch(() => {}); // only when empty: nothing else's is touched
  });
  const h = await harness([{ name: 'api', command: 'node server.mjs', root: 'api' }], { dataDir });
  t.after(() => h.close());
  await assert.rejects(
    h.manager.deploy('api', { kind: 'directory', path: resolve('examples/sites/borrowed-module') }),
    (error: unknown) => {
      assert.ok(error instanceof DeployFailed, String(error));
      assert.match(
        (error.extra.hints as string[]).join('\n'),
        /Module not found: the app needs "fastify", which is not in the deployed package/,
      );
      return true;
    },
  );
});

test('an app printing 100,000 lines a second: every line reaches the sink in order, memory stays bounded, requests are served', async (t) => {
  const seconds = 2;
  const h = await harness([
    {
      name: 'flood',
      command: 'node server.mjs',
      root: 'flood',
      appSettings: { LINES_PER_SECOND: '100000', FLOOD_SECONDS: String(seconds) },
    },
  ]);
  t.after(() => h.close());
  const heapBefore = liveHeapBytes();
  let servedDuringFlood = 0;
  const expected = 100_000 * seconds;
  const floodLines = () =>
    h.sink.lines.filter(
      (l) => l.site === 'flood' && l.stream === 'stdout' && l.message.startsWith('flood line '),
    );
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const reply = await call(h.frontdoor.port, 'flood.localhost', '/');
    assert.equal(reply.status, 200);
    if (floodLines().length >= expected) break;
    servedDuringFlood++;
    await new Promise((r) => setTimeout(r, 50));
  }
  const lines = floodLines();
  assert.equal(lines.length, expected, 'no line lost');
  for (let i = 0; i < lines.length; i += 997)
    assert.ok(lines[i]!.message.startsWith(`flood line ${i + 1} `), `line ${i + 1} in order`);
  // Counted in answers, not milliseconds: requests were answered while the lines were still arriving.
  assert.ok(servedDuringFlood >= 3, `${servedDuringFlood} requests answered during the flood`);
  // The sink holds the lines (it is an array here); beyond them the supervisor keeps nothing per line.
  const perLine = (liveHeapBytes() - heapBefore) / expected;
  assert.ok(perLine < 2000, `heap grew ${perLine.toFixed(0)} bytes per line`);
});
