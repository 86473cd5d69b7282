/**
 * Explicit handles (issue item 6): two instances of the example site behind a small round-robin
 * balancer; a real SDK client's calls alternate between them and the running total stays right,
 * because the state travels in signed handles rather than in either instance.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startMcpServer } from '../../src/mcp/index.js';
import { handlesCatalog } from '../../examples/handles/catalog.js';
import { modernRequest } from './helpers.js';

const SECRET = 'handles-test-secret-0123456789';

/** A round-robin HTTP balancer with no affinity: request n goes to backend n mod 2. */
async function startBalancer(backends: string[]) {
  let next = 0;
  const hits: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const target = new URL(backends[next++ % backends.length]!);
    hits.push(target.port);
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function setup(t: TestContext, options: { ttlMs?: number; now?: () => number } = {}) {
  const a = await startMcpServer({
    catalog: handlesCatalog({ secret: SECRET, instanceId: 'A', ...options }),
    handleSecret: SECRET,
  });
  const b = await startMcpServer({
    catalog: handlesCatalog({ secret: SECRET, instanceId: 'B', ...options }),
    handleSecret: SECRET,
  });
  const balancer = await startBalancer([a.urls[0]!.replace('/mcp', ''), b.urls[0]!.replace('/mcp', '')]);
  t.after(async () => {
    await balancer.close();
    await Promise.all([a.close(), b.close()]);
  });
  return balancer;
}

interface TallyResult {
  tally: string;
  total: number;
  served_by: string;
}

test('2026-07-28 client: the tally stays right while calls alternate between two instances', async (t) => {
  const balancer = await setup(t);
  const client = new Client(
    { name: 'tally', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(balancer.url)));
  t.after(() => client.close());

  let { tally } = (await client.callTool({ name: 'tally_start', arguments: {} }))
    .structuredContent as unknown as TallyResult;
  const seen: Array<[number, string]> = [];
  for (const amount of [10, 5, 100, -15, 2.5]) {
    const result = (await client.callTool({ name: 'tally_add', arguments: { tally, amount } }))
      .structuredContent as unknown as TallyResult;
    tally = result.tally;
    seen.push([result.total, result.served_by]);
  }
  assert.deepEqual(
    seen.map(([total]) => total),
    [10, 15, 115, 100, 102.5],
  );
  const servers = seen.map(([, by]) => by);
  assert.ok(
    servers.includes('A') && servers.includes('B'),
    `calls reached both instances: ${servers.join(',')}`,
  );
  for (let i = 1; i < servers.length; i++)
    assert.notEqual(servers[i], servers[i - 1], 'round robin alternates every call');
});

test('2025-11-25 client through the same balancer: the signed session and the basket both survive instance changes', async (t) => {
  const balancer = await setup(t);
  const client = new ClientV1({ name: 'basket', version: '1' });
  await client.connect(new TransportV1(new URL(balancer.url)));
  t.after(() => client.close());
  let basket = (
    (await client.callTool({ name: 'basket_create', arguments: {} })).structuredContent as { basket: string }
  ).basket;
  const servedBy = new Set<string>();
  for (const [sku, quantity] of [
    ['APPLE', 2],
    ['PEAR', 1],
    ['APPLE', 3],
  ] as const) {
    const result = (await client.callTool({ name: 'basket_add', arguments: { basket, sku, quantity } }))
      .structuredContent as {
      basket: string;
      served_by: string;
    };
    basket = result.basket;
    servedBy.add(result.served_by);
  }
  const view = (await client.callTool({ name: 'basket_view', arguments: { basket } })).structuredContent as {
    items: unknown;
    count: number;
  };
  assert.deepEqual(view.items, [
    { sku: 'APPLE', quantity: 5 },
    { sku: 'PEAR', quantity: 1 },
  ]);
  assert.equal(view.count, 6);
  assert.deepEqual([...servedBy].sort(), ['A', 'B']);
});

test('handles are refused when tampered with, of the wrong kind, expired, or presented by another caller', async (t) => {
  let clock = Date.now();
  const balancer = await setup(t, { ttlMs: 60_000, now: () => clock });
  const call = async (name: string, args: Record<string, unknown>, caller?: string) =>
    modernRequest(
      balancer.url,
      'tools/call',
      { name, arguments: args },
      caller ? { 'x-ms-client-principal-id': caller } : {},
    );
  // A refused handle is an argument the model can fix: an isError result carrying the reason.
  const refusal = (answer: Awaited<ReturnType<typeof call>>) => {
    assert.equal(answer.json?.result?.isError, true);
    return (answer.json!.result!.content as Array<{ text: string }>)[0]!.text;
  };

  const started = (await call('tally_start', {}, 'alice')).json?.result
    ?.structuredContent as unknown as TallyResult;
  const ok = await call('tally_add', { tally: started.tally, amount: 1 }, 'alice');
  assert.equal((ok.json?.result?.structuredContent as unknown as TallyResult).total, 1);

  const bob = await call('tally_add', { tally: started.tally, amount: 1 }, 'bob');
  assert.match(refusal(bob), /belongs to another caller/);

  const [scheme, payload, mac] = started.tally.split('.');
  const forged = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { state: { total: number } };
  forged.state.total = 1_000_000;
  const tampered = await call(
    'tally_add',
    { tally: `${scheme}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}`, amount: 1 },
    'alice',
  );
  assert.match(refusal(tampered), /altered or was not issued by this service/);

  const basket = (await call('basket_create', {}, 'alice')).json?.result?.structuredContent as {
    basket: string;
  };
  const wrongKind = await call('tally_add', { tally: basket.basket, amount: 1 }, 'alice');
  assert.match(refusal(wrongKind), /this is a basket handle, not a tally handle/);

  clock += 61_000;
  const expired = await call('tally_add', { tally: started.tally, amount: 1 }, 'alice');
  assert.match(refusal(expired), /tally handle expired at .*; start a new tally/);
});
