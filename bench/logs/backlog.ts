// Memory of the log store under a backlog: lines written faster than the writer thread can store
// them, until the queue is at its bound (`ingest.maxQueue`) and new lines are dropped. Measured in a
// fresh child process (this file, run as a script), so earlier parts of the benchmark do not count.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { logsSchema } from '../../src/config/logs.js';
import { createLogStore } from '../../src/logs/index.js';
import { corpusLine, rng } from './corpus.js';

export interface BacklogResult {
  lines: number;
  maxQueue: number;
  /** RSS of the whole process (both threads) at rest with the store open, and at its peak, in MiB. */
  restMiB: number;
  peakMiB: number;
  /** The queue reached its bound: some lines were dropped. */
  dropped: number;
}

/** Runs the measurement in a child process and returns what it printed. */
export async function benchBacklog(lines: number, maxQueue: number): Promise<BacklogResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), String(lines), String(maxQueue)],
    { timeout: 300_000 },
  );
  return JSON.parse(stdout) as BacklogResult;
}

async function measure(lines: number, maxQueue: number): Promise<BacklogResult> {
  const random = rng(2);
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-backlog-'));
  try {
    const store = createLogStore({ dataDir: dir, config: logsSchema.parse({ ingest: { maxQueue } }) });
    store.write({ site: 'bench', slot: 'production', instance: '', type: 'platform', message: 'starts' });
    store.flush();
    const restMiB = process.memoryUsage.rss() / 2 ** 20;
    let peak = process.memoryUsage.rss();
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
    // Bursts of 20,000 lines with only a turn of the event loop between them: far faster than the
    // writer stores, as an app printing without pause.
    for (let i = 0; i < lines; i += 20_000) {
      for (let j = i; j < Math.min(lines, i + 20_000); j++) store.write(corpusLine(j, random));
      peak = Math.max(peak, process.memoryUsage.rss());
      await new Promise((r) => setImmediate(r));
    }
    while (store.stats().queued > 0) await new Promise((r) => setTimeout(r, 20));
    clearInterval(sampler);
    const { dropped } = store.stats();
    await store.close();
    return { lines, maxQueue, restMiB, peakMiB: peak / 2 ** 20, dropped };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [lines, maxQueue] = process.argv.slice(2).map(Number);
  process.stdout.write(`${JSON.stringify(await measure(lines!, maxQueue!))}\n`);
}
