import { z } from 'zod';
import { durationSchema, listenSchema } from './common.js';

/** `console:` in berth.yaml: the SCM site (log stream, startup logs, sites). Owned by the console part. */
export const consoleSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    listen: listenSchema.default('127.0.0.1:8090'),
    /** Kudu's `/api/logstream` prints "No new trace in the past n min(s)." after this long without a line. */
    heartbeat: durationSchema.default(60_000),
    /** SSE comment pings keep proxies from closing an idle `/api/logs/stream`. */
    ssePing: durationSchema.default(15_000),
    /** Kudu ends a log stream after SCM_LOGSTREAM_TIMEOUT (120 minutes by default). */
    logstreamTimeout: durationSchema.default(120 * 60_000),
  })
  .prefault({});

export type ConsoleConfig = z.infer<typeof consoleSchema>;
