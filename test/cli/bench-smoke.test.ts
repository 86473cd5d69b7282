// A short run of `npm run bench:cli` (one round): it starts both builds and prints its table.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

test('bench:cli runs compiled and tsx side by side and prints the ratios', () => {
  const out = execFileSync(process.execPath, ['bench/cli/startup.mjs', '--runs', '1'], {
    cwd: root,
    encoding: 'utf8',
  });
  for (const mode of ['compiled', 'tsx'])
    assert.match(out, new RegExp(`^${mode} +\\d+ +\\d+ +\\d+\\.\\d$`, 'm'), `a row for ${mode}`);
  assert.match(out, /^compiled \/ tsx: --help \d+\.\d\dx, ready \d+\.\d\dx, RSS \d+\.\d\dx$/m);
});
