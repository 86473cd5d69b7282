import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult {
  requestsPerSecond: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

const PACED = fileURLToPath(new URL('paced.lua', import.meta.url));

export interface WrkOptions {
  host: string;
  connections: number;
  seconds: number;
  threads?: number;
  /** Paced run: each connection waits this long after every answer (see paced.lua); saturating when unset. */
  delayMs?: number;
  /** Paced run: spread the connections' first requests over one delay (steady arrivals), not all at once (bursts). */
  stagger?: boolean;
  /** More request header lines (`Name: value`), e.g. an Authorization header. */
  headers?: string[];
}

/** Runs wrk with --latency and reads requests/s, p50, p99 and socket errors / non-2xx from its report. */
export async function wrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    '--latency',
    '-t',
    String(options.threads ?? 1),
    '-c',
    String(options.connections),
    '-d',
    `${options.seconds}s`,
    '-H',
    `Host: ${options.host}`,
  ];
  for (const header of options.headers ?? []) args.push('-H', header);
  if (options.delayMs !== undefined) args.push('-s', PACED);
  const { stdout } = await run('wrk', [...args, url], {
    timeout: (options.seconds + 30) * 1000,
    env: {
      ...process.env,
      BERTH_WRK_DELAY_MS: String(options.delayMs ?? 0),
      BERTH_WRK_CONNECTIONS: String(options.connections),
      BERTH_WRK_STAGGER: options.stagger ? '1' : '0',
    },
  });
  const percentile = (p: string) => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(stdout);
    if (!match) throw new Error(`wrk printed no ${p}% latency:\n${stdout}`);
    return toMs(match[1]!, match[2]!);
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const requests = /(\d+) requests in/.exec(stdout);
  if (!rps || !requests) throw new Error(`cannot read wrk output:\n${stdout}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const errors =
    (socketErrors ? socketErrors.slice(1).reduce((n, v) => n + Number(v), 0) : 0) +
    (non2xx ? Number(non2xx[1]) : 0);
  return {
    requestsPerSecond: Number(rps[1]),
    p50: percentile('50'),
    p99: percentile('99'),
    errors,
    requests: Number(requests[1]),
  };
}
