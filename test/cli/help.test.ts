import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const berth = new URL('../../bin/berth', import.meta.url).pathname;

function help(args: string[]): string {
  return execFileSync(berth, [...args, '--help'], { encoding: 'utf8' });
}

/** Lists subcommand paths from a --help page, recursing into groups. */
function commandsOf(path: string[]): string[][] {
  const page = help(path);
  const section = page.split(/\nCommands:\n/)[1]?.split(/\n\n/)[0] ?? '';
  return section
    .split('\n')
    .map((line) => /^ {2}([a-z][a-z0-9-]*)/.exec(line)?.[1])
    .filter((name): name is string => !!name && name !== 'help')
    .flatMap((name) => [[...path, name], ...commandsOf([...path, name])]);
}

test('berth --help and every subcommand --help show an example', () => {
  const all = [[], ...commandsOf([])];
  assert.ok(all.length >= 3, `found commands: ${all.map((c) => c.join(' ')).join(', ')}`);
  for (const path of all) {
    assert.match(help(path), /\nExamples?:\n {2}\$ berth /, `berth ${path.join(' ')} --help has no example`);
  }
});

test('berth config validate reports a bad file with the key path and exits 1', () => {
  try {
    execFileSync(berth, ['config', 'validate', '/nonexistent.yaml'], { encoding: 'utf8', stdio: 'pipe' });
    assert.fail('expected exit 1');
  } catch (error) {
    const e = error as { status: number; stderr: string };
    assert.equal(e.status, 1);
    assert.match(e.stderr, /cannot read the file/);
  }
});
