import type { ServerResponse } from 'node:http';
import { SSE_HEADERS, sseComment, sseEvent } from '../lib/sse.js';

/**
 * One Server-Sent Events response. Writes go straight to the socket (no Nagle, no proxy buffering);
 * a slow reader gets a buffer of at most `maxBuffered` bytes (console.streamBuffer) and then a
 * `dropped` event instead of growing memory.
 */
export class SseStream {
  private buffered: string[] = [];
  private bufferedBytes = 0;
  private blocked = false;
  private dropped = 0;
  private closed = false;
  private readonly ping: NodeJS.Timeout;
  private readonly onCloseCallbacks: Array<() => void> = [];

  constructor(
    private readonly res: ServerResponse,
    pingMs: number,
    private readonly maxBuffered: number,
  ) {
    res.socket?.setNoDelay(true);
    res.writeHead(200, SSE_HEADERS);
    res.write(sseComment('connected'));
    res.on('drain', () => this.drain());
    res.on('close', () => this.close());
    this.ping = setInterval(() => this.raw(sseComment('ping')), pingMs);
    this.ping.unref();
  }

  /** Bytes held for a reader that is not keeping up: what Node's socket buffer has, plus what waits here. */
  get heldBytes(): number {
    return this.res.writableLength + this.bufferedBytes;
  }

  onClose(callback: () => void): void {
    if (this.closed) callback();
    else this.onCloseCallbacks.push(callback);
  }

  send(event: string, data: unknown, id?: number | string): void {
    this.raw(sseEvent({ id, event, data: JSON.stringify(data) }));
  }

  private raw(chunk: string): void {
    if (this.closed) return;
    if (this.blocked) {
      // Counted in UTF-16 units: at most 3 bytes each, and what V8 holds is 1–2 bytes each.
      // What Node's stream still holds counts too: the held chunks go to it in one write on drain.
      if (this.heldBytes + chunk.length <= this.maxBuffered) {
        this.buffered.push(chunk);
        this.bufferedBytes += chunk.length;
      } else this.dropped++;
      return;
    }
    if (!this.res.write(chunk)) this.blocked = true;
  }

  private drain(): void {
    this.blocked = false;
    const chunks = this.buffered;
    this.buffered = [];
    this.bufferedBytes = 0;
    if (chunks.length > 0) this.raw(chunks.join(''));
    if (this.dropped > 0 && !this.blocked) {
      const count = this.dropped;
      this.dropped = 0;
      this.send('dropped', { count, reason: 'the reader was slower than the log stream' });
    }
  }

  end(): void {
    if (!this.closed) this.res.end();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ping);
    for (const callback of this.onCloseCallbacks.splice(0)) callback();
  }
}
