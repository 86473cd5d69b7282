import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { tempDir } from '../support/temp.js';

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

test('berth config validate prints the effective settings in text mode too, as YAML, secrets redacted', () => {
  const dir = tempDir('berth-validate-');
  const file = join(dir, 'berth.yaml');
  writeFileSync(
    file,
    'sites:\n  - { name: api, command: node a.js, appSettings: { DB_PASSWORD: hunter2 } }\nregistry:\n  metadata: { driver: postgres, url: "postgres://u:s3cret@127.0.0.1/db" }\n',
  );
  const env = { ...process.env, BERTH_FRONTDOOR__LISTEN: '127.0.0.1:9999' };
  const text = execFileSync(berth, ['config', 'validate', file], { encoding: 'utf8', env });
  assert.match(text, new RegExp(`^# ${file}: valid; the effective settings`));
  const shown = parse(text) as {
    frontdoor: { listen: string };
    sites: Array<{ port: string; appSettings: object }>;
  };
  assert.equal(shown.frontdoor.listen, '127.0.0.1:9999', 'with the override applied');
  assert.equal(shown.sites[0]!.port, 'auto', 'defaults filled in');
  assert.deepEqual(shown.sites[0]!.appSettings, { DB_PASSWORD: '[redacted]' });
  const json = execFileSync(berth, ['config', 'validate', file, '--output', 'json'], {
    encoding: 'utf8',
    env,
  });
  for (const output of [text, json]) {
    assert.doesNotMatch(output, /hunter2|s3cret/, 'no secret is printed');
  }
  assert.equal(JSON.parse(json).valid, true);
});
