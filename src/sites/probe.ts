import { request } from 'node:http';

export interface ProbeResult {
  status?: number;
  error?: string;
  ms: number;
}

/** One HTTP GET to an instance on loopback. Never throws: a failure is a result. */
export function probe(
  port: number,
  path: string,
  timeoutMs: number,
  userAgent = 'Berth-Warmup/1.0',
): Promise<ProbeResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: { 'user-agent': userAgent } },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode, ms: ms() });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      resolve({
        error:
          error.code === 'ECONNREFUSED'
            ? 'connection refused'
            : error.code === 'ECONNRESET'
              ? 'connection reset'
              : error.message,
        ms: ms(),
      });
    });
    req.end();
  });
}

export function describeProbe(result: ProbeResult): string {
  return result.status !== undefined
    ? `HTTP ${result.status} (${result.ms} ms)`
    : `${result.error} (${result.ms} ms)`;
}
