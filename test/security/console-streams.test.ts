// Issue 10, item 4: Kudu's /api/logstream is bounded for slow readers like the SSE stream, and the
// number of live streams is capped. Four non-reading clients held 320 MB on the old code: every line
// went to res.write() whatever the socket could take. The first test failed there (no stream was
// ever closed; the lines piled up in Berth's memory), the second got 200 for every stream.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { pino } from 'pino';
import { consoleSchema } from '../../src/config/console.js';
import { startConsole } from '../../src/console/index.js';
import { SseStream } from '../../src/console/sse.js';
import { consoleHeaders, openSse } from '../console/helpers.js';
import { line, tempStore } from '../logs/helpers.js';

interface Logged {
  msg: string;
  buffered?: number;
  limit?: number;
}

async function consoleWith(t: TestContext, settings: Record<string, unknown>) {
  const logged: Logged[] = [];
  const waiters: Array<() => void> = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (text: string) => {
        logged.push(JSON.parse(text) as Logged);
        waiters.splice(0).forEach((wake) => wake());
      },
    },
  );
  const logs = tempStore();
  const service = await startConsole({
    config: consoleSchema.parse({ listen: '127.0.0.1:0', ...settings }),
    logStore: logs.store,
    logger,
  });
  t.after(async () => {
    await service.close();
    await logs.cleanup();
  });
  const url = new URL(service.urls[0]!);
  return { url, store: logs.store, logged, nextLog: () => new Promise<void>((r) => waiters.push(r)) };
}

/** A client that asks for the Kudu stream, reads its head, and then reads nothing more. */
async function stalledReader(t: TestContext, url: URL): Promise<Socket> {
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  t.after(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`GET /api/logstream HTTP/1.1\r\nHost: ${url.host}\r\nX-Requested-By: berth\r\n\r\n`);
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.pause();
  return socket;
}

test('a Kudu stream whose reader stops reading is closed once console.streamBuffer is held for it', async (t) => {
  const streamBuffer = 256 * 1024;
  const c = await consoleWith(t, { streamBuffer: '256KiB' });
  await stalledReader(t, c.url);
  const closed = () => c.logged.find((l) => l.msg.startsWith('closed a Kudu log stream'));
  const message = 'x'.repeat(8 * 1024);
  // Loopback socket buffers take a few MB before Berth has to hold anything; 40 MB of lines is far past
  // that. Writes go out in batches, each followed by a turn of the event loop for the socket to fill.
  for (let i = 0; i < 5000 && !closed(); i++) {
    c.store.write(line(message));
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  const event = closed();
  assert.ok(event, 'the stream was closed for its slow reader');
  assert.equal(event.limit, streamBuffer);
  // It is closed on the write that passes the limit: at most one line past it.
  assert.ok(event.buffered! <= streamBuffer + message.length + 200, `held ${event.buffered} bytes`);
  // Its slot is free again.
  const next = await fetch(`${c.url.origin}/api/logstream`, { headers: consoleHeaders });
  assert.equal(next.status, 200);
  await next.body!.cancel();
});

test('console.maxStreams caps live streams (SSE and Kudu together); the next gets 503 with Retry-After', async (t) => {
  const c = await consoleWith(t, { maxStreams: 2 });
  const origin = c.url.origin;
  const sse = await openSse(`${origin}/api/logs/stream`);
  t.after(() => sse.stop());
  assert.equal(sse.response.status, 200);
  const kudu = new AbortController();
  t.after(() => kudu.abort());
  const kuduResponse = await fetch(`${origin}/api/logstream`, {
    headers: consoleHeaders,
    signal: kudu.signal,
  });
  assert.equal(kuduResponse.status, 200);

  for (const path of ['/api/logs/stream', '/api/logstream']) {
    const refused = await fetch(`${origin}${path}`, { headers: consoleHeaders });
    assert.equal(refused.status, 503, path);
    assert.equal(refused.headers.get('retry-after'), '5', path);
    assert.match(
      ((await refused.json()) as { detail: string }).detail,
      /2 log streams are open \(console\.maxStreams\)/,
    );
  }
  // History queries are not streams.
  assert.equal((await fetch(`${origin}/api/logs`, { headers: consoleHeaders })).status, 200);

  // A stream that ends frees its slot; the server learns it when the socket closes.
  sse.stop();
  await sse.done;
  let status = 503;
  for (let attempt = 0; attempt < 200 && status === 503; attempt++) {
    const again = await fetch(`${origin}/api/logs/stream`, { headers: consoleHeaders });
    status = again.status;
    await again.body?.cancel();
    if (status === 503) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(status, 200);
});

test('an SSE stream holds at most console.streamBuffer for a reader that stops, then says how much it dropped', async (t) => {
  const cap = 64 * 1024;
  let stream: SseStream | undefined;
  const ready = new Promise<void>((resolve) => {
    const server = createServer((_req, res) => {
      stream = new SseStream(res, 60_000, cap);
      resolve();
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const socket = connect({ host: '127.0.0.1', port });
      t.after(() => socket.destroy());
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      socket.once('data', () => socket.pause());
      reader = socket;
    });
    t.after(() => {
      stream?.end();
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
  });
  let reader: Socket | undefined;
  await ready;
  const data = 'y'.repeat(8 * 1024);
  let most = 0;
  // 40 MB of events at a reader that reads nothing: past the socket buffers, Berth holds at most the cap.
  for (let i = 0; i < 5000; i++) {
    stream!.send('log', data, i);
    most = Math.max(most, stream!.heldBytes);
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  // The write that found the socket full is the one thing past the cap.
  assert.ok(most <= cap + data.length + 64, `held ${most} bytes`);
  // The reader comes back: it gets what was held, then the count of what was not.
  let text = '';
  reader!.setEncoding('utf8');
  await new Promise<void>((resolve) => {
    reader!.on('data', (chunk: string) => {
      text += chunk;
      if (/event: dropped\ndata: \{"count":\d+/.test(text)) resolve();
    });
    reader!.resume();
  });
  const dropped = Number(/event: dropped\ndata: \{"count":(\d+)/.exec(text)![1]);
  const received = text.split('event: log\n').length - 1;
  assert.ok(dropped > 0, 'events were dropped, and the reader was told');
  assert.ok(received + dropped <= 5000);
});
