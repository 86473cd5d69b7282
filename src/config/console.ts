import { z } from 'zod';
import { durationSchema, failureLimitSchema, listenSchema, sizeSchema } from './common.js';

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
    /**
     * Bytes a live stream (`/api/logs/stream`, Kudu's `/api/logstream`) may hold for a reader that is
     * not keeping up. Past it, the SSE stream drops events and says how many; the Kudu stream, which
     * has no way to say so or to resume, is closed.
     */
    streamBuffer: sizeSchema.pipe(z.number().int().min(1024, 'must be at least 1KiB')).default(1024 ** 2),
    /** Live streams open at once (SSE and Kudu); the next gets 503 with Retry-After. */
    maxStreams: z.number().int().min(1).default(64),
    /**
     * htpasswd file with bcrypt entries (`htpasswd -B`), relative to the config file's folder. When set,
     * every request needs HTTP Basic credentials. Required when `listen` is not a loopback address: the
     * console can deploy and read every log, so it never faces a network without authentication.
     */
    htpasswd: z.string().min(1).optional(),
    /** Wrong passwords per client before it gets 429 until the window ends (with `htpasswd`). */
    authFailureLimit: failureLimitSchema,
    /**
     * Host names (without port) the console answers besides the loopback names. Requests naming any
     * other Host get 403, so a DNS-rebinding page cannot reach a console bound to loopback.
     */
    allowedHosts: z.array(z.string().min(1)).default([]),
  })
  .prefault({});

export type ConsoleConfig = z.infer<typeof consoleSchema>;
