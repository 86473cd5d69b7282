import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { authHarness, authSection, EXAMPLE_SITES } from './support/site.js';
import { TestOAuthClient } from './support/oauth-client.js';

// Issue 13, item 8: the official MCP client (@modelcontextprotocol/client v2) with its own OAuth
// support finds the authorization server from the 401 alone, signs in with PKCE at a real OpenID
// provider, calls a tool, gets 403 insufficient_scope on a second one, steps up, and calls it —
// in both protocol eras.

for (const era of ['2025-11-25', '2026-07-28'] as const) {
  test(`SDK v2 client (${era}): discovery from the 401, PKCE sign-in, 403 step-up`, async (t) => {
    const h = await authHarness(
      t,
      {
        name: 'secure',
        root: `${EXAMPLE_SITES}secure-mcp`,
        command: 'node server.mjs',
        appSettings: { WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES: 'mcp:access', DEMO_SECRET: 'hunter2-demo' },
        mcp: { enabled: true, spec: '/openapi.json', scopes: { read_secret_metadata: 'tools:secrets' } },
        auth: (issuer) => authSection(issuer),
      },
      { byAddress: true },
    );
    const url = new URL(`${h.origin}/mcp`);
    const oauth = new TestOAuthClient();
    const options = era === '2026-07-28' ? { versionNegotiation: { mode: { pin: era } } } : {};
    const connect = async () => {
      const client = new Client({ name: 'berth-auth-test', version: '1' }, options as never);
      const transport = new StreamableHTTPClientTransport(url, { authProvider: oauth });
      return { client, transport };
    };

    // First contact: the 401 leads the SDK to the PRM, the provider, and a sign-in.
    let { client, transport } = await connect();
    await assert.rejects(client.connect(transport), UnauthorizedError);
    assert.equal(oauth.authorizations.length, 1);
    const first = oauth.authorizations[0]!;
    assert.equal(first.origin, h.provider.issuer, 'the authorization server named by the PRM');
    assert.equal(first.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(first.searchParams.get('resource'), url.href, 'RFC 8707 resource = the MCP endpoint');
    assert.match(first.searchParams.get('scope') ?? '', /mcp:access/);
    await transport.finishAuth(oauth.callback!.code, oauth.callback!.iss);
    await client.close().catch(() => undefined);

    ({ client, transport } = await connect());
    await client.connect(transport);
    t.after(() => client.close());
    assert.equal(client.getProtocolEra(), era === '2026-07-28' ? 'modern' : 'legacy');
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((tool) => tool.name).sort(),
      ['safe_lookup', 'whoami'],
      'read_secret_metadata is hidden without its scope',
    );
    const who = await client.callTool({ name: 'whoami', arguments: {} });
    const caller = JSON.parse((who.content as { text: string }[])[0]!.text) as Record<string, unknown>;
    assert.equal(caller.authenticated, true);
    assert.equal(caller.id, 'alice', 'the signed-in user reaches the app as X-MS-CLIENT-PRINCIPAL-ID');
    assert.equal(caller.name, 'alice');

    // The second tool needs tools:secrets: 403 insufficient_scope, and the SDK asks for it.
    await assert.rejects(
      client.callTool({ name: 'read_secret_metadata', arguments: { name: 'demo-secret' } }),
      UnauthorizedError,
    );
    assert.equal(oauth.authorizations.length, 2, 'one step-up authorization');
    const stepUp = new Set((oauth.authorizations[1]!.searchParams.get('scope') ?? '').split(' '));
    assert.ok(stepUp.has('tools:secrets') && stepUp.has('mcp:access'), [...stepUp].join(' '));
    await transport.finishAuth(oauth.callback!.code, oauth.callback!.iss);
    const secret = await client.callTool({
      name: 'read_secret_metadata',
      arguments: { name: 'demo-secret' },
    });
    const meta = JSON.parse((secret.content as { text: string }[])[0]!.text) as Record<string, unknown>;
    assert.equal(meta.value_length, 12);
    assert.ok(!JSON.stringify(secret).includes('hunter2'));
    // Closed before the front door is (after hooks run later): its open stream would hold the close.
    await client.close();
  });
}
