import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { modernRequest, post } from '../mcp/helpers.js';
import { authHarness, authSection, EXAMPLE_SITES, type AuthHarness } from './support/site.js';
import { CLIENTS } from './support/provider.js';

// Issue 13, items 5 and 6: the built-in MCP endpoint behind the front door's authentication —
// Protected Resource Metadata, 401 challenges, the RFC 8707 audience, and per-tool scopes in both
// protocol eras (in 2026-07-28 decided from the Mcp-Method/Mcp-Name headers, body unread).

const LEGACY = '2025-11-25';

async function secureMcp(
  t: Parameters<typeof authHarness>[0],
  scopes: Record<string, unknown> = { read_secret_metadata: 'tools:secrets', 'safe_*': ['tools:read'] },
): Promise<AuthHarness & { mcp: string }> {
  const h = await authHarness(
    t,
    {
      name: 'secure',
      root: `${EXAMPLE_SITES}secure-mcp`,
      command: 'node server.mjs',
      appSettings: { WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES: 'mcp:access', DEMO_SECRET: 'hunter2-demo' },
      mcp: {
        enabled: true,
        spec: '/openapi.json',
        scopes,
      },
      auth: (issuer) => authSection(issuer),
    },
    { byAddress: true },
  );
  return { ...h, mcp: `${h.origin}/mcp` };
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** A 2025-11-25 session: initialize, initialized; returns the headers later requests carry. */
async function legacySession(url: string, token: string): Promise<Record<string, string>> {
  const init = await post(
    url,
    {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 't', version: '0' } },
    },
    auth(token),
  );
  assert.equal(init.status, 200, init.text);
  const headers = {
    ...auth(token),
    'mcp-session-id': init.headers.get('mcp-session-id')!,
    'mcp-protocol-version': LEGACY,
  };
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  return headers;
}

