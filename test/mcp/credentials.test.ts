/**
 * Item 8 of issue 12: upstream credentials for `berth mcp serve`. The document's security schemes
 * (API key in header, query and cookie; HTTP bearer and basic; OAuth2 client credentials with a token
 * from a real local token endpoint) are filled from environment variables, through all three official
 * clients; the MCP caller's own token never reaches the third-party API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCredentials, startMcpServer } from '../../src/mcp/index.js';
import { CLIENT_KINDS, connectClient, startRecorder } from './three-clients.js';

/** A client-credentials token endpoint (RFC 6749 §4.4) that knows one client. */
async function startTokenEndpoint() {
  let issued = 0;
  const requests: Array<{ authorization?: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ authorization: req.headers.authorization, body });
      const expected = `Basic ${Buffer.from('berth-client:s3cret').toString('base64')}`;
      const form = new URLSearchParams(body);
      if (req.headers.authorization !== expected || form.get('grant_type') !== 'client_credentials') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      issued += 1;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: `token-${issued}`, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
    requests,
    get issued() {
      return issued;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function document(tokenUrl: string) {
  const op = (operationId: string, security: object[]) => ({
    get: { operationId, security, responses: { '204': { description: 'done' } } },
  });
  return {
    openapi: '3.0.3',
    info: { title: 'secured', version: '1' },
    security: [{ headerKey: [] }],
    components: {
      securitySchemes: {
        headerKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        queryKey: { type: 'apiKey', in: 'query', name: 'api_key' },
        cookieKey: { type: 'apiKey', in: 'cookie', name: 'session' },
        bearer: { type: 'http', scheme: 'bearer' },
        basic: { type: 'http', scheme: 'basic' },
        oauth: { type: 'oauth2', flows: { clientCredentials: { tokenUrl, scopes: { read: 'read' } } } },
        unused: { type: 'openIdConnect', openIdConnectUrl: 'https://example.invalid/.well-known' },
      },
    },
    paths: {
      '/header': { get: { operationId: 'byDefault', responses: { '204': { description: 'done' } } } },
      '/query': op('byQuery', [{ queryKey: [] }]),
      '/cookie': op('byCookie', [{ cookieKey: [] }]),
      '/bearer': op('byBearer', [{ bearer: [] }]),
      '/basic': op('byBasic', [{ basic: [] }]),
      '/oauth': op('byOauth', [{ oauth: ['read'] }]),
      '/either': op('either', [{ unused: [] }, { bearer: [] }]),
      '/open': op('anonymous', [{}]),
    },
  };
}

test('security schemes are filled from environment variables, through all three clients; the caller token stays', async (t) => {
  const tokens = await startTokenEndpoint();
  const upstream = await startRecorder((_r, res) => void res.writeHead(204).end());
  const dir = mkdtempSync(join(tmpdir(), 'berth-credentials-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'openapi.json');
  writeFileSync(spec, JSON.stringify(document(tokens.url)));
  const env = {
    HEADER_KEY: 'hk-1',
    QUERY_KEY: 'q k&1',
    COOKIE_KEY: 'ck1',
    BEARER: 'bt-1',
    BASIC: 'ann:pw:with:colons',
    OAUTH: 'berth-client:s3cret',
  };
  const credentials = await resolveCredentials(
    {
      headerKey: 'env:HEADER_KEY',
      queryKey: 'env:QUERY_KEY',
      cookieKey: 'env:COOKIE_KEY',
      bearer: 'env:BEARER',
      basic: 'env:BASIC',
      oauth: 'env:OAUTH',
    },
    env,
  );
  // Records what callers presented, to prove the token did reach Berth (and then went no further).
  const presented: Array<string | undefined> = [];
  const server = await startMcpServer({
    spec,
    upstream: upstream.url,
    credentials,
    watch: false,
    handler: {
      callerFrom: (req) => {
        presented.push(req.headers.authorization);
        return undefined;
      },
    },
  });
  t.after(async () => {
    await server.close();
    await upstream.close();
    await tokens.close();
  });
  const last = () => upstream.requests.at(-1)!;
  for (const kind of CLIENT_KINDS) {
    const client = await connectClient(t, kind, server.urls[0]!, { authorization: 'Bearer caller-token' });
    const call = async (name: string) => {
      const result = await client.callTool(name, {});
      assert.notEqual(result.isError, true, `${kind} ${name}: ${JSON.stringify(result.content)}`);
      return last();
    };
    assert.equal((await call('byDefault')).headers['x-api-key'], 'hk-1');
    assert.equal((await call('byQuery')).url, '/query?api_key=q%20k%261');
    assert.equal((await call('byCookie')).headers.cookie, 'session=ck1');
    assert.equal((await call('byBearer')).headers.authorization, 'Bearer bt-1');
    assert.equal(
      (await call('byBasic')).headers.authorization,
      `Basic ${Buffer.from('ann:pw:with:colons').toString('base64')}`,
    );
    assert.equal((await call('byOauth')).headers.authorization, 'Bearer token-1');
    assert.equal((await call('either')).headers.authorization, 'Bearer bt-1', 'the satisfiable alternative');
    const open = await call('anonymous');
    assert.equal(open.headers.authorization, undefined);
    assert.equal(open.headers['x-api-key'], undefined);
  }
  // One token for every OAuth call (cached until it expires), asked for with the operation's scope.
  assert.equal(tokens.issued, 1);
  assert.equal(new URLSearchParams(tokens.requests[0]!.body).get('scope'), 'read');
  assert.ok(presented.length > 0 && presented.every((a) => a === 'Bearer caller-token'));
  for (const request of upstream.requests)
    assert.ok(!JSON.stringify(request.headers).includes('caller-token'), 'the MCP caller token never leaves');
});

test('a token endpoint that refuses is an isError result that names it and holds no secret', async (t) => {
  const tokens = await startTokenEndpoint();
  const upstream = await startRecorder((_r, res) => void res.writeHead(204).end());
  const dir = mkdtempSync(join(tmpdir(), 'berth-credentials-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'openapi.json');
  writeFileSync(spec, JSON.stringify(document(tokens.url)));
  const server = await startMcpServer({
    spec,
    upstream: upstream.url,
    credentials: { oauth: 'berth-client:wrong-secret' },
    watch: false,
  });
  t.after(async () => {
    await server.close();
    await upstream.close();
    await tokens.close();
  });
  const client = await connectClient(t, 'v1', server.urls[0]!);
  const result = await client.callTool('byOauth', {});
  assert.equal(result.isError, true);
  const text = JSON.stringify(result.content);
  assert.match(
    text,
    /token request to http:\/\/127\.0\.0\.1:\d+\/oauth\/token failed: HTTP 401 \(invalid_client\)/,
  );
  assert.doesNotMatch(text, /wrong-secret/);
  assert.equal(upstream.requests.length, 0, 'nothing reaches the API without its token');
});

test('credential references: env:VAR, @secret(name) through the seam, and clear refusals', async () => {
  assert.deepEqual(await resolveCredentials({ a: 'env:A' }, { A: 'x' }), { a: 'x' });
  await assert.rejects(
    resolveCredentials({ a: 'env:MISSING' }, {}),
    /credential "a": the environment variable MISSING is not set/,
  );
  await assert.rejects(resolveCredentials({ a: '@secret(api)' }, {}), /need the secret store/);
  assert.deepEqual(
    await resolveCredentials({ a: '@secret(api)' }, {}, async (name) =>
      name === 'api' ? 'from-store' : undefined,
    ),
    { a: 'from-store' },
  );
});

test('berth mcp serve: --credential and mcp.credentials in berth.yaml are checked before serving', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-credentials-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'openapi.json');
  writeFileSync(spec, JSON.stringify(document('http://127.0.0.1:9/token')));
  const config = join(dir, 'berth.yaml');
  writeFileSync(config, 'mcp:\n  credentials:\n    nosuchscheme: env:HOME\n');
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(
      './bin/berth',
      ['mcp', 'serve', '--spec', spec, '--upstream', 'http://127.0.0.1:9', '--data-dir', dir, ...args],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, ...env },
      },
    );
  const cases: Array<[string[], RegExp]> = [
    [['--credential', 'bearer'], /--credential must be <scheme>=env:<VAR>/],
    [
      ['--credential', 'bearer=env:BERTH_TEST_UNSET_VAR'],
      /environment variable BERTH_TEST_UNSET_VAR is not set/,
    ],
    [
      ['--credential', 'baerer=env:HOME'],
      /credentials for "baerer" match no security scheme of the document \(it declares: headerKey, queryKey, cookieKey, bearer, basic, oauth\)/,
    ],
    [['--config', config], /credentials for "nosuchscheme" match no security scheme/],
  ];
  for (const [args, message] of cases) {
    const result = run(args);
    assert.equal(result.status, 1, args.join(' '));
    assert.match(result.stderr, message);
  }
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'mcp:\n  credentials:\n    bearer: TOKEN\n');
  const invalid = run(['--config', bad]);
  assert.equal(invalid.status, 1);
  assert.match(invalid.stderr, /mcp\.credentials\.bearer.*must be env:VAR or @secret\(name\)/);
});

