import type { Readable } from 'node:stream';

/** Longest line passed on; longer ones are cut so one runaway line cannot hold unbounded memory. */
export const MAX_LINE_CHARS = 16 * 1024;

/**
 * Splits a child's output into lines and hands each to `onLine`. After every chunk the stream is
 * paused until the event loop has turned once: a process printing 100,000 lines a second then
 * blocks on its full pipe instead of growing our memory or starving the proxy of CPU.
 */
export function pipeLines(stream: Readable, onLine: (line: string) => void, maxChars = MAX_LINE_CHARS): void {
  let partial = '';
  const emit = (line: string) => {
    const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
    onLine(
      clean.length > maxChars ? `${clean.slice(0, maxChars)}… [line cut at ${maxChars} characters]` : clean,
    );
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      emit(partial + chunk.slice(start, end));
      partial = '';
      start = end + 1;
    }
    partial += chunk.slice(start);
    if (partial.length > maxChars) {
      emit(partial);
      partial = '';
    }
    stream.pause();
    setImmediate(() => stream.resume());
  });
  stream.on('end', () => {
    if (partial.length > 0) emit(partial);
    partial = '';
  });
  stream.on('error', () => {
    /* the process is gone; its exit is reported elsewhere */
  });
}
