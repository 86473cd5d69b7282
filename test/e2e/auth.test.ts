/**
 * Built-in authentication as a user runs it: `berth up` with a site whose auth names an OpenID
 * provider (oidc-provider on loopback, in this test's process). The provider's keys are fetched
 * once, at start; the MCP endpoint answers the 401 challenge, serves PRM, and filters tools by scope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { modernRequest } from '../mcp/helpers.js';
import { CLIENTS, startProvider } from '../auth/support/provider.js';

test('berth up: auth from berth.yaml, keys fetched at start, PRM and the 401 challenge, scoped tools', async (t) => {
  const provider = await startProvider();
  const dir = mkdtempSync(join(tmpdir(), 'berth-auth-e2e-'));
  const config = join(dir, 'berth.yaml');
  writeFileSync(
    config,
    `
dataDir: ${dir}/data
registry: { enabled: false }
console: { enabled: false }
frontdoor:
  listen: 127.0.0.1:0
  routers: [{ host: 127.0.0.1, site: secure }]
sites:
  - name: secure
    root: ${resolve('examples/sites/secure-mcp')}
    command: node server.mjs
    appSettings: { WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES: 'mcp:access' }
    mcp: { enabled: true, spec: /openapi.json, scopes: { read_secret_metadata: tools:secrets } }
    auth:
      platform: { enabled: true }
      globalValidation: { requireAuthentication: true, unauthenticatedClientAction: Return401 }
      identityProviders:
        customOpenIdConnectProviders:
          test:
            registration:
              clientId: ${CLIENTS.site.id}
              openIdConnectConfiguration: { issuer: '${provider.issuer}' }
`,
  );
  const child = spawn(resolve('bin/berth'), ['up', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let origin = '';
  await new Promise<void>((ready, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^frontdoor\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) origin = match[1]!;
      if (line === 'ready') ready();
    });
    void exited.then(() => fail(new Error(`berth up exited:\n${output}`)));
  });
  assert.equal(provider.jwksFetches(), 1, 'the keys were fetched at start');

  const prm = (await (await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`)).json()) as {
    resource: string;
    authorization_servers: string[];
  };
  assert.equal(prm.resource, `${origin}/mcp`);
  assert.deepEqual(prm.authorization_servers, [provider.issuer]);

  const anonymous = await modernRequest(`${origin}/mcp`, 'tools/list');
  assert.equal(anonymous.status, 401);
  assert.match(
    anonymous.headers.get('www-authenticate') ?? '',
    /resource_metadata=".*\/mcp", scope="mcp:access"/,
  );

  const token = await provider.clientToken(CLIENTS.site.id, `${origin}/mcp`, 'mcp:access');
  const list = await modernRequest(`${origin}/mcp`, 'tools/list', {}, { authorization: `Bearer ${token}` });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual((list.json?.result?.tools as { name: string }[]).map((tool) => tool.name).sort(), [
    'safe_lookup',
    'whoami',
  ]);
  const who = await modernRequest(
    `${origin}/mcp`,
    'tools/call',
    { name: 'whoami', arguments: {} },
    { authorization: `Bearer ${token}` },
  );
  assert.match(who.text, /\\"authenticated\\":true/);
  assert.equal(provider.jwksFetches(), 1, 'and not again for any request');
  assert.ok(!output.includes(token), 'the token is in no log line');
});
