import { readFileSync } from 'node:fs';

/** Latency and rate of a repeated operation. */
export interface Measurement {
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Bytes moved per second when each op moves `bytesPerOp`. */
  bytesPerSec?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * Runs `op(i)` `ops` times with `concurrency` in flight, after `warmup` untimed runs. Every op must
 * succeed: a failure aborts the row instead of being averaged away.
 */
export async function measure(
  op: (i: number) => Promise<void>,
  options: { ops: number; concurrency: number; warmup?: number; bytesPerOp?: number },
): Promise<Measurement> {
  const warmup = options.warmup ?? 0;
  for (let i = 0; i < warmup; i++) await op(-1 - i);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < options.ops) {
      const i = next++;
      const t0 = performance.now();
      await op(i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.ops) }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const result: Measurement = {
    ops: options.ops,
    seconds,
    opsPerSec: options.ops / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
  if (options.bytesPerOp) result.bytesPerSec = (options.bytesPerOp * options.ops) / seconds;
  return result;
}

/** Samples a process's resident memory (VmRSS in /proc/<pid>/status) until stopped; Linux only. */
export function sampleRss(
  pid: number,
  everyMs = 100,
): { stop(): { maxBytes: number; firstBytes: number; samples: number } } {
  const read = (): number | undefined => {
    try {
      const text = readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(text);
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  };
  const first = read() ?? 0;
  let max = first;
  let samples = 1;
  const timer = setInterval(() => {
    const value = read();
    if (value !== undefined) {
      samples++;
      if (value > max) max = value;
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const last = read();
      if (last !== undefined && last > max) max = last;
      return { maxBytes: max, firstBytes: first, samples };
    },
  };
}
