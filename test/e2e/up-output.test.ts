/**
 * What `berth up` prints: JSON records when its output is piped (each key once), human lines on a
 * terminal (a pseudo-terminal from util-linux `script`) or with --log-format pretty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseDocument } from 'yaml';
import { tempDir } from '../support/temp.js';

const berth = resolve('bin/berth');

function config(): string {
  const dir = tempDir('berth-up-output-');
  const file = join(dir, 'berth.yaml');
  writeFileSync(
    file,
    `dataDir: ${dir}/data
registry: { listen: 127.0.0.1:0 }
frontdoor: { listen: 127.0.0.1:0 }
console: { listen: 127.0.0.1:0 }
`,
  );
  return file;
}

/** Runs `command` until a line matching `last` is printed, then stops it; returns every line. */
async function linesUntil(command: string, args: string[], last: RegExp): Promise<string[]> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BERTH_LOG_LEVEL: 'info' },
  });
  const exited = new Promise((done) => child.once('exit', done));
  const lines: string[] = [];
  const reader = createInterface({ input: child.stdout! });
  await new Promise<void>((done, fail) => {
    reader.on('line', (line) => {
      lines.push(line);
      if (last.test(line)) done();
    });
    void exited.then(() => fail(new Error(`exited before ${last}:\n${lines.join('\n')}`)));
  });
  child.kill('SIGKILL'); // its whole group: `script` and the berth under it
  await exited;
  return lines;
}

test('piped: JSON records, every key once (the console is tagged once, not by berth up and again by itself)', async () => {
  const lines = await linesUntil(berth, ['up', '--config', config()], /"msg":"console listening"/);
  const records = lines.filter((l) => l.startsWith('{'));
  assert.ok(records.length >= 4, lines.join('\n'));
  for (const line of records) {
    // YAML 1.2 reads JSON and refuses a mapping with a key twice; JSON.parse would keep the last.
    const doc = parseDocument(line, { uniqueKeys: true });
    assert.deepEqual(doc.errors, [], `duplicate key in ${line}`);
  }
  assert.ok(records.some((l) => /"part":"console".*"msg":"Server listening at/.test(l)));
});

test('--log-format pretty: one human line per record, time with milliseconds, part and message', async () => {
  const lines = await linesUntil(
    berth,
    ['up', '--config', config(), '--log-format', 'pretty'],
    /console listening/,
  );
  assert.ok(
    lines.some((l) =>
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: console: console listening \{"url":"http:\/\/127\.0\.0\.1:\d+\/"\}$/.test(
        l,
      ),
    ),
    lines.join('\n'),
  );
  assert.ok(!lines.some((l) => l.startsWith('{')), 'no JSON');
});

const hasScript = spawnSync('script', ['--version']).status === 0;

test(
  'on a terminal, by default: human lines',
  { skip: hasScript ? false : 'util-linux script (a pseudo-terminal) is not installed' },
  async () => {
    const lines = await linesUntil(
      'script',
      ['-qfec', `${berth} up --config ${config()}`, '/dev/null'],
      /console listening/,
    );
    // eslint-disable-next-line no-control-regex -- the terminal colour codes pino-pretty writes
    const plain = lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
    assert.ok(
      plain.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: registry: registry listening/.test(l)),
      plain.join('\n'),
    );
    assert.ok(!plain.some((l) => l.startsWith('{"level"')), 'no JSON on a terminal');
  },
);
