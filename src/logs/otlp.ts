import type { LogsOtlpConfig } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import type { LogEntry, LogLevel } from './types.js';

/** OpenTelemetry SeverityNumber for each level (the first number of each range in the spec). */
const SEVERITY: Record<LogLevel, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };

type AnyValue = { stringValue: string } | { intValue: string };
interface KeyValue {
  key: string;
  value: AnyValue;
}

const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });

/** One ExportLogsServiceRequest (OTLP/HTTP JSON), one resource per site, slot and instance. */
export function toOtlpRequest(entries: LogEntry[]) {
  const byResource = new Map<string, LogEntry[]>();
  for (const entry of entries) {
    const key = `${entry.site}\u0000${entry.slot}\u0000${entry.instance}`;
    const list = byResource.get(key);
    if (list) list.push(entry);
    else byResource.set(key, [entry]);
  }
  return {
    resourceLogs: [...byResource.values()].map((list) => {
      const first = list[0]!;
      return {
        resource: {
          attributes: [
            str('service.name', first.site),
            ...(first.instance ? [str('service.instance.id', first.instance)] : []),
            str('berth.site', first.site),
            str('berth.slot', first.slot),
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'berth.logs' },
            logRecords: list.map((e) => ({
              timeUnixNano: (BigInt(e.time) * 1_000_000n).toString(),
              observedTimeUnixNano: (BigInt(e.time) * 1_000_000n).toString(),
              severityNumber: SEVERITY[e.level],
              severityText: e.level.toUpperCase(),
              body: { stringValue: e.message },
              attributes: [
                str('berth.log.type', e.type),
                { key: 'berth.log.id', value: { intValue: String(e.id) } },
                ...(e.stream ? [str('log.iostream', e.stream)] : []),
              ],
            })),
          },
        ],
      };
    }),
  };
}

export interface OtlpStats {
  sent: number;
  dropped: number;
  failedRequests: number;
}

/**
 * Sends every stored line to an OTLP/HTTP collector in batches. It never blocks ingestion: lines wait
 * in a bounded queue, a failed request is retried with backoff, and when the queue is full the oldest
 * lines are dropped and counted.
 */
export class OtlpExporter {
  private queue: LogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private backoffMs = 0;
  private closed = false;
  readonly stats: OtlpStats = { sent: 0, dropped: 0, failedRequests: 0 };
  private readonly url: string;

  constructor(
    private readonly config: LogsOtlpConfig,
    private readonly log: Logger,
  ) {
    this.url = `${config.endpoint.replace(/\/+$/, '')}/v1/logs`;
  }

  enqueue(entry: LogEntry): void {
    if (this.closed) return;
    if (this.queue.length >= this.config.maxQueue) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push(entry);
    if (this.queue.length >= this.config.batchSize && this.backoffMs === 0) this.kick(0);
    else this.kick(this.backoffMs || this.config.interval);
  }

  private kick(delay: number): void {
    if (this.timer || this.sending) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sending = this.sendOne().finally(() => {
        this.sending = undefined;
        if (this.queue.length > 0 && !this.closed)
          this.kick(
            this.backoffMs || (this.queue.length >= this.config.batchSize ? 0 : this.config.interval),
          );
      });
    }, delay);
    this.timer.unref();
  }

  private async sendOne(): Promise<void> {
    const batch = this.queue.splice(0, this.config.batchSize);
    if (batch.length === 0) return;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { ...this.config.headers, 'content-type': 'application/json' },
        body: JSON.stringify(toOtlpRequest(batch)),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        this.stats.sent += batch.length;
        this.backoffMs = 0;
        return;
      }
      // 4xx other than 429 will not get better by retrying: the batch is dropped and counted.
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        this.stats.dropped += batch.length;
        this.stats.failedRequests++;
        this.log.warn(
          { status: response.status, endpoint: this.url, lines: batch.length },
          'OTLP collector refused a batch of logs; dropped it',
        );
        return;
      }
      throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      this.stats.failedRequests++;
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 500), 30_000);
      const room = this.config.maxQueue - this.queue.length;
      const kept = batch.slice(Math.max(0, batch.length - room));
      this.stats.dropped += batch.length - kept.length;
      this.queue.unshift(...kept);
      this.log.warn(
        { err: (error as Error).message, endpoint: this.url, retryInMs: this.backoffMs },
        'OTLP export failed; will retry',
      );
    }
  }

  /** Sends what is queued (one attempt per batch), then stops. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
    this.closed = true;
    this.backoffMs = 0;
    while (this.queue.length > 0) {
      const before = this.queue.length;
      await this.sendOne();
      if (this.queue.length >= before) {
        this.stats.dropped += this.queue.length;
        this.queue = [];
      }
    }
  }
}
