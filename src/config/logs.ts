import { z } from 'zod';
import { durationSchema, sizeSchema } from './common.js';

/** `logs.otlp`: OpenTelemetry logs export (OTLP over HTTP/JSON) for setups with a central backend. */
const otlpSchema = z.strictObject({
  /** Base URL of the collector, e.g. http://127.0.0.1:4318; logs go to `<endpoint>/v1/logs`. */
  endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:4318' }),
  /** Extra request headers, e.g. an API key for a hosted backend. Never logged. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Records per export request. */
  batchSize: z.number().int().min(1).max(10_000).default(512),
  /** Longest a record waits before it is sent. */
  interval: durationSchema.default(1000),
  /** Records held while the collector is slow or down; beyond this the oldest are dropped and counted. */
  maxQueue: z.number().int().min(1).default(20_000),
});

/** `logs:` in berth.yaml: the log store. Owned by the logs part. */
export const logsSchema = z
  .strictObject({
    /** Folder of the log database; `<dataDir>/logs` when omitted; a relative path is read against dataDir. */
    dir: z.string().optional(),
    retention: z
      .strictObject({
        maxAge: durationSchema.default(7 * 86_400_000),
        maxSize: sizeSchema.default(1024 ** 3),
        /** How often retention runs. */
        interval: durationSchema.default(60_000),
      })
      .prefault({}),
    ingest: z
      .strictObject({
        /** Lines waiting to be written; past this, new lines are dropped and counted (a platform warning says so). */
        maxQueue: z.number().int().min(1000).default(500_000),
        /** Lines waiting that make the store hand a batch to the writer thread at once (else after flushInterval). */
        batchSize: z.number().int().min(1).max(100_000).default(8192),
        /** Longest a line waits before it is written (and searchable). */
        flushInterval: durationSchema.default(50),
        /** Longer messages are cut, so one runaway line cannot fill memory. */
        maxMessageBytes: sizeSchema.default(64 * 1024),
      })
      .prefault({}),
    query: z
      .strictObject({
        /** Lines one query may test with a regular expression before it is refused (400) as too broad. */
        maxRegexScan: z.number().int().min(1000).default(2_000_000),
        /**
         * Time one query's regular expression may run on the event loop before the query is refused (400)
         * as too broad. RE2 bounds the time per line; this bounds the lines.
         */
        regexTimeout: durationSchema.pipe(z.number().min(1, 'must be at least 1ms')).default(500),
      })
      .prefault({}),
    otlp: otlpSchema.optional(),
  })
  .prefault({});

export type LogsConfig = z.infer<typeof logsSchema>;
export type LogsOtlpConfig = z.infer<typeof otlpSchema>;
