import { createServer } from 'node:net';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { processGroup } from './procfs.js';

/** A port the OS says is free on loopback now; the instance binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * TCP ports the processes of group `pgid` listen on, read from /proc/<pid>/net/tcp{,6} (every socket
 * of the network namespace) matched against the socket inodes in /proc/<pid>/fd (the ones it owns).
 * Empty where /proc is not available.
 */
export async function listeningPorts(pgid: number): Promise<number[]> {
  const ports = new Set<number>();
  for (const pid of await processGroup(pgid)) {
    const inodes = new Set<string>();
    try {
      for (const fd of await readdir(`/proc/${pid}/fd`)) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match) inodes.add(match[1]!);
      }
    } catch {
      continue;
    }
    if (inodes.size === 0) continue;
    for (const table of ['tcp', 'tcp6']) {
      const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        // cols: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        if (cols[3] !== '0A' || !inodes.has(cols[9] ?? '')) continue;
        const port = parseInt(cols[1]?.split(':')[1] ?? '', 16);
        if (Number.isFinite(port)) ports.add(port);
      }
    }
  }
  return [...ports].sort((a, b) => a - b);
}
