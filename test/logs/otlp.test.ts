// The collector here is a stand-in: a small HTTP server that accepts OTLP/HTTP JSON on /v1/logs the way
// an OpenTelemetry Collector does. No real collector can run in this sandbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { line, tempStore } from './helpers.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    resourceLogs: Array<{
      resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
      scopeLogs: Array<{
        logRecords: Array<{
          timeUnixNano: string;
          severityNumber: number;
          severityText: string;
          body: { stringValue: string };
          attributes: Array<{ key: string; value: Record<string, string> }>;
        }>;
      }>;
    }>;
  };
}

async function receiver(failFirst = 0) {
  const received: Received[] = [];
  let failures = failFirst;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(503).end();
        return;
      }
      received.push({
        path: req.url!,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString()),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function until(check: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('lines are exported as OTLP/HTTP JSON log records, one resource per site, slot and instance', async (t) => {
  const collector = await receiver();
  t.after(collector.close);
  const { store, cleanup } = tempStore({
    otlp: { endpoint: collector.url, headers: { 'x-api-key': 'k-123' }, interval: '50ms' },
  });
  t.after(cleanup);
  store.write(line('ERROR payment failed', { stream: 'stderr', time: 1_790_000_000_123 }));
  store.write(line('{"level":"info","msg":"ok"}', { instance: 'i2' }));
  await until(() => collector.received.reduce((n, r) => n + r.body.resourceLogs.length, 0) >= 2);
  const request = collector.received[0]!;
  assert.equal(request.path, '/v1/logs');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['x-api-key'], 'k-123');
  const resources = collector.received.flatMap((r) => r.body.resourceLogs);
  const first = resources.find((r) =>
    r.resource.attributes.some((a) => a.key === 'service.instance.id' && a.value.stringValue === 'i1'),
  )!;
  const attrs = Object.fromEntries(first.resource.attributes.map((a) => [a.key, a.value.stringValue]));
  assert.deepEqual(attrs, {
    'service.name': 'api',
    'service.instance.id': 'i1',
    'berth.site': 'api',
    'berth.slot': 'production',
  });
  const record = first.scopeLogs[0]!.logRecords[0]!;
  assert.equal(record.timeUnixNano, '1790000000123000000');
  assert.equal(record.severityNumber, 17);
  assert.equal(record.severityText, 'ERROR');
  assert.equal(record.body.stringValue, 'ERROR payment failed');
  assert.ok(record.attributes.some((a) => a.key === 'log.iostream' && a.value.stringValue === 'stderr'));
});

test('a collector that is down gets the lines later: retried with backoff, nothing lost', async (t) => {
  const collector = await receiver(2);
  t.after(collector.close);
  const { store, cleanup } = tempStore({ otlp: { endpoint: collector.url, interval: '20ms' } });
  t.after(cleanup);
  for (let i = 0; i < 10; i++) store.write(line(`line ${i}`));
  await until(() => collector.received.length > 0, 8000);
  const messages = collector.received.flatMap((r) =>
    r.body.resourceLogs.flatMap((x) => x.scopeLogs[0]!.logRecords.map((l) => l.body.stringValue)),
  );
  assert.deepEqual(
    messages,
    Array.from({ length: 10 }, (_, i) => `line ${i}`),
  );
  assert.equal(store.otlp!.stats.failedRequests, 2);
  assert.equal(store.otlp!.stats.dropped, 0);
});
