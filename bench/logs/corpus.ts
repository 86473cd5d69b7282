import type { LogInput } from '../../src/logs/index.js';

/** Deterministic, realistic-looking log lines: access logs, JSON app logs, stack-trace-ish errors, platform events. */
const PATHS = [
  '/api/orders',
  '/api/users',
  '/api/cart',
  '/health',
  '/api/payments',
  '/static/app.js',
  '/api/search',
];
const WORDS = [
  'cache',
  'database',
  'timeout',
  'retry',
  'connection',
  'pool',
  'session',
  'token',
  'queue',
  'worker',
  'shipment',
  'invoice',
];

/** A tiny PRNG so every run writes the same corpus. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function corpusLine(i: number, random: () => number, time?: number): LogInput {
  const site = random() < 0.7 ? 'api' : random() < 0.5 ? 'web' : 'worker';
  const instance = `in${Math.floor(random() * 4)}`;
  const r = random();
  const path = PATHS[Math.floor(random() * PATHS.length)]!;
  const word = WORDS[Math.floor(random() * WORDS.length)]!;
  let message: string;
  let stream: 'stdout' | 'stderr' = 'stdout';
  let type: 'application' | 'platform' = 'application';
  if (r < 0.6)
    message = `GET ${path}/${i % 5000} ${random() < 0.95 ? 200 : 500} ${Math.floor(random() * 300)}ms reqid=${(i * 2654435761) % 1e9}`;
  else if (r < 0.85)
    message = JSON.stringify({
      level: random() < 0.8 ? 'info' : 'warn',
      msg: `${word} check for order ${i % 10000}`,
      durationMs: Math.floor(random() * 50),
    });
  else if (r < 0.98) {
    message = `ERROR ${word} failed: connection refused (attempt ${1 + (i % 5)}) order=${i % 10000}`;
    stream = 'stderr';
  } else {
    message = `Instance ${instance} warmup probe succeeded after ${Math.floor(random() * 900)} ms`;
    type = 'platform';
  }
  return {
    site,
    slot: random() < 0.9 ? 'production' : 'staging',
    instance,
    type,
    stream,
    message,
    ...(time !== undefined ? { time } : {}),
  };
}
