import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { consoleSchema } from '../../src/config/console.js';
import { logsSchema } from '../../src/config/logs.js';
import { startConsole } from '../../src/console/index.js';
import { createLogStore } from '../../src/logs/index.js';
import { percentile } from './stats.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A child process that prints `<Date.now()> line <n>` to stdout at `rate` lines/s for `seconds`. */
const WRITER = `
const rate = Number(process.argv[1]), seconds = Number(process.argv[2]);
let n = 0; const perTick = Math.max(1, Math.round(rate / 100));
const timer = setInterval(() => {
  let out = '';
  for (let i = 0; i < perTick; i++) out += Date.now() + ' line ' + (n++) + ' GET /api/orders 200\\n';
  process.stdout.write(out);
}, 10);
setTimeout(() => { clearInterval(timer); process.exit(0); }, seconds * 1000);
`;

/**
 * Latency from a process's stdout to a browser's EventSource: the child stamps each line with
 * Date.now(), the parent hands lines to the log store (as the sites part does), the console streams
 * them over SSE, and headless Chromium (same clock) records arrival minus stamp.
 */
export async function benchLive(
  rate: number,
  seconds: number,
): Promise<{ client: string; sent: number; count: number; p50: number; p99: number; max: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-live-'));
  const store = createLogStore({ dataDir: dir, config: logsSchema.parse({}) });
  const service = await startConsole({
    config: consoleSchema.parse({ listen: '127.0.0.1:0' }),
    logStore: store,
  });
  const url = service.urls[0]!.replace(/\/$/, '');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS }).catch(() => undefined);
  try {
    let record: () => Promise<number[]>;
    let client: string;
    if (browser) {
      client = 'headless Chromium EventSource';
      const page = await browser.newPage();
      await page.goto(`${url}/api/health`);
      await page.evaluate(async (streamUrl) => {
        const w = window as unknown as { latencies: number[] };
        w.latencies = [];
        const source = new EventSource(streamUrl);
        source.addEventListener('log', (event) => {
          const stamp = Number(JSON.parse((event as MessageEvent).data).message.split(' ')[0]);
          w.latencies.push(Date.now() - stamp);
        });
        await new Promise((resolve) => source.addEventListener('open', resolve));
      }, `${url}/api/logs/stream?site=bench`);
      record = () => page.evaluate(() => (window as unknown as { latencies: number[] }).latencies);
    } else {
      client = 'Node fetch SSE client (chromium not installed)';
      const latencies: number[] = [];
      const response = await fetch(`${url}/api/logs/stream?site=bench`);
      void (async () => {
        let buffer = '';
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += Buffer.from(chunk).toString();
          for (let i; (i = buffer.indexOf('\n\n')) >= 0;) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (data) latencies.push(Date.now() - Number(JSON.parse(data).message.split(' ')[0]));
          }
        }
      })().catch(() => undefined);
      record = async () => latencies;
    }
    const child = spawn(process.execPath, ['-e', WRITER, String(rate), String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    let sent = 0;
    lines.on('line', (message) => {
      sent++;
      store.write({
        site: 'bench',
        slot: 'production',
        instance: 'w1',
        type: 'application',
        stream: 'stdout',
        message,
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const end = Date.now() + 5000;
    let latencies = await record();
    while (latencies.length < sent && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      latencies = await record();
    }
    return {
      client,
      sent,
      count: latencies.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
    };
  } finally {
    await browser?.close();
    await service.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
