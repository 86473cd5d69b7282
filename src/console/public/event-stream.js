/* global Event, EventTarget, MessageEvent */
// Server-Sent Events over fetch. EventSource cannot send headers, and the console's API asks for
// X-Requested-By from any request whose browser does not vouch for it with Sec-Fetch-Site (browsers
// send that only to HTTPS and loopback origins). Same events as EventSource: 'open', 'error', and one
// per `event:` name with `data` and `lastEventId`; it reconnects with Last-Event-ID as EventSource does.

const RETRY_MS = 2000;

export class HeaderEventSource extends EventTarget {
  constructor(url, headers = {}) {
    super();
    this.url = url;
    this.headers = headers;
    this.lastEventId = '';
    this.closed = false;
    this.connect();
  }

  close() {
    this.closed = true;
    this.controller?.abort();
    clearTimeout(this.timer);
  }

  async connect() {
    this.controller = new AbortController();
    let retry = RETRY_MS;
    try {
      const headers = { accept: 'text/event-stream', ...this.headers };
      if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
      const response = await fetch(this.url, { headers, signal: this.controller.signal });
      // As EventSource: a refusal other than "busy" is final; the page shows its history instead.
      if (!response.ok) {
        const busy = response.status === 503;
        retry = busy ? Number(response.headers.get('retry-after') ?? 5) * 1000 : -1;
        throw new Error(`${response.status}`);
      }
      this.dispatchEvent(new Event('open'));
      await this.read(response.body.getReader());
    } catch {
      // Aborted, refused, or the connection dropped: said with 'error' below.
    }
    if (this.closed) return;
    this.dispatchEvent(new Event('error'));
    if (retry >= 0) this.timer = setTimeout(() => this.connect(), retry);
  }

  async read(reader) {
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.dispatchBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  dispatchBlock(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') this.lastEventId = value;
    }
    if (data.length === 0) return;
    this.dispatchEvent(new MessageEvent(type, { data: data.join('\n'), lastEventId: this.lastEventId }));
  }
}
