import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { escapeControls, inertJson, jsonForTerminal } from '../../src/lib/terminal-text.js';
import { startTestConsole } from '../console/helpers.js';
import { line } from '../logs/helpers.js';

/** Issue 10 item 9: log text printed to a terminal has its C0 and C1 controls escaped. */

const berth = new URL('../../bin/berth', import.meta.url).pathname;

/** What a hostile app prints: a CR and a forged line of another site, a window title, a C1 CSI, DEL. */
const HOSTILE =
  'ok\r2026-01-01T00:00:00.000Z web/production/i9 application ERROR forged\x1b]0;owned\x07\x9b31mred\x7f\nnext';

/** Control characters a terminal acts on: all of C0 but tab and newline, DEL, C1. */
// eslint-disable-next-line no-control-regex -- control characters are what is matched
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

test('escapeControls writes C0 (but tab) and C1 controls as visible escapes; newlines only when asked', () => {
  assert.equal(
    escapeControls(HOSTILE),
    'ok\\r2026-01-01T00:00:00.000Z web/production/i9 application ERROR forged\\x1b]0;owned\\x07\\x9b31mred\\x7f\\nnext',
  );
  assert.equal(escapeControls('a\tb\nc\r', { keepNewlines: true }), 'a\tb\nc\\r');
  assert.equal(escapeControls('plain text, é and ✓'), 'plain text, é and ✓');
  const json = jsonForTerminal({ message: HOSTILE });
  assert.doesNotMatch(json, ACTIVE);
  assert.deepEqual(JSON.parse(json), { message: HOSTILE }, 'the JSON still means the same');
  assert.equal(inertJson('"\u009b"'), '"\\u009b"');
});

async function firstLine(args: string[]): Promise<string> {
  const child = spawn(berth, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('latin1');
        if (out.includes('\n')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`berth exited with ${code} before a line: ${out}`)));
    });
  } finally {
    child.kill('SIGTERM');
  }
  return out;
}

test('berth webapp log tail prints a hostile line inert, as text and as JSON', async (t) => {
  const c = await startTestConsole();
  t.after(c.close);
  c.store.write(line(HOSTILE, { instance: 'i3' }));
  const args = ['webapp', 'log', 'tail', '--console-url', c.url, '--tail', '1', '--instance', 'i3'];

  const text = await firstLine(args);
  // Read as bytes (latin1): a C1 control would be the UTF-8 bytes C2 80-9F.
  // eslint-disable-next-line no-control-regex -- control characters are what is matched
  assert.doesNotMatch(text.slice(0, -1), /[\u0000-\u0008\u000a-\u001f\u007f]|\u00c2[\u0080-\u009f]/);
  assert.equal(text.split('\n').length, 2, 'one record, one line');
  assert.match(
    text,
    /api\/production\/i3 application ERROR ok\\r2026-.* forged\\x1b\]0;owned\\x07\\x9b31mred\\x7f\\nnext\n$/,
  );

  const json = await firstLine([...args, '--output', 'json']);
  // eslint-disable-next-line no-control-regex -- control characters are what is matched
  assert.doesNotMatch(json.slice(0, -1), /[\u0000-\u001f\u007f]|\u00c2[\u0080-\u009f]/);
  assert.equal(
    (JSON.parse(Buffer.from(json, 'latin1').toString('utf8')) as { message: string }).message,
    HOSTILE,
  );
});
