import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectLevel } from '../../src/logs/levels.js';

test('level comes from JSON keys: level, @l, severity, log.level, pino numbers', () => {
  assert.equal(detectLevel('{"level":"warn","msg":"slow"}'), 'warn');
  assert.equal(detectLevel('{"@l":"Error","@mt":"boom"}'), 'error');
  assert.equal(detectLevel('{"severity":"DEBUG","message":"x"}'), 'debug');
  assert.equal(detectLevel('{"log.level":"fatal"}'), 'fatal');
  assert.equal(detectLevel('{"log":{"level":"warning"}}'), 'warn');
  assert.equal(detectLevel('{"level":50,"msg":"pino error"}'), 'error');
  assert.equal(
    detectLevel('{"level":30,"msg":"pino info"}', 'stderr'),
    'info',
    'a JSON level beats the stderr default',
  );
});

test('level comes from the text: prefixes, brackets, logfmt, .NET, Python, klog', () => {
  assert.equal(detectLevel('ERROR something broke'), 'error');
  assert.equal(detectLevel('warn: disk almost full'), 'warn');
  assert.equal(detectLevel('[INFO] server ready'), 'info');
  assert.equal(detectLevel('2026-11-26T12:00:00.123Z ERROR db down'), 'error');
  assert.equal(detectLevel('12:00:01 app [DEBUG] cache miss'), 'debug');
  assert.equal(detectLevel('ts=1 level=error msg="x"'), 'error');
  assert.equal(detectLevel('fail: Microsoft.AspNetCore[1] unhandled'), 'error');
  assert.equal(detectLevel('crit: Program[0] host terminated'), 'fatal');
  assert.equal(detectLevel('INFO:root:started'), 'info');
  assert.equal(detectLevel('E0806 12:34:56.789012 1 main.go:10] failed'), 'error');
  assert.equal(detectLevel('something happened: WARNING retrying'), 'warn');
});

test('plain lines default by stream; ambiguous or lower-case prose is not a level', () => {
  assert.equal(detectLevel('GET /api/orders 200 12ms'), 'info');
  assert.equal(detectLevel('GET /api/orders 200 12ms', 'stderr'), 'error');
  assert.equal(
    detectLevel('no errors found in 3 files'),
    'info',
    'lower-case "errors" in prose is not a level',
  );
  assert.equal(
    detectLevel('[INFO] retry after [ERROR] earlier', 'stdout'),
    'info',
    'line start wins over later brackets',
  );
  assert.equal(detectLevel('{not json', 'stderr'), 'error');
});
