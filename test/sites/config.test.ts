import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.js';

async function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sites-config-'));
  try {
    await writeFile(join(dir, 'berth.yaml'), yaml);
    return loadConfig(join(dir, 'berth.yaml'), env);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function problems(yaml: string): Promise<string[]> {
  try {
    await load(yaml);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail('expected the config to be refused');
}

test('sites and frontdoor sections: defaults as App Service, durations, slots, routers', async () => {
  const { config } = await load(`
sites:
  - name: api
    command: node server.mjs
    slots: [{ name: staging }]
frontdoor:
  routers: [{ pathPrefix: /orders, site: api }]
`);
  const site = config.sites[0]!;
  assert.equal(site.startTimeLimit, 230_000);
  assert.equal(site.warmupPath, '/robots933456.txt');
  assert.equal(site.instances, 1);
  assert.equal(site.loadBalancing, 'round-robin');
  assert.deepEqual(site.slots, [{ name: 'staging', appSettings: {}, port: 'auto' }]);
  assert.equal(config.frontdoor.responseTimeout, 230_000);
  assert.equal(config.frontdoor.routers[0]!.stripPrefix, false);
  const overridden = await load('sites: [{ name: api, command: x }]\n', {
    BERTH_SITES__0__START_TIME_LIMIT: '45s',
    BERTH_FRONTDOOR__CONNECT_TIMEOUT: '1s',
  });
  assert.equal(overridden.config.sites[0]!.startTimeLimit, 45_000);
  assert.equal(overridden.config.frontdoor.connectTimeout, 1000);
});

test('bad site settings fail with the key path and the reason', async () => {
  assert.deepEqual(await problems('sites: [{ name: My_Site, command: x }]'), [
    'sites.0.name: must be 1-60 lowercase letters, digits or hyphens, not starting or ending with a hyphen',
  ]);
  assert.match(
    (await problems('sites: [{ name: api, command: x, startTimeLimit: forever }]'))[0]!,
    /^sites\.0\.startTimeLimit: expected a duration/,
  );
  assert.match(
    (await problems('sites: [{ name: api, command: x, startTimeLimit: 2h }]'))[0]!,
    /^sites\.0\.startTimeLimit: must be between 100ms and 1800s/,
  );
  assert.match(
    (await problems('sites: [{ name: api, command: x, slots: [{ name: production }] }]'))[0]!,
    /^sites\.0\.slots\.0\.name: production is the main slot/,
  );
  assert.match(
    (await problems('sites: [{ name: api, command: x, appSettings: { "BAD-NAME": v } }]'))[0]!,
    /^sites\.0\.appSettings\.BAD-NAME: must be a valid environment variable name/,
  );
  assert.match(
    (await problems('sites: [{ name: api, command: x, warmupPath: robots.txt }]'))[0]!,
    /^sites\.0\.warmupPath: must be a path starting with \//,
  );
  assert.match(
    (await problems('sites: [{ name: api, command: x, loadBalancing: random }]'))[0]!,
    /^sites\.0\.loadBalancing: /,
  );
  assert.match(
    (await problems('frontdoor: { routers: [{ site: api }] }'))[0]!,
    /^frontdoor\.routers\.0: a router needs a host, a pathPrefix or both/,
  );
  assert.match(
    (await problems('sites: [{ name: api, command: x, instances: 0 }]'))[0]!,
    /^sites\.0\.instances: /,
  );
});
