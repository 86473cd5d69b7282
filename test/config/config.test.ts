import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { tempDir } from '../support/temp.js';

function file(text: string): string {
  const path = join(tempDir('berth-config-'), 'berth.yaml');
  writeFileSync(path, text);
  return path;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail('expected the config to be refused');
}

test('an empty file is valid and every setting has a default', () => {
  const { config, baseDir } = loadConfig(file(''), {});
  assert.equal(config.registry.listen, '127.0.0.1:5000');
  assert.equal(config.registry.maxManifestBytes, 4 * 1024 * 1024);
  assert.equal(config.frontdoor.listen, '127.0.0.1:8080');
  assert.deepEqual(config.sites, []);
  assert.equal(config.dataDir, join(baseDir, '.berth'));
});

test('a bad value fails with the key path and the reason', () => {
  const problems = problemsOf(() => loadConfig(file('registry:\n  listen: nowhere\n'), {}));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^registry\.listen: expected host:port/);
});

test('an unknown key fails naming the key', () => {
  const problems = problemsOf(() => loadConfig(file('registry:\n  lisen: 127.0.0.1:1\n'), {}));
  assert.match(problems[0]!, /registry: unknown key "lisen"/);
});

test('site problems name the index and field; duplicate names are refused', () => {
  const problems = problemsOf(() =>
    loadConfig(
      file(
        'sites:\n  - {name: api, command: node a.js}\n  - {name: api, command: node b.js}\n  - {name: Bad_Name, command: x}\n',
      ),
      {},
    ),
  );
  assert.ok(
    problems.some((p) => p.startsWith('sites.2.name: must be')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p === 'sites.1.name: duplicate site name "api"'),
    problems.join('\n'),
  );
});

test('site ports: a number or auto (the default); two sites or slots on one port are refused', () => {
  const problems = problemsOf(() =>
    loadConfig(
      file(
        'sites:\n  - {name: a, command: x, port: 8081, slots: [{name: staging, port: 8082}]}\n  - {name: b, command: x, port: 8082}\n  - {name: c, command: x, port: 70000}\n',
      ),
      {},
    ),
  );
  assert.ok(
    problems.includes('sites.1.port: port 8082 is already the port of a slot staging'),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('sites.2.port:')),
    problems.join('\n'),
  );
  const { config } = loadConfig(file('sites:\n  - {name: a, command: x}\n'), {});
  assert.equal(config.sites[0]!.port, 'auto');
});

test('malformed YAML and a missing file are reported, not thrown raw', () => {
  assert.match(problemsOf(() => loadConfig(file('registry: [\n'), {}))[0]!, /^YAML:/);
  assert.match(
    problemsOf(() => loadConfig('/nonexistent/berth.yaml', {}))[0]!,
    /cannot read the file: ENOENT/,
  );
});

test('BERTH_* environment variables override single settings, typed from YAML scalars', () => {
  const env = {
    BERTH_REGISTRY__LISTEN: '127.0.0.1:5999',
    BERTH_REGISTRY__MAX_MANIFEST_BYTES: '1MiB',
    BERTH_SITES__0__INSTANCES: '3',
    BERTH_LOG__LEVEL: 'warn',
  };
  const { config } = loadConfig(file('sites:\n  - {name: api, command: node a.js}\n'), env);
  assert.equal(config.registry.listen, '127.0.0.1:5999');
  assert.equal(config.registry.maxManifestBytes, 1024 * 1024);
  assert.equal(config.sites[0]!.instances, 3);
  assert.equal(config.log.level, 'warn');
});

test('an override for a setting that does not exist fails, and a bad override value names the key', () => {
  assert.match(
    problemsOf(() => loadConfig(file(''), { BERTH_REGISTRY__NOPE: '1' }))[0]!,
    /BERTH_REGISTRY__NOPE: no setting/,
  );
  assert.match(problemsOf(() => loadConfig(file(''), { BERTH_SITES__0__INSTANCES: '0' }))[0]!, /^sites\.0/);
});
