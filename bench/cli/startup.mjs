// `npm run bench:cli`: the package's start-up cost, compiled (dist/) against the sources through tsx,
// side by side in one run: `berth --help` wall time, and `berth registry serve` time to ready
// (its URL printed) and resident memory once idle. Usage: node bench/cli/startup.mjs [--runs N]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const root = new URL('../../', import.meta.url).pathname;
const modes = {
  compiled: [join(root, 'dist/cli/main.js')],
  tsx: ['--import', 'tsx', join(root, 'src/cli/main.ts')],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function helpMs(args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...args, '--help'], { cwd: root, stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`--help exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(line[1]) / 1024;
}

/** Starts `registry serve`, returns ms until it printed its URL and RSS after 1 s idle. */
function serveOnce(args) {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-bench-cli-'));
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(
      process.execPath,
      [...args, 'registry', 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BERTH_LOG__LEVEL: 'info' } },
    );
    let out = '';
    let readyMs;
    const onData = (chunk) => {
      out += chunk;
      if (readyMs === undefined && /registry listening|http:\/\/127\.0\.0\.1:\d+/.test(out)) {
        readyMs = Number(process.hrtime.bigint() - start) / 1e6;
        setTimeout(() => {
          const rss = rssMiB(child.pid);
          child.kill('SIGTERM');
          child.once('exit', () => {
            rmSync(dataDir, { recursive: true, force: true });
            resolve({ readyMs, rss });
          });
        }, 1000);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => readyMs === undefined && reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

const rows = [];
for (const [name, args] of Object.entries(modes)) {
  const help = [];
  const ready = [];
  const rss = [];
  for (let i = 0; i < runs; i++) {
    help.push(helpMs(args));
    const r = await serveOnce(args);
    ready.push(r.readyMs);
    rss.push(r.rss);
  }
  rows.push({ name, help: median(help), ready: median(ready), rss: median(rss) });
}
console.log(`medians of ${runs} runs`);
console.log('mode       --help ms   serve ready ms   idle RSS MiB');
for (const r of rows)
  console.log(
    `${r.name.padEnd(10)} ${r.help.toFixed(0).padStart(9)} ${r.ready.toFixed(0).padStart(16)} ${r.rss.toFixed(1).padStart(14)}`,
  );
const [c, t] = rows;
console.log(
  `compiled / tsx: --help ${(c.help / t.help).toFixed(2)}x, ready ${(c.ready / t.ready).toFixed(2)}x, RSS ${(c.rss / t.rss).toFixed(2)}x`,
);