const challengeParts = (header: string | null) =>
  Object.fromEntries([...(header ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));

test('PRM at the well-known paths; no token or a token for another resource gets the 401 challenge', async (t) => {
  const h = await secureMcp(t);
  const prm = (await (await fetch(`${h.origin}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<
    string,
    unknown
  >;
  assert.equal(prm.resource, h.mcp);
  assert.deepEqual(prm.authorization_servers, [h.provider.issuer]);
  assert.deepEqual(prm.bearer_methods_supported, ['header']);
  assert.deepEqual(
    new Set(prm.scopes_supported as string[]),
    new Set(['mcp:access', 'tools:secrets', 'tools:read']),
  );
  const root = (await (await fetch(`${h.origin}/.well-known/oauth-protected-resource`)).json()) as {
    resource: string;
  };
  assert.equal(root.resource, h.origin);
  assert.equal((await fetch(`${h.origin}/.well-known/oauth-protected-resource/other`)).status, 404);

  const none = await modernRequest(h.mcp, 'tools/list');
  assert.equal(none.status, 401);
  const challenge = challengeParts(none.headers.get('www-authenticate'));
  assert.equal(challenge.resource_metadata, `${h.origin}/.well-known/oauth-protected-resource/mcp`);
  assert.equal(challenge.scope, 'mcp:access');

  // Tokens the provider issued for other resources: another path of this host, another site.
  for (const resource of [`${h.origin}/elsewhere`, 'http://other.localhost:1/mcp']) {
    const token = await h.provider.clientToken(CLIENTS.site.id, resource);
    const reply = await modernRequest(h.mcp, 'tools/list', {}, auth(token));
    assert.equal(reply.status, 401, resource);
    assert.match(reply.headers.get('www-authenticate') ?? '', /invalid_token.*another audience/);
  }
});

for (const era of ['2025-11-25', '2026-07-28'] as const) {
  test(`per-tool scopes (${era}): tools/list shows only callable tools, tools/call without the scope is 403 insufficient_scope`, async (t) => {
    const h = await secureMcp(t);
    const token = await h.provider.clientToken(CLIENTS.site.id, h.mcp, 'mcp:access tools:read');
    const wide = await h.provider.clientToken(CLIENTS.site.id, h.mcp, 'mcp:access tools:read tools:secrets');
    const ask = async (bearer: string, method: string, params: Record<string, unknown> = {}) => {
      if (era === '2026-07-28') return modernRequest(h.mcp, method, params, auth(bearer));
      const headers = await legacySession(h.mcp, bearer);
      return post(h.mcp, { jsonrpc: '2.0', id: 1, method, params }, headers);
    };
    const list = await ask(token, 'tools/list');
    assert.equal(list.status, 200, list.text);
    const names = (list.json?.result?.tools as { name: string }[]).map((tool) => tool.name).sort();
    assert.deepEqual(names, ['safe_lookup', 'whoami']);

    const who = await ask(token, 'tools/call', { name: 'whoami', arguments: {} });
    assert.equal(who.status, 200, who.text);
    const caller = JSON.parse((who.json?.result?.content as { text: string }[])[0]!.text) as Record<
      string,
      unknown
    >;
    assert.equal(caller.authenticated, true, 'the tool call reached the app with the principal headers');
    assert.equal(caller.id, CLIENTS.site.id);
    assert.equal(caller.idp, 'test');

    const denied = await ask(token, 'tools/call', {
      name: 'read_secret_metadata',
      arguments: { name: 'demo-secret' },
    });
    assert.equal(denied.status, 403, denied.text);
    const challenge = challengeParts(denied.headers.get('www-authenticate'));
    assert.equal(challenge.error, 'insufficient_scope');
    assert.equal(challenge.scope, 'mcp:access tools:secrets');
    assert.equal(challenge.resource_metadata, `${h.origin}/.well-known/oauth-protected-resource/mcp`);

    // Stepped up: the tool is listed and answers, with the secret's length only.
    const wideList = await ask(wide, 'tools/list');
    assert.ok(
      (wideList.json?.result?.tools as { name: string }[]).some(
        (tool) => tool.name === 'read_secret_metadata',
      ),
    );
    const meta = await ask(wide, 'tools/call', {
      name: 'read_secret_metadata',
      arguments: { name: 'demo-secret' },
    });
    assert.equal(meta.status, 200, meta.text);
    assert.ok(!meta.text.includes('hunter2'), 'the value never leaves');
    assert.match(meta.text, /value_length\\":12/);
  });
}

test('2026-07-28: a tools/call without the scope is refused from its headers before the body is read; a lying Mcp-Name is refused too', async (t) => {
  const h = await secureMcp(t);
  const token = await h.provider.clientToken(CLIENTS.site.id, h.mcp, 'mcp:access tools:read');
  // Headers only, and a body that never ends: the answer comes anyway.
  const status = await new Promise<{ status: number; challenge: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: h.frontdoor.port,
        path: '/mcp',
        method: 'POST',
        headers: {
          ...auth(token),
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'content-length': '100000',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'read_secret_metadata',
        },
      },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, challenge: String(res.headers['www-authenticate']) });
        req.destroy();
      },
    );
    req.on('error', reject);
    req.write('{"jsonrpc":"2.0","id":1,');
  });
  assert.equal(status.status, 403);
  assert.match(status.challenge, /insufficient_scope/);

  // The header names an allowed tool, the body another: the body's tool is not called.
  const lying = await post(
    h.mcp,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: {
        name: 'read_secret_metadata',
        arguments: { name: 'demo-secret' },
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    },
    {
      ...auth(token),
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'whoami',
    },
  );
  assert.notEqual(lying.status, 200);
  assert.ok(!lying.text.includes('value_length'), lying.text);
});

test("a tool's OpenAPI security requirements give its scope when sites[].mcp.scopes names none", async (t) => {
  const h = await secureMcp(t, {});
  const narrow = await h.provider.clientToken(CLIENTS.site.id, h.mcp, 'mcp:access');
  const wide = await h.provider.clientToken(CLIENTS.site.id, h.mcp, 'mcp:access tools:secrets');
  const names = async (token: string) =>
    ((await modernRequest(h.mcp, 'tools/list', {}, auth(token))).json?.result?.tools as { name: string }[])
      .map((tool) => tool.name)
      .sort();
  assert.deepEqual(await names(narrow), ['safe_lookup', 'whoami']);
  assert.deepEqual(await names(wide), ['read_secret_metadata', 'safe_lookup', 'whoami']);
  const denied = await modernRequest(
    h.mcp,
    'tools/call',
    { name: 'read_secret_metadata', arguments: { name: 'demo-secret' } },
    auth(narrow),
  );
  assert.equal(denied.status, 403);
  assert.equal(challengeParts(denied.headers.get('www-authenticate')).scope, 'mcp:access tools:secrets');
});
