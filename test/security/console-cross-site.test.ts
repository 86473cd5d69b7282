// Issue 10, item 4: the console's API refuses cross-site simple requests. An `<img>` on any hosted
// site makes the browser send a GET with no Origin header, which the Host/Origin check cannot see.
// Headless Chromium (Debian's /usr/bin/chromium through playwright-core) loads such a page; on the old
// code the image loaded and the API route ran.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import type { ConsolePlugin } from '../../src/console/index.js';
import { fakeSitesPlugin, rawGet, startTestConsole } from '../console/helpers.js';
import { line } from '../logs/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** A console API route that records who reached it and answers an image, as an `<img>` wants. */
function probePlugin(hits: Array<Record<string, unknown>>): ConsolePlugin {
  return (app) => {
    app.get('/api/probe', async (request, reply) => {
      hits.push({ ...request.headers });
      return reply.type('image/gif').send(GIF);
    });
  };
}

/** Another site: one page whose `<img>` points at the console. */
async function attackerSite(t: TestContext, target: string): Promise<number> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><img id="probe" src="${target}">`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

async function launch(t: TestContext, extraArgs: string[] = []): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    t.skip('chromium not installed: apt-get install chromium');
    return undefined;
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', ...extraArgs],
  });
  t.after(() => browser.close());
  return browser;
}

/** Loads the page and resolves with how its image ended: 'load' or 'error'. */
async function imageOutcome(browser: Browser, pageUrl: string): Promise<string> {
  const page = await browser.newPage();
  try {
    await page.goto(pageUrl);
    return await page.$eval('#probe', (img) =>
      (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0
        ? 'load'
        : new Promise<string>((resolve) => {
            img.addEventListener('load', () => resolve('load'));
            img.addEventListener('error', () => resolve('error'));
            if ((img as HTMLImageElement).complete) resolve('error');
          }),
    );
  } finally {
    await page.close();
  }
}

test('an <img> on a hosted site (cross-site or same-site) cannot reach the console API; the page still streams', async (t) => {
  const browser = await launch(t);
  if (!browser) return;
  const hits: Array<Record<string, unknown>> = [];
  const c = await startTestConsole({ plugins: [fakeSitesPlugin(), probePlugin(hits)] });
  t.after(c.close);
  const port = new URL(c.url).port;

  // Cross-site: a site on 127.0.0.1:<other> pointing at the console by its localhost name.
  const cross = await attackerSite(t, `http://localhost:${port}/api/probe`);
  assert.equal(await imageOutcome(browser, `http://127.0.0.1:${cross}/`), 'error');
  // Same-site: hosted sites on localhost:<port> are the same site as a console on localhost.
  const same = await attackerSite(t, `http://localhost:${port}/api/probe`);
  assert.equal(await imageOutcome(browser, `http://localhost:${same}/`), 'error');
  assert.deepEqual(hits, [], 'the route never ran');

  // The console's own page: its fetches and its live stream (EventSource, same-origin) work.
  const page = await browser.newPage();
  t.after(() => page.close());
  await page.goto(`http://localhost:${port}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Live');
  c.store.write(line('a line for the live stream'));
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('#lines td.msg')).some(
      (td) => td.textContent === 'a line for the live stream',
    ),
  );
  // The page, loaded from the address bar, reaches the probe too (Sec-Fetch-Site: none).
  const direct = await browser.newPage();
  t.after(() => direct.close());
  assert.equal((await direct.goto(`http://localhost:${port}/api/probe`))!.status(), 200);
  assert.equal(hits.length, 1);
  assert.equal(hits[0]!['sec-fetch-site'], 'none');
});

test('API requests: Sec-Fetch-Site other than same-origin/none is refused; without it X-Requested-By is required', async (t) => {
  const c = await startTestConsole();
  t.after(c.close);
  const host = new URL(c.url).host;
  const api = `${c.url}/api/logs`;
  const status = async (headers: Record<string, string | undefined>) =>
    (await rawGet(api, { host, ...headers })).status;

  assert.equal(await status({ 'x-requested-by': undefined }), 403, 'no header, no Sec-Fetch-Site');
  const refused = await rawGet(api, { host, 'x-requested-by': undefined });
  assert.match(JSON.parse(refused.body).detail, /needs an X-Requested-By header/);
  assert.equal(await status({}), 200, 'X-Requested-By: berth (curl, the CLI)');
  assert.equal(
    await status({ 'sec-fetch-site': 'cross-site' }),
    403,
    'the custom header does not excuse a cross-site request',
  );
  assert.equal(await status({ 'sec-fetch-site': 'same-site', 'x-requested-by': undefined }), 403);
  assert.equal(await status({ 'sec-fetch-site': 'bogus' }), 403);
  assert.equal(
    await status({ 'sec-fetch-site': 'same-origin', 'x-requested-by': undefined }),
    200,
    'EventSource',
  );
  assert.equal(await status({ 'sec-fetch-site': 'none', 'x-requested-by': undefined }), 200, 'address bar');
  // Kudu's stream and unknown paths too (fail closed); the page and its assets load from anywhere.
  for (const path of ['/api/logstream', '/logstream', '/api/nope', '//api/logs']) {
    assert.equal((await rawGet(`${c.url}${path}`, { host, 'x-requested-by': undefined })).status, 403, path);
  }
  for (const path of ['/', '/assets/app.js']) {
    assert.equal(
      (await rawGet(`${c.url}${path}`, { host, 'sec-fetch-site': 'cross-site' })).status,
      200,
      path,
    );
  }
});

test('the page streams live where the browser sends no Sec-Fetch-Site (plain HTTP on a non-loopback name)', async (t) => {
  // scm.example resolves to the console's loopback address inside this browser only; plain HTTP to a
  // name that is not loopback is not a "potentially trustworthy" origin, so Chromium sends no
  // Sec-Fetch-* headers there. EventSource (no custom headers) would be refused; the page's
  // fetch-based stream sends X-Requested-By.
  const browser = await launch(t, ['--host-resolver-rules=MAP scm.example 127.0.0.1']);
  if (!browser) return;
  const c = await startTestConsole({ console: { allowedHosts: ['scm.example'] } });
  t.after(c.close);
  const port = new URL(c.url).port;
  const page = await browser.newPage();
  t.after(() => page.close());
  const streamRequests: Array<Promise<Record<string, string>>> = [];
  page.on('request', (request) => {
    // allHeaders(): headers() leaves out security-related ones such as Sec-Fetch-*.
    if (request.url().includes('/api/logs/stream')) streamRequests.push(request.allHeaders());
  });
  await page.goto(`http://scm.example:${port}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Live');
  c.store.write(line('live without Sec-Fetch-Site'));
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('#lines td.msg')).some(
      (td) => td.textContent === 'live without Sec-Fetch-Site',
    ),
  );
  assert.equal(streamRequests.length, 1);
  const sent = await streamRequests[0]!;
  assert.equal(sent['x-requested-by'], 'berth');
  assert.equal(sent['sec-fetch-site'], undefined, 'the case this test is about');
  // Over loopback the same browser does send it (so the assertion above could fail).
  const direct = await page.goto(`http://127.0.0.1:${port}/api/health`);
  assert.equal((await direct!.request().allHeaders())['sec-fetch-site'], 'none');
});
