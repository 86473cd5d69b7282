import { spawnSync } from 'node:child_process';
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
  /** CPU seconds the server process (`pid`) used during the timed ops (not the warm-up). */
  serverCpuSeconds?: number;
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
  options: { ops: number; concurrency: number; warmup?: number; bytesPerOp?: number; pid?: number },
): Promise<Measurement> {
  const warmup = options.warmup ?? 0;
  for (let i = 0; i < warmup; i++) await op(-1 - i);
  settlePageCache();
  const cpuBefore = options.pid === undefined ? undefined : cpuSeconds(options.pid);
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
  const cpuAfter = options.pid === undefined ? undefined : cpuSeconds(options.pid);
  latencies.sort((a, b) => a - b);
  const result: Measurement = {
    ops: options.ops,
    seconds,
    opsPerSec: options.ops / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
  if (options.bytesPerOp) result.bytesPerSec = (options.bytesPerOp * options.ops) / seconds;
  if (cpuBefore !== undefined && cpuAfter !== undefined) result.serverCpuSeconds = cpuAfter - cpuBefore;
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

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every common Linux). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU time (user + system, all threads) a process has used so far, in seconds, from /proc/<pid>/stat;
 * undefined off Linux. The machine is shared, so CPU per unit of work is steadier than wall-clock rates.
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Measures the CPU a process spends while `work` runs. */
export async function withCpu<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpu?: number }> {
  const before = cpuSeconds(pid);
  const result = await work();
  const after = cpuSeconds(pid);
  return { result, cpu: before === undefined || after === undefined ? undefined : after - before };
}

/**
 * Writes every dirty page to disk (sync) before a server is measured, so no server pays for the
 * write-back of bytes another server (or its own earlier row) left in the page cache. distribution
 * fsyncs each upload as it closes it; without this, a server that leaves the flush to the kernel
 * would have it land in whatever is measured next.
 */
export function settlePageCache(): void {
  spawnSync('sync');
}
