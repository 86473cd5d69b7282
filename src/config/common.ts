import { z } from 'zod';
import { parseListen } from '../lib/listen.js';

/** `host:port`; validated here so a typo fails at start with the key path, not at bind time. */
export const listenSchema = z.string().superRefine((value, ctx) => {
  try {
    parseListen(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** A duration in milliseconds, written as a number or as `30s`, `5m`, `250ms`, `1h`, `7d`. */
export const durationSchema = z
  .union([z.number().int().nonnegative(), z.string()])
  .transform((value, ctx) => {
    if (typeof value === 'number') return value;
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim());
    if (!match) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration such as 250ms, 30s, 5m, 1h or 7d, got "${value}"`,
      });
      return z.NEVER;
    }
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
      match[2] as 'ms' | 's' | 'm' | 'h' | 'd'
    ];
    return Math.round(Number(match[1]) * unit);
  });

/** A size in bytes, written as a number or as `4MiB`, `512KiB`, `1GiB`, `10MB`. */
export const sizeSchema = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)$/i.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as 512KiB, 4MiB or 1GiB, got "${value}"` });
    return z.NEVER;
  }
  const units: Record<string, number> = {
    b: 1,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
  };
  return Math.round(Number(match[1]) * (units[match[2]!.toLowerCase()] ?? 1));
});

/**
 * `{count, window}`: failed password checks one client (remote address) may make in `window`; past
 * them it gets 429 with Retry-After until the window ends. Successes are not counted.
 */
export const failureLimitSchema = z
  .strictObject({
    count: z.number().int().min(1).default(10),
    window: durationSchema.pipe(z.number().int().min(1000, 'must be at least 1s')).default(60_000),
  })
  .prefault({});
