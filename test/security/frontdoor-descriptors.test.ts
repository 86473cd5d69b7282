import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

// Issue 10, item 3: a connection flood on the front door cannot starve the registry and the console
// of descriptors. `berth up` runs with RLIMIT_NOFILE at 256 (soft and hard, so Node cannot raise it).

const LIMIT = 256;
const FLOOD = 600;

/** Opens `count` connections and resolves once each has connected or failed; the open ones stay open. */
async function flood(port: number, count: number): Promise<{ sockets: Socket[]; refused: number }> {
  const sockets: Socket[] = [];
  let refused = 0;
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((done) => {
          const socket = connect(port, '127.0.0.1');
          sockets.push(socket);
          socket.once('connect', () => done());
          socket.once('error', () => {
            refused++;
            done();
          });
        }),
    ),
  );
  return { sockets, refused };
}

/** One GET on a new connection; resolves with the status, or the error's code. */
function get(url: string, host?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const { hostname, port, pathname } = new URL(url);
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (data += c));
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0) || 'closed'));
    socket.write(
      // X-Requested-By: what the console's API asks of a request without Sec-Fetch-Site (others ignore it).
      `GET ${pathname} HTTP/1.1\r\nHost: ${host ?? `${hostname}:${port}`}\r\nX-Requested-By: berth\r\nConnection: close\r\n\r\n`,
    );
  });
}

test(`with ${LIMIT} descriptors, a flood of ${FLOOD} connections on the front door leaves the registry and console answering`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fd-'));
  const config = join(dir, 'berth.yaml');
  writeFileSync(
    config,
    [
      `dataDir: ${dir}/data`,
      'registry: { listen: 127.0.0.1:0 }',
      'frontdoor: { listen: 127.0.0.1:0 }',
      'console: { listen: 127.0.0.1:0 }',
      'sites:',
      `  - { name: api, root: ${resolve('examples/sites/api')}, command: node server.mjs, instances: 1 }`,
    ].join('\n'),
  );
  const child = spawn(
    'sh',
    ['-c', `ulimit -n ${LIMIT} && exec "$0" up --config "$1"`, resolve('bin/berth'), config],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BERTH_LOG__LEVEL: 'warn' },
    },
  );
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const urls = new Map<string, string>();
  await new Promise<void>((ready, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^(\S+)\s+(http:\/\/127\.0\.0\.1:\d+\/?)$/.exec(line);
      if (match && !urls.has(match[1]!)) urls.set(match[1]!, match[2]!);
      if (line === 'ready') ready();
    });
    void exited.then((code) => fail(new Error(`berth up exited with ${code}: ${stderr}`)));
  });
  const registry = urls.get('registry')!;
  const frontdoor = urls.get('frontdoor')!;
  const consoleUrl = urls.get('console')!;
  assert.equal(await get(`${registry}/v2/`), 200);
  assert.equal(await get(frontdoor, 'api.localhost'), 200);

  const { sockets } = await flood(Number(new URL(frontdoor).port), FLOOD);
  t.after(() => sockets.forEach((s) => s.destroy()));
  // While the flood holds its connections open, the other listeners still accept and answer.
  const fds = readdirSync(`/proc/${child.pid}/fd`).length;
  assert.equal(await get(`${registry}/v2/`), 200, `registry during the flood (${fds} descriptors open)`);
  assert.equal(await get(`${consoleUrl}api/sites`), 200, 'console during the flood');
  assert.ok(fds < LIMIT, `${fds} descriptors open`);

  // The site's own port is the front door's too: a flood there falls under the same cap.
  const direct = await flood(Number(new URL(urls.get('site:api')!).port), FLOOD);
  t.after(() => direct.sockets.forEach((s) => s.destroy()));
  const both = readdirSync(`/proc/${child.pid}/fd`).length;
  assert.equal(await get(`${registry}/v2/`), 200, `registry during both floods (${both} descriptors open)`);
  assert.equal(await get(`${consoleUrl}api/sites`), 200, 'console during both floods');
  assert.ok(both < LIMIT, `${both} descriptors open`);
  for (const socket of direct.sockets) socket.destroy();

  // The flood goes away: the front door serves again, and berth up is still the same process.
  for (const socket of sockets) socket.destroy();
  let answered: number | string = 0;
  for (let i = 0; i < 100 && answered !== 200; i++) answered = await get(frontdoor, 'api.localhost');
  assert.equal(answered, 200, 'the front door serves once the flood is gone');
  answered = 0;
  for (let i = 0; i < 100 && answered !== 200; i++) answered = await get(urls.get('site:api')!);
  assert.equal(answered, 200, "and so does the site's own port");
  assert.equal(child.exitCode, null, `berth up is running: ${stderr}`);
});
