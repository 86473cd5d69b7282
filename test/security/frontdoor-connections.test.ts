import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { exchangeRaw, parseResponses } from '../frontdoor/support/raw-http.js';
import { until } from '../sites/helpers.js';
import { closeWaitCount, openConnectionsTo, recorderHarness } from './support.js';

// Issue 10, item 3: connections are freed — closed clients, abandoned upgrades, shutdown with open
// upgrades, stalled request bodies.

/** A kept-alive GET, its answer read, then the client's FIN; resolves when the server closes its side too (or not, after `waitMs`). */
function oneShot(
  port: number,
  host: string,
  waitMs: number,
): Promise<{ socket: Socket; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let data = '';
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('data', (c: string) => {
      data += c;
      // One response with a Content-Length: once it is in, the client is done and closes its side.
      const end = data.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(data)?.[1];
      if (end !== -1 && length && data.length >= end + 4 + Number(length) && !timer) {
        socket.end();
        timer = setTimeout(() => resolve({ socket, closedByServer: false }), waitMs);
      }
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ socket, closedByServer: true });
    });
    socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
}

for (const fastPath of [true, false]) {
  test(`200 one-shot clients that close their side leave no CLOSE-WAIT socket (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    const h = await recorderHarness(t, { fastPath });
    const port = h.frontdoor.port;
    const clients: { socket: Socket; closedByServer: boolean }[] = [];
    // In batches of 50 (as 200 curls in a row would come), each waiting for the server's FIN.
    for (let batch = 0; batch < 4; batch++)
      clients.push(...(await Promise.all(Array.from({ length: 50 }, () => oneShot(port, h.host, 5_000)))));
    t.after(() => clients.forEach((c) => c.socket.destroy()));
    const halfOpen = closeWaitCount(port);
    assert.equal(clients.filter((c) => !c.closedByServer).length, 0, `${halfOpen} sockets in CLOSE-WAIT`);
    assert.equal(halfOpen, 0);
  });
}

/** Opens an upgrade to `path` and resolves with the socket once the head of the answer (or nothing, for /ws-silent) is sent. */
function openUpgrade(port: number, host: string, path: string): Socket {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`);
  return socket;
}

function read(socket: Socket, until: (text: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const onData = (c: Buffer) => {
      data += c.toString('latin1');
      if (until(data)) {
        socket.removeListener('data', onData);
        resolve(data);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(data));
  });
}

test('upgrades: the response-head timeout applies; a client that gives up before or after the 101 frees both sockets and the lease', async (t) => {
  const h = await recorderHarness(t, { frontdoor: { responseTimeout: '500ms' } });
  const port = h.frontdoor.port;
  const instance = h.manager.sites.get('rec')!.slots.get('production')!.instances[0]!;
  const upstreamOpen = () => openConnectionsTo(instance.port);
  const before = upstreamOpen();

  // An instance that never answers the upgrade: 504 after responseTimeout, as for a request.
  const silent = openUpgrade(port, h.host, '/ws-silent');
  const answer = await read(silent, (text) => text.includes('\r\n\r\n') && text.includes('}'));
  assert.match(answer, /^HTTP\/1\.1 504 /);
  assert.match(answer, /did not answer the upgrade within 0\.5 s/);
  await until(
    () => h.frontdoor.inFlight(instance) === 0 && upstreamOpen() === before,
    5_000,
    'the upgrade to be let go',
  );

  // A client that gives up while the instance has not answered yet.
  const h2 = await recorderHarness(t);
  const instance2 = h2.manager.sites.get('rec')!.slots.get('production')!.instances[0]!;
  const before2 = openConnectionsTo(instance2.port);
  const waiting = openUpgrade(h2.frontdoor.port, h2.host, '/ws-silent');
  await until(() => h2.arrivals().some((a) => a.upgrade), 5_000, 'the upgrade to reach the instance');
  assert.equal(h2.frontdoor.inFlight(instance2), 1, 'the upgrade holds a lease while it waits');
  waiting.destroy();
  await until(
    () => h2.frontdoor.inFlight(instance2) === 0 && openConnectionsTo(instance2.port) === before2,
    5_000,
    'the abandoned upgrade to free the lease and the socket to the instance',
  );

  // After the 101, against an instance that never closes its side: the client's FIN ends both.
  const tunnel = openUpgrade(h2.frontdoor.port, h2.host, '/ws-linger');
  await read(tunnel, (text) => text.includes('\r\n\r\n'));
  tunnel.write('ping');
  assert.equal(await read(tunnel, (text) => text.includes('ping')), 'ping');
  assert.equal(h2.frontdoor.inFlight(instance2), 1);
  const closed = new Promise<void>((resolve) => tunnel.once('end', () => resolve()));
  tunnel.end();
  await closed;
  await until(
    () =>
      h2.frontdoor.inFlight(instance2) === 0 &&
      openConnectionsTo(instance2.port) === before2 &&
      closeWaitCount(h2.frontdoor.port) === 0,
    5_000,
    'the tunnel to close on both sides',
  );
  tunnel.destroy();
});

test('close() (SIGTERM) with open upgrades finishes within the grace period', async (t) => {
  const h = await recorderHarness(t);
  const tunnels = Array.from({ length: 3 }, () => openUpgrade(h.frontdoor.port, h.host, '/ws-linger'));
  t.after(() => tunnels.forEach((s) => s.destroy()));
  await Promise.all(tunnels.map((s) => read(s, (text) => text.includes('\r\n\r\n'))));
  const ended = tunnels.map((s) => new Promise<void>((resolve) => s.once('end', () => resolve())));
  const started = Date.now();
  const outcome = await Promise.race([
    h.frontdoor.close().then(() => 'closed'),
    new Promise((resolve) => setTimeout(() => resolve('still open after 12 s'), 12_000).unref()),
  ]);
  assert.equal(outcome, 'closed');
  assert.ok(Date.now() - started < 10_000, `close took ${Date.now() - started} ms`);
  await Promise.all(ended);
});

for (const fastPath of [true, false]) {
  test(`a request body that stalls gets 408 after requestBodyTimeout; a slow steady one does not (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    const h = await recorderHarness(t, { fastPath, frontdoor: { requestBodyTimeout: '400ms' } });
    const port = h.frontdoor.port;
    const instance = h.manager.sites.get('rec')!.slots.get('production')!.instances[0]!;
    const stalled = parseResponses(
      await exchangeRaw(
        port,
        `POST /sink HTTP/1.1\r\nHost: ${h.host}\r\nContent-Length: 100\r\n\r\nonly ten b`,
        5_000,
      ),
    );
    assert.equal(stalled[0]?.status, 408);
    assert.match(
      JSON.parse(stalled[0]!.body).detail,
      /sent nothing for 0\.4 s \(frontdoor\.requestBodyTimeout\)/,
    );
    assert.equal(stalled[0]!.headers.connection, 'close');
    await until(() => h.frontdoor.inFlight(instance) === 0, 5_000, 'the lease to be released');

    // 10 bytes every 100 ms for a second: slower than the whole timeout, never idle for it.
    const steady = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.write(
        `POST /sink HTTP/1.1\r\nHost: ${h.host}\r\nConnection: close\r\nContent-Length: 100\r\n\r\n`,
      );
      let sent = 0;
      const timer = setInterval(() => {
        socket.write('0123456789');
        if (++sent === 10) clearInterval(timer);
      }, 100);
    });
    const [reply] = parseResponses(steady);
    assert.equal(reply?.status, 200);
    assert.equal(JSON.parse(reply!.body).received, 100);
  });
}
