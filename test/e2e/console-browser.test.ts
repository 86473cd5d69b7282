// The Log stream page end to end in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core). The sites API is the test-only stand-in from test/console/helpers.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { line } from '../logs/helpers.js';
import { startTestConsole } from '../console/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const SHOTS = process.env.BERTH_SCREENSHOTS ?? '/tmp/berth-console-shots';

async function rows(page: Page): Promise<string[]> {
  return page.$$eval('#lines tr td.msg', (cells) => cells.map((c) => c.textContent ?? ''));
}

/** Headless Chromium, closed after the test; undefined (the test skipped) when it cannot start. */
async function launch(t: TestContext): Promise<Browser | undefined> {
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    t.after(() => browser.close());
    return browser;
  } catch (error) {
    t.skip(`chromium could not start: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

async function waitRows(page: Page, predicate: (messages: string[]) => boolean, what: string) {
  const end = Date.now() + 8000;
  for (;;) {
    const messages = await rows(page);
    if (predicate(messages)) return messages;
    if (Date.now() > end) assert.fail(`${what}; rows: ${JSON.stringify(messages)}`);
    await page.waitForTimeout(50);
  }
}

test('Log stream page: live lines, pause/resume, filters, search highlighting, time range, startup logs, sites', async (t) => {
  if (!existsSync(CHROMIUM)) return t.skip('chromium not installed: apt-get install chromium');
  mkdirSync(SHOTS, { recursive: true });
  const c = await startTestConsole();
  t.after(c.close);
  const now = Date.now();
  c.store.write(line('two hours ago: nightly job finished', { time: now - 2 * 3_600_000 }));
  c.store.write(line('GET /api/orders/17 200 in 12ms'));
  c.store.write(line('{"level":"warn","msg":"slow query on orders table"}', { instance: 'e5f6a7b8' }));
  c.store.write(line('Site started.', { type: 'platform', instance: 'a1b2c3d4' }));
  c.store.write(line('ERROR payment declined for order 17', { stream: 'stderr', instance: 'a1b2c3d4' }));
  c.store.write(line('<img src=x onerror="document.title=\'pwned\'"> <script>alert(1)</script>'));
  c.store.write(line('GET /health 200', { slot: 'staging', instance: 's1' }));

  const browser = await launch(t);
  if (!browser) return;
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${c.url}/#logs`);

  // History loads first, then the live stream takes over.
  await waitRows(page, (m) => m.length === 7, 'all seven lines shown');
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Live');
  c.store.write(line('live line arrives'));
  await waitRows(page, (m) => m.at(-1) === 'live line arrives', 'a live line arrives at the bottom');

  // Untrusted text is shown as text.
  assert.equal(await page.$$eval('#lines img, #lines script', (n) => n.length), 0);
  assert.notEqual(await page.title(), 'pwned');
  assert.ok((await rows(page)).some((m) => m.startsWith('<img src=x')));
  await page.screenshot({ path: `${SHOTS}/console-live.png` });
  if (process.env.BERTH_UPDATE_SCREENSHOT) await page.screenshot({ path: 'docs/console.png' }); // refreshes the picture in docs/console.md

  // Pause holds new lines back; resume shows them.
  await page.click('#pause');
  c.store.write(line('written while paused'));
  await page.waitForFunction(() =>
    /1 new while paused/.test(document.getElementById('count')?.textContent ?? ''),
  );
  assert.ok(!(await rows(page)).includes('written while paused'));
  await page.click('#pause');
  await waitRows(page, (m) => m.at(-1) === 'written while paused', 'held line shown after resume');

  // Level filter.
  await page.selectOption('#level', 'warn');
  const warnAndUp = await waitRows(page, (m) => m.length === 2, 'warn+ shows two lines');
  assert.deepEqual(warnAndUp, [
    '{"level":"warn","msg":"slow query on orders table"}',
    'ERROR payment declined for order 17',
  ]);
  c.store.write(line('INFO live but filtered'));
  c.store.write(line('ERROR live and shown'));
  await waitRows(page, (m) => m.at(-1) === 'ERROR live and shown', 'live error passes the filter');
  assert.ok(!(await rows(page)).includes('INFO live but filtered'));
  await page.selectOption('#level', '');

  // Instance, slot and type filters.
  await page.selectOption('#instance', 'a1b2c3d4');
  await waitRows(page, (m) => m.length === 2 && m.includes('Site started.'), 'instance filter');
  await page.selectOption('#instance', '');
  await page.selectOption('#slot', 'staging');
  await waitRows(page, (m) => m.length === 1 && m[0] === 'GET /health 200', 'slot filter');
  await page.selectOption('#slot', '');
  await page.selectOption('#type', 'platform');
  await waitRows(page, (m) => m.length === 1 && m[0] === 'Site started.', 'type filter');
  await page.selectOption('#type', '');

  // Keyword search highlights the words.
  await page.fill('#search', 'order 17');
  await page.click('#apply');
  await waitRows(
    page,
    (m) => m.length === 1 && m[0] === 'ERROR payment declined for order 17',
    'search narrows to one line',
  );
  assert.deepEqual(await page.$$eval('#lines mark', (n) => n.map((x) => x.textContent)), ['order', '17']);
  c.store.write(line('live: order 17 shipped'));
  await waitRows(page, (m) => m.at(-1) === 'live: order 17 shipped', 'live line matching the search');
  assert.deepEqual(await page.$$eval('#lines tr:last-child mark', (n) => n.map((x) => x.textContent)), [
    'order',
    '17',
  ]);
  await page.screenshot({ path: `${SHOTS}/console-search.png` });

  // A bad regular expression shows the server's reason.
  await page.fill('#search', 'orders(');
  await page.check('#regex');
  await page.click('#apply');
  await page.waitForFunction(() => !document.getElementById('error')!.hidden);
  assert.match((await page.textContent('#error'))!, /Unterminated group/);
  await page.uncheck('#regex');
  await page.fill('#search', '');

  // Time range: last 15 minutes hides the old line; a custom range finds it.
  await page.selectOption('#range', '15m');
  const recent = await waitRows(page, (m) => m.length > 5, 'last 15 minutes');
  assert.ok(!recent.includes('two hours ago: nightly job finished'));
  assert.equal(await page.textContent('#status'), 'Historical view');
  const local = (ms: number) =>
    new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  await page.selectOption('#range', 'custom');
  await page.fill('#from', local(now - 3 * 3_600_000));
  await page.fill('#to', local(now - 3_600_000));
  await page.click('#apply');
  await waitRows(
    page,
    (m) => m.length === 1 && m[0] === 'two hours ago: nightly job finished',
    'custom range',
  );

  // Startup logs with the failure hints shown.
  await page.click('nav a[data-tab="startup"]');
  await page.waitForSelector('#startup-files tr[data-name]');
  assert.equal(await page.$$eval('#startup-files tr[data-name]', (n) => n.length), 2);
  await page.click('#startup-files tr[data-name="2026_11_26_a1b2c3d4_failure.log"]');
  await page.waitForSelector('#startup-hints li');
  assert.match(
    (await page.textContent('#startup-hints'))!,
    /Wrong port: the platform expects the app on port 8080/,
  );
  assert.match(
    (await page.textContent('#startup-content'))!,
    /<b>listening on 3000<\/b>/,
    'log text shown as text',
  );
  assert.match((await page.textContent('#startup-summary'))!, /1 failed/);
  await page.screenshot({ path: `${SHOTS}/console-startup.png` });

  // Sites with their instances and states.
  await page.click('nav a[data-tab="sites"]');
  await page.waitForSelector('.site[data-site="api"] td');
  const states = await page.$$eval('.site[data-site="api"] tbody tr', (trs) =>
    trs.map((tr) => [tr.children[0]!.textContent, tr.children[1]!.textContent]),
  );
  assert.deepEqual(states, [
    ['a1b2c3d4', 'running'],
    ['e5f6a7b8', 'crashed'],
  ]);
  await page.screenshot({ path: `${SHOTS}/console-sites.png` });

  assert.deepEqual(pageErrors, []);
});