test('berth mcp serve: @secret(name) credentials come from the secret store of its data folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-credentials-secret-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'openapi.json');
  writeFileSync(spec, JSON.stringify(document('http://127.0.0.1:9/token')));
  const config = join(dir, 'berth.yaml');
  writeFileSync(config, `dataDir: ${dir}/data\n`);
  const set = spawnSync('./bin/berth', ['secret', 'set', 'api-token', '--config', config], {
    input: 'the-token\n',
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(set.status, 0, set.stderr);
  const serve = (reference: string) =>
    spawn(
      './bin/berth',
      [
        'mcp',
        'serve',
        '--spec',
        spec,
        '--upstream',
        'http://127.0.0.1:9',
        '--config',
        config,
        '--credential',
        `bearer=${reference}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  // A name the store does not hold: refused before serving, naming it.
  const missing = serve('@secret(no-such-secret)');
  let stderr = '';
  missing.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  assert.equal(await new Promise((done) => missing.once('exit', done)), 1);
  assert.match(stderr, /credential "bearer": no secret named "no-such-secret"/);
  // The stored one: the server starts (it prints its URL), and the value is in none of its output.
  const ok = serve('@secret(api-token)');
  t.after(() => ok.kill('SIGKILL'));
  let output = '';
  ok.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await new Promise<void>((ready, failed) => {
    ok.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      if (/http:\/\/127\.0\.0\.1:\d+/.test(output)) ready();
    });
    ok.once('exit', (code) => failed(new Error(`serve exited ${code}: ${output}`)));
  });
  assert.doesNotMatch(output, /the-token/);
});
