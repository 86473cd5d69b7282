// `berth up` on a terminal prints pino-pretty's human lines. pino-pretty decodes the JSON record,
// so controls a site or client sent (`\u001b` in JSON) must be made inert before it formats them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const PRINT = `
const { logStream } = await import('./src/cli/log-format.ts');
const { createLogger } = await import('./src/lib/logger.ts');
createLogger({ stream: await logStream('pretty') })
  .info({ site: 'a\\u001b[31mX' }, 'hello \\u001b]0;pwned\\u0007 \\u009b2J\\nERROR forged');
`;

test('pretty log lines carry no raw control character from the record, and one record is one line', () => {
  // pino-pretty writes to file descriptor 1 itself: a child process's stdout is what it printed.
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PRINT], {
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  const out = child.stdout;
  assert.match(out, /hello \\x1b\]0;pwned\\x07 \\x9b2J\\nERROR forged/);
  assert.match(out, /a\\x1b\[31mX/);
  assert.equal(out.split('\n').length, 2, 'one line, then the newline that ends it');
  // eslint-disable-next-line no-control-regex -- looking for control characters
  assert.doesNotMatch(out.replace(/\n$/, ''), /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/);
});