test('Log stream page: a filter changed while the previous one is still loading shows only the newest answer and stream', async (t) => {
  if (!existsSync(CHROMIUM)) return t.skip('chromium not installed: apt-get install chromium');
  const c = await startTestConsole();
  t.after(c.close);
  c.store.write(line('{"level":"warn","msg":"slow query on orders table"}', { instance: 'e5f6a7b8' }));
  c.store.write(line('ERROR payment declined for order 17', { stream: 'stderr', instance: 'a1b2c3d4' }));
  c.store.write(line('GET /api/orders/17 200 in 12ms', { instance: 'a1b2c3d4' }));

  const browser = await launch(t);
  if (!browser) return;
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${c.url}/#logs`);
  await waitRows(page, (m) => m.length === 3, 'all three lines shown');
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Live');

  // History pages without an instance filter answer 1.5 s late, so the first of two quick filter
  // changes gets its answer after the second one's.
  let delayed = 0;
  await page.route(
    (url) => url.pathname === '/api/logs' && !url.searchParams.has('instance'),
    async (route) => {
      delayed++;
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue().catch(() => undefined);
    },
  );
  await page.selectOption('#level', 'warn');
  await page.selectOption('#instance', 'a1b2c3d4');
  await waitRows(page, (m) => m.length === 1, 'the newest filter answered');
  await page.waitForTimeout(2000); // the older answer arrives meanwhile
  assert.equal(delayed, 1, 'the older request was made and answered late');
  assert.deepEqual(await rows(page), ['ERROR payment declined for order 17'], 'the late answer is not shown');
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Live');

  // Only the newest filter's stream is open: a live line is shown once, and others not at all.
  c.store.write(line('ERROR from another instance', { instance: 'e5f6a7b8' }));
  c.store.write(line('ERROR live once', { instance: 'a1b2c3d4' }));
  await waitRows(page, (m) => m.at(-1) === 'ERROR live once', 'the live line arrives');
  await page.waitForTimeout(500);
  assert.deepEqual(await rows(page), ['ERROR payment declined for order 17', 'ERROR live once']);
  assert.deepEqual(pageErrors, []);
});
