/** `berth mcp serve` end to end: the real binary, a real client, clean shutdown, clear refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startPetstore } from '../../examples/petstore/server.js';

test('berth mcp serve --spec --upstream serves the Petstore tools and stops on SIGTERM', async (t) => {
  const petstore = await startPetstore();
  t.after(() => petstore.close());
  const child = spawn(
    './bin/berth',
    [
      'mcp',
      'serve',
      '--spec',
      'examples/petstore/openapi.yaml',
      '--upstream',
      petstore.url,
      '--listen',
      '127.0.0.1:0',
      '--output',
      'json',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
    },
  );
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const deadline = Date.now() + 60_000; // generous: tsx compiles the CLI on a busy machine
  while (!stdout.includes('ready\n')) {
    if (Date.now() > deadline || child.exitCode !== null)
      assert.fail(`berth mcp serve did not start: ${stdout}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const printed = JSON.parse(stdout.slice(0, stdout.indexOf('}') + 1)) as {
    urls: string[];
    tools: number;
    hash: string;
  };
  assert.match(printed.urls[0]!, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  assert.ok(printed.tools > 5);
  assert.match(printed.hash, /^[0-9a-f]{64}$/);

  const client = new ClientV1({ name: 'cli-test', version: '1' });
  await client.connect(new TransportV1(new URL(printed.urls[0]!)));
  const { tools } = await client.listTools();
  assert.equal(tools.length, printed.tools);
  const pet = await client.callTool({ name: 'getPetById', arguments: { petId: 1 } });
  assert.equal(pet.isError, undefined);
  await client.close();

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test('berth mcp serve refuses bad options with a message naming them', () => {
  const cases: Array<[string[], RegExp]> = [
    [['mcp', 'serve'], /needs --spec <file\|url> and --upstream <url>/],
    [['mcp', 'serve', '--spec', 'x.yaml', '--upstream', 'ftp://x'], /--upstream must be an http\(s\) URL/],
    [['mcp', 'serve', '--spec', 'missing.yaml', '--upstream', 'http://127.0.0.1:1'], /spec file not found/],
    [['mcp', 'serve', '--fixture', 'nope'], /unknown --fixture "nope"/],
    [
      ['mcp', 'serve', '--spec', 'x.yaml', '--upstream', 'http://x', '--path', 'mcp'],
      /--path must start with "\/"/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = spawnSync('./bin/berth', args, { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 1, args.join(' '));
    assert.match(result.stderr, message);
  }
});
