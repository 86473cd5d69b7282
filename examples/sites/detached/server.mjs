// A test fixture: an app that starts processes outside its own process group, as daemons and job
// runners do, with Node's spawn({ detached: true }) (setsid() in the child). Berth must stop them with
// the instance (src/sites/escaped.ts). Listens on PORT and answers every request with its pids.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

// A distinct number per test, so the test can find the one process below that clears its environment.
const seconds = String(Number(process.env.SLEEP_SECONDS) || 1000);
const started = [
  // Ignores SIGTERM: only the SIGKILL after it stops it.
  spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1 << 30);"], {
    detached: true,
    stdio: 'ignore',
  }),
  // Leads a group of its own with two children; one runs with an empty environment (no marker), so it
  // is reached only through its group.
  spawn('/bin/sh', ['-c', `sleep ${seconds} & env -i sleep ${seconds} & wait`], {
    detached: true,
    stdio: 'ignore',
  }),
];
for (const child of started) child.unref();

createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ pid: process.pid, detached: started.map((c) => c.pid) }));
}).listen(Number(process.env.PORT), '127.0.0.1');
