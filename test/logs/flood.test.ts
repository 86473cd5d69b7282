// Fault: an app that prints as fast as it can (well over 100,000 lines a second when the machine
// allows). Its stdout is handed to the store line by line, as the sites part does. The store must
// neither lose count nor grow without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { liveHeapBytes } from '../support/heap.js';
import { line, tempStore } from './helpers.js';

const FLOODER = `
const chunk = Array.from({ length: 1000 }, (_, i) => 'flood line ' + i + ' GET /api/orders 200 3ms').join('\\n') + '\\n';
const end = Date.now() + Number(process.argv[1]);
function pump() {
  while (Date.now() < end) { if (!process.stdout.write(chunk)) return process.stdout.once('drain', pump); }
  process.exit(0);
}
pump();
`;

test('a flooding app: every line is stored or counted as dropped, the queue stays bounded, a warning says so', async (t) => {
  const maxQueue = 5000;
  const { store, cleanup } = tempStore({ ingest: { maxQueue, batchSize: 2000 } });
  t.after(cleanup);
  const child = spawn(process.execPath, ['-e', FLOODER, '2000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let sent = 0;
  let maxQueued = 0;
  const heapBefore = liveHeapBytes();
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (message) => {
    sent++;
    store.write(line(message));
    if (sent % 1000 === 0) maxQueued = Math.max(maxQueued, store.stats().queued);
  });
  await new Promise((resolve) => lines.on('close', resolve));
  store.flush();
  // The query flushes too (a drop warning may still go out): the counts are read after it.
  const platform = store.query({ type: 'platform', limit: 1000 }).entries;
  const stats = store.stats();
  const stored = stats.written - platform.length;
  assert.ok(sent > 10_000, `the app printed ${sent} lines`);
  assert.equal(stored + stats.dropped, sent, 'each line is stored or counted');
  assert.ok(maxQueued <= maxQueue, `queue peaked at ${maxQueued}`);
  const grown = liveHeapBytes() - heapBefore;
  assert.ok(grown < 64 * 1024 ** 2, `heap still referenced grew ${(grown / 1024 ** 2).toFixed(1)} MiB`);
  if (stats.dropped > 0) {
    const dropped = platform.reduce((n, e) => n + Number(/dropped (\d+) line/.exec(e.message)?.[1] ?? 0), 0);
    assert.equal(dropped, stats.dropped, 'the platform warnings add up to the dropped count');
  }
  t.diagnostic(`sent ${sent}, stored ${stored}, dropped ${stats.dropped}, queue peak ${maxQueued}`);
});
