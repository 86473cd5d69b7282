import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harness, processesWithEnv, until } from './helpers.js';

/**
 * An app that needs a second to flush on SIGTERM (its own timer: the app's behaviour, not the test's
 * clock). It counts the SIGTERMs it gets and says so on stdout, then writes "flushed" and exits.
 */
const FLUSHING_APP = `
import { createServer } from 'node:http';
let terms = 0;
createServer((_req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  terms++;
  console.log('SIGTERM number ' + terms);
  if (terms === 1) setTimeout(() => { console.log('flushed after ' + terms + ' SIGTERM'); process.exit(0); }, 1000);
});
`;

/** Every command line /proc shows (any user may read them), NUL-separated arguments joined. */
function commandLines(): string[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ')];
      } catch {
        return [];
      }
    });
}

test('the instance marker is in the environment of the instance processes, in no command line', async (t) => {
  const h = await harness([{ name: 'marked', command: 'node server.mjs', root: 'api' }]);
  t.after(() => h.close());
  const processes = processesWithEnv('WEBSITE_SITE_NAME', 'marked');
  // The group leader (the shell running the command), the watcher and node.
  assert.ok(processes.length >= 3, `leader, watcher and app carry it (${processes.length} found)`);
  const marker = processes[0]!.env.get('BERTH_INSTANCE_MARKER')!;
  assert.match(marker, /^[0-9a-f]{32}$/);
  assert.ok(processes.every((p) => p.env.get('BERTH_INSTANCE_MARKER') === marker));
  assert.deepEqual(
    commandLines().filter((line) => line.includes(marker)),
    [],
  );
});

for (const command of ['node server.mjs', 'echo starting && node server.mjs']) {
  test(`a stop gives an app started as "${command}" one SIGTERM and its grace period: its "flushed" line reaches the log`, async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'berth-graceful-'));
    await writeFile(join(root, 'server.mjs'), FLUSHING_APP);
    const h = await harness([{ name: 'flusher', command, root, stopGracePeriod: '20s' }]);
    t.after(async () => {
      await h.close();
      await rm(root, { recursive: true, force: true });
    });
    await h.manager.stopSite('flusher');
    const app = h.sink.messages({ site: 'flusher', type: 'application' });
    assert.deepEqual(
      app.filter((m) => m.startsWith('SIGTERM') || m.startsWith('flushed')),
      ['SIGTERM number 1', 'flushed after 1 SIGTERM'],
    );
    const platform = h.sink.messages({ site: 'flusher', type: 'platform' });
    assert.ok(!platform.some((m) => /exited .* while running/.test(m)), platform.join('\n'));
    assert.equal(h.manager.siteStatus('flusher').slots[0]!.instances.length, 0);
  });
}

test('a stop while the instance is still warming sends one SIGTERM too', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'berth-graceful-'));
  // Listens but never answers, so the warmup probe is waiting when the stop comes; the flush outlasts
  // the probe's 2 s, after which the warmup loop used to kill the instance a second time.
  await writeFile(
    join(root, 'server.mjs'),
    FLUSHING_APP.replace("(_req, res) => res.end('ok')", "() => console.log('probe received')").replace(
      '1000);',
      '3000);',
    ),
  );
  const h = await harness([{ name: 'warming', command: 'node server.mjs', root, stopGracePeriod: '20s' }], {
    wait: false,
  });
  t.after(async () => {
    await h.close();
    await rm(root, { recursive: true, force: true });
  });
  await until(
    () => h.sink.messages({ site: 'warming', type: 'application' }).includes('probe received'),
    20_000,
    'a warmup probe to reach the app',
  );
  await h.manager.stopSite('warming');
  const app = h.sink.messages({ site: 'warming', type: 'application' });
  assert.deepEqual(
    app.filter((m) => m.startsWith('SIGTERM') || m.startsWith('flushed')),
    ['SIGTERM number 1', 'flushed after 1 SIGTERM'],
  );
});
