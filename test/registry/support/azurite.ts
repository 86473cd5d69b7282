import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Azurite's documented development account (public, not a secret). */
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  connectionString: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts Azurite's blob service (npm `azurite`) on a free loopback port, its data in a temp folder. */
export async function startAzurite(): Promise<Azurite> {
  const bin = new URL('../../../node_modules/.bin/azurite-blob', import.meta.url).pathname;
  const location = mkdtempSync(join(tmpdir(), 'berth-azurite-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      bin,
      [
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--location',
        location,
        '--skipApiVersionCheck',
        '--disableTelemetry',
        '--loose',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const ready = await waitForListening(child);
    if (!ready) {
      child.kill();
      if (attempt < 3) continue;
      throw new Error('Azurite did not start');
    }
    return {
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
      stop: async () => {
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
        rmSync(location, { recursive: true, force: true });
      },
    };
  }
}

function waitForListening(child: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    let output = '';
    const timer = setTimeout(() => resolve(false), 30_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      if (/successfully listen/.test(output)) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
