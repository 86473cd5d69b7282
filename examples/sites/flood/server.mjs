// Fault app: serves HTTP on PORT and prints LINES_PER_SECOND lines a second (100,000 by default),
// each numbered, so a test can check that none are lost or reordered.
import { createServer } from 'node:http';
const rate = Number(process.env.LINES_PER_SECOND ?? 100_000);
const seconds = Number(process.env.FLOOD_SECONDS ?? 3);
let n = 0;
let stopped = false;
createServer((_req, res) => res.end(JSON.stringify({ printed: n }))).listen(
  Number(process.env.PORT),
  '127.0.0.1',
  () => {
    const started = Date.now();
    const tick = () => {
      const due = Math.min(rate * seconds, Math.floor(((Date.now() - started) / 1000) * rate));
      let batch = '';
      while (n < due) batch += `flood line ${++n} ${'x'.repeat(40)}\n`;
      if (batch) process.stdout.write(batch);
      if (n >= rate * seconds) {
        if (!stopped) console.error(`flood done: ${n} lines`);
        stopped = true;
        return;
      }
      setTimeout(tick, 10);
    };
    tick();
  },
);
