import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';

const berth = new URL('../../bin/berth', import.meta.url).pathname;

/** The full --help text of a command, as the user sees it (including the "Example:" section). */
function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

function* walk(command: Command, path: string[] = []): Generator<[string[], Command]> {
  yield [path, command];
  for (const sub of command.commands) yield* walk(sub, [...path, sub.name()]);
}

test('berth --help from the binary lists the command groups and an example', () => {
  const page = execFileSync(berth, ['--help'], { encoding: 'utf8' });
  for (const group of ['up', 'config', 'registry', 'webapp', 'mcp'])
    assert.match(page, new RegExp(`\\n  ${group}\\b`));
  assert.match(page, /\nExamples?:\n {2}\$ berth /);
});

test('every subcommand --help shows an example', () => {
  const all = [...walk(buildProgram())];
  assert.ok(all.length >= 20, `found only ${all.length} commands`);
  for (const [path, command] of all) {
    assert.match(
      helpOf(command),
      /\nExamples?:\n {2}\$ berth /,
      `berth ${path.join(' ')} --help has no example`,
    );
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
