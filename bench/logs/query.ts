import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { logsSchema } from '../../src/config/logs.js';
import { createLogStore, type LogQuery } from '../../src/logs/index.js';
import { corpusLine, rng } from './corpus.js';
import { percentile } from './stats.js';

const DAY = 86_400_000;

/**
 * Query latency over a store of `lines` lines spread over the last 24 hours. The store is built once
 * in `dir` and reused by later runs with the same size (building 10M lines takes minutes).
 */
export async function benchQuery(lines: number, dir: string, rounds: number, log: (s: string) => void) {
  const dataDir = join(dir, `query-${lines}`);
  const config = logsSchema.parse({
    retention: { maxSize: '1000GiB', maxAge: '30d' },
    ingest: { maxQueue: 200_000 },
  });
  const fresh = !existsSync(join(dataDir, 'logs', 'logs.db'));
  mkdirSync(dataDir, { recursive: true });
  const store = createLogStore({ dataDir, config });
  const end = Date.now();
  const start = end - DAY;
  if (fresh) {
    const random = rng(2);
    const step = DAY / lines;
    const began = performance.now();
    for (let i = 0; i < lines; i++) {
      store.write(corpusLine(i, random, Math.floor(start + i * step)));
      if (i % 100_000 === 99_999) {
        store.flush();
        if (i % 1_000_000 === 999_999)
          log(
            `  built ${i + 1} lines (${Math.round((i + 1) / ((performance.now() - began) / 1000))} lines/s)`,
          );
      }
    }
    store.flush();
  }
  const total = store.stats();
  const random = rng(3);
  const hour = () => {
    const from = start + random() * (DAY - 3_600_000);
    return { from, to: from + 3_600_000 };
  };
  const scenarios: Record<string, () => LogQuery> = {
    'keyword (common: "connection refused")': () => ({ q: '"connection refused"' }),
    'keyword (rare: "order=4242")': () => ({ q: `order ${4000 + Math.floor(random() * 1000)}` }),
    'time range (1 hour)': () => hour(),
    'level error+': () => ({ level: 'error' }),
    'level error+ in 1 hour, site api': () => ({ level: 'error', site: 'api', ...hour() }),
    'keyword + time range': () => ({ q: 'timeout', ...hour() }),
    'regex in 1 hour': () => ({ regex: 'GET /api/orders/\\d+ 500', ...hour() }),
  };
  const results: Array<{ name: string; p50: number; p95: number; rows: number }> = [];
  for (const [name, make] of Object.entries(scenarios)) {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < rounds; i++) {
      const q = { ...make(), limit: 100 };
      const t0 = performance.now();
      rows += store.query(q).entries.length;
      times.push(performance.now() - t0);
    }
    results.push({ name, p50: percentile(times, 50), p95: percentile(times, 95), rows: rows / rounds });
  }
  await store.close();
  return { bytes: total.bytes, results };
}
