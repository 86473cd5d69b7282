// The console with the real sites API (src/sites sitesApi) mounted as a plugin, and real site
// processes writing to the real log store: app stdout and platform events reach /api/logs, startup
// logs and their hints reach the console API and `berth webapp log startup show`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { consoleSchema } from '../../src/config/console.js';
import { configSchema } from '../../src/config/schema.js';
import { startConsole } from '../../src/console/index.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createSiteManager, sitesApi, type SiteStatus } from '../../src/sites/index.js';
import { consoleHeaders } from '../console/helpers.js';
import { tempStore } from '../logs/helpers.js';

const berth = new URL('../../bin/berth', import.meta.url).pathname;
const HELLO = `node -e "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, () => console.log('hello listening on ' + process.env.PORT)); console.error('warn: cache cold')"`;
const WRONG_PORT = `node -e "console.log('listening on 3000'); setInterval(() => {}, 1000)"`;

test('real sites write through the store to the console: app lines, platform events, startup logs with hints', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-console-sites-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logs = tempStore();
  t.after(logs.cleanup);
  const config = configSchema.parse({
    sites: [
      { name: 'hello', command: HELLO, startTimeLimit: '20s' },
      { name: 'wrongport', command: WRONG_PORT, startTimeLimit: '1500ms' },
    ],
  });
  const manager = createSiteManager({
    config,
    baseDir: dir,
    dataDir: dir,
    logSink: logs.store,
    logger: silentLogger,
    backoffBaseMs: 600_000,
    backoffMaxMs: 600_000,
  });
  t.after(() => manager.stop());
  await manager.start().catch(() => undefined);
  await manager.waitUntilReady(30_000, ['hello']).catch(() => undefined);
  const service = await startConsole({
    config: consoleSchema.parse({ listen: '127.0.0.1:0' }),
    logStore: logs.store,
    plugins: [(app) => app.register(sitesApi, { manager })],
  });
  t.after(() => service.close());
  const url = service.urls[0]!.replace(/\/$/, '');

  const sites = (await (await fetch(`${url}/api/sites`, { headers: consoleHeaders })).json()) as SiteStatus[];
  const hello = sites.find((s) => s.name === 'hello')!;
  assert.equal(hello.slots[0]!.instances[0]!.state, 'running');

  const until = async <T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> => {
    const end = Date.now() + 30_000;
    for (;;) {
      const value = await get();
      if (ok(value)) return value;
      if (Date.now() > end) assert.fail(`${what}: ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const appLines = await until(
    async () =>
      (
        (await (
          await fetch(`${url}/api/logs?site=hello&type=application`, { headers: consoleHeaders })
        ).json()) as {
          entries: Array<{ message: string; level: string; stream?: string }>;
        }
      ).entries,
    (entries) =>
      entries.some((e) => /hello listening on \d+/.test(e.message)) &&
      entries.some((e) => e.message === 'warn: cache cold'),
    'the app output reaches the store',
  );
  assert.equal(
    appLines.find((e) => e.message === 'warn: cache cold')!.level,
    'warn',
    'stderr line with a level word keeps it',
  );
  const platform = (
    (await (await fetch(`${url}/api/logs?site=hello&type=platform`, { headers: consoleHeaders })).json()) as {
      entries: unknown[];
    }
  ).entries;
  assert.ok(platform.length > 0, 'platform events are stored');

  const failures = await until(
    async () =>
      (
        (await (
          await fetch(`${url}/api/startuplogs?site=wrongport&outcome=failure`, { headers: consoleHeaders })
        ).json()) as {
          files: Array<{ name: string }>;
        }
      ).files,
    (files) => files.length > 0,
    'a failure startup log for wrongport',
  );
  assert.match(failures[0]!.name, /^\d{4}_\d{2}_\d{2}_.+_failure\.log$/);
  const { stdout } = await promisify(execFile)(berth, [
    'webapp',
    'log',
    'startup',
    'show',
    '--console-url',
    url,
    '--name',
    'wrongport',
  ]);
  assert.match(stdout, /HINT: Wrong port: .*listens on 3000/);
  const hints = (
    (await (await fetch(`${url}/api/logs?site=wrongport&q=HINT`, { headers: consoleHeaders })).json()) as {
      entries: Array<{ type: string }>;
    }
  ).entries;
  assert.ok(
    hints.length > 0 && hints.every((e) => e.type === 'platform'),
    'hints are platform log lines too',
  );
});
