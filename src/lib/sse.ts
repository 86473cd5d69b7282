/**
 * Server-Sent Events, written one way for every part that streams them (the console's log stream,
 * MCP's per-request and listen streams): the same headers, the same event framing.
 */

/** Response headers of an event stream: no caching, no transformation, no buffering by a reverse proxy. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx and the like must pass events on as they come.
  'x-accel-buffering': 'no',
};

export interface SseEvent {
  id?: string | number;
  event?: string;
  /** The event's data; a line break in it becomes another `data:` line, as the format requires. */
  data: string;
}

/** One event, framed: `id:`, `event:`, one `data:` line per line of data, then a blank line. */
export function sseEvent({ id, event, data }: SseEvent): string {
  const head = `${id !== undefined ? `id: ${id}\n` : ''}${event !== undefined ? `event: ${event}\n` : ''}`;
  return `${head}data: ${data.includes('\n') || data.includes('\r') ? data.split(/\r\n|\r|\n/).join('\ndata: ') : data}\n\n`;
}

/** A comment line: clients ignore it; it keeps idle connections from being cut. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}
